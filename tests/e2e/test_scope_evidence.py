"""HIPAA scope is decided once, by the policy set (``data.phistack.main.result.scope``): for every reference
stack and every fixture plan, on both engines, the evidence pack shows exactly that decision."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.paths import FIXTURES, REPO
from tests.support.scope import rego_scope

ENGINES = ["regorus", "regopy"]
NOW = "2026-06-01T12:00:00Z"
STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (REPO / "stacks").glob("Pulumi.*.yaml"))
PLANS = sorted(p for p in (FIXTURES / "plans").glob("*.json") if p.name != "expected.json")
OUT_OF_SCOPE_NOTE = "controls without findings are not applicable"


def _evidence(*args: str, engine: str) -> None:
    proc = run_cli("evidence", *args, "--engine", engine, "--now", NOW)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module", params=ENGINES)
def packs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Path]]:
    """Evidence for every stack (one --all pack) and every fixture plan (a pack each): name -> stack folder."""
    engine = request.param
    root = tmp_path_factory.mktemp(f"evidence-{engine}")
    _evidence("--all", "-o", str(root / "all"), engine=engine)
    folders = {stack: root / "all" / "stacks" / stack for stack in STACKS}
    for plan in PLANS:
        _evidence("--plan", str(plan), "-o", str(root / plan.stem), engine=engine)
        folders[plan.name] = root / plan.stem
    return engine, folders


def _shown(folder: Path) -> tuple[dict[str, Any], dict[str, Any], str]:
    evidence = json.loads((folder / "evidence.json").read_text())
    plan = json.loads((folder / "plan.json").read_text())
    return evidence, plan, (folder / "evidence.md").read_text()


@pytest.mark.parametrize("name", STACKS + [p.name for p in PLANS])
def test_the_evidence_shows_the_scope_the_policy_set_decides(packs, name: str) -> None:
    engine, folders = packs
    evidence, plan, markdown = _shown(folders[name])
    scope = rego_scope(plan, engine)
    assert scope == rego_scope(plan, "regorus" if engine == "regopy" else "regopy")  # engine parity
    assert evidence["in_hipaa_scope"] is scope["phi"]
    assert (OUT_OF_SCOPE_NOTE in markdown) is not scope["phi"]
    if not scope["phi"]:
        # Out of scope: the scoped rules checked nothing, so no control may read as met.
        assert "met" not in {c["status"] for c in evidence["controls"]}


def test_the_reference_stacks_and_fixture_plans_cover_both_sides_of_scope(packs) -> None:
    _, folders = packs
    decided = {json.loads((folder / "evidence.json").read_text())["in_hipaa_scope"] for folder in folders.values()}
    assert decided == {True, False}
