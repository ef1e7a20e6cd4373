"""The CI examples are runnable: each example's phistack commands run here and produce their reports."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.support.paths import REPO, SARIF_SCHEMA

EXAMPLES = REPO / "examples" / "ci"


def _run(command: str, cwd: Path, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one CI line in bash, as the runner would, with the project's venv and CI variables."""
    env = {**os.environ, **variables, "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}"}
    # The examples call .venv/bin/phistack relative to the checkout; run from a scratch directory that links it.
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A scratch working directory whose .venv points at the project's, so reports land in tmp."""
    (tmp_path / ".venv").symlink_to(REPO / ".venv")
    for name in ("Pulumi.yaml", "stacks", "modules", "policies", "examples"):  # examples: the signed manifest
        (tmp_path / name).symlink_to(REPO / name)
    return tmp_path


def _gate_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith(".venv/bin/phistack")]


def test_github_actions_workflow(checkout: Path) -> None:
    workflow: dict[str, Any] = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    job = workflow["jobs"]["gate"]
    assert workflow["permissions"]["security-events"] == "write"
    steps = job["steps"]
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert upload["if"] == "always()"
    for stack in job["strategy"]["matrix"]["stack"]:
        for step in steps:
            for line in _gate_lines(str(step.get("run", "")).splitlines()):
                proc = _run(line.replace("${{ matrix.stack }}", stack), checkout, {})
                assert proc.returncode == 0, (line, proc.stdout[-2000:], proc.stderr[-2000:])
        sarif = checkout / upload["with"]["sarif_file"].replace("${{ matrix.stack }}", stack)
        jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(json.loads(sarif.read_text()))


def test_gitlab_job_with_junit_report(checkout: Path) -> None:
    job = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())["phistack-gate"]
    for stack in job["parallel"]["matrix"][0]["STACK"]:
        for line in _gate_lines(job["script"]):
            proc = _run(line, checkout, {"STACK": stack})
            assert proc.returncode == 0, (line, proc.stderr[-2000:])
        report = checkout / job["artifacts"]["reports"]["junit"].replace("$STACK", stack)
        suite = ET.parse(report).getroot().find("testsuite")
        assert suite is not None and suite.get("failures") == "0" and int(suite.get("tests", "0")) > 0


def test_pre_commit_hooks(checkout: Path) -> None:
    config = yaml.safe_load((EXAMPLES / "pre-commit-config.yaml").read_text())
    hooks = config["repos"][0]["hooks"]
    assert {h["id"] for h in hooks} == {"phistack-policy-test", "phistack-gate"}
    for hook in hooks:
        proc = _run(shlex.join(shlex.split(hook["entry"]) + hook.get("args", [])), checkout, {})
        assert proc.returncode == 0, (hook["id"], proc.stdout[-2000:], proc.stderr[-2000:])
    published = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in published} == {"phistack-check", "phistack-policy-test"}
