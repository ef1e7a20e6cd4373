"""Every command works from any directory: policies, docs and stacks are found from the project, not the cwd."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.paths import REPO


@pytest.mark.parametrize(
    "args",
    [
        ("policy", "docs", "--check"),
        ("policy", "test", "hipaa/baa"),
        ("check", "clinical-nlp"),
        ("plan", "medical-imaging"),
        ("cost", "medical-imaging"),
    ],
    ids=" ".join,
)
def test_phistack_works_outside_the_project(tmp_path: Path, args: tuple[str, ...]) -> None:
    # tmp_path holds no Pulumi.yaml: phistack falls back to the checkout it runs from.
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert list(tmp_path.iterdir()) == []  # and writes nothing where it was started


def test_policy_docs_check_names_the_file_it_compared(tmp_path: Path) -> None:
    proc = run_cli("policy", "docs", "--check", cwd=tmp_path)
    assert proc.stderr == f"phistack: {REPO / 'docs' / 'POLICIES.md'} is up to date\n"


def test_project_is_found_from_a_subdirectory() -> None:
    proc = run_cli("policy", "docs", "--check", cwd=REPO / "docs")
    assert proc.returncode == 0 and proc.stderr == "phistack: POLICIES.md is up to date\n"  # relative to where it ran
    cost = run_cli("cost", "genomics", cwd=REPO / "stacks")
    assert cost.returncode == 0, cost.stderr


def test_runtime_works_outside_the_project(tmp_path: Path) -> None:
    proc = run_cli("model", "list", module="runtime", cwd=tmp_path)
    assert proc.returncode == 0 and "image-cnn" in proc.stdout, proc.stderr
