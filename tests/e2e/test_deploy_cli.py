"""`phistack preview` and `phistack up` driven through a subprocess against a Pulumi CLI stand-in.

The real Pulumi CLI cannot be installed here. ``tests/support/pulumi_standin.py`` stands in for it: put
first on PATH as ``pulumi``, it answers what the Automation API runs by replaying preview fixtures
(``tests/fixtures/standin/<stack>/preview.json``) and logs every invocation, so these tests can prove
that ``pulumi up`` is never run when the gate denies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from phistack.engine import load_policy_set
from phistack.plan import plan_digest
from phistack.plan.pulumi_import import plan_from_preview
from tests.support.paths import FIXTURES, MINI_PROJECT, REPO, STARTER_POLICIES
from tests.support.pulumi_standin import install_standin, read_log

STANDIN_FIXTURES = FIXTURES / "standin"
NOW = "2026-11-27T12:00:00Z"


@dataclass
class Deploy:
    """A copy of the mini project, the stand-in on PATH and its invocation log."""

    project: Path
    log: Path
    env: dict[str, str]

    def run(self, command: str, stack: str, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
        args = [command, stack, "--project", str(self.project), "--policies", str(STARTER_POLICIES), "--now", NOW]
        return subprocess.run(
            [sys.executable, "-m", "phistack", *args, *extra],
            cwd=REPO,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def calls(self) -> list[list[str]]:
        """Logged argv, with the global --non-interactive flag the Automation API adds taken off."""
        return [[arg for arg in argv if arg != "--non-interactive"] for argv in read_log(self.log)]

    def subcommands(self) -> list[str]:
        return [_subcommand(argv) for argv in self.calls()]

    def records(self, stack: str) -> list[dict[str, Any]]:
        folder = self.project / ".state" / "decisions" / stack
        return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def _subcommand(argv: list[str]) -> str:
    words = [arg for arg in argv if not arg.startswith("-")]
    return " ".join(words[:2]) if words and words[0] == "stack" else (words[0] if words else "")


def _base_env(path: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULUMI_")}
    return {**env, "PATH": path, "PYTHONPATH": str(REPO)}


@pytest.fixture
def deploy(tmp_path: Path) -> Deploy:
    project = tmp_path / "mini"
    shutil.copytree(MINI_PROJECT, project)
    bin_dir = tmp_path / "bin"
    install_standin(bin_dir)
    log = tmp_path / "pulumi-calls.jsonl"
    env = {
        **_base_env(f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}"),
        "PULUMI_STANDIN_FIXTURES": str(STANDIN_FIXTURES),
        "PULUMI_STANDIN_LOG": str(log),
        "PULUMI_CONFIG_PASSPHRASE": "test-only-passphrase",
    }
    return Deploy(project=project, log=log, env=env)


@pytest.mark.parametrize("command", ["preview", "up"])
def test_without_a_pulumi_cli_one_line_says_how_to_install_it(tmp_path: Path, command: str) -> None:
    project = tmp_path / "mini"
    shutil.copytree(MINI_PROJECT, project)
    empty = tmp_path / "no-pulumi-here"
    empty.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "phistack", command, "dev", "--project", str(project)],
        cwd=REPO,
        env=_base_env(str(empty)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("phistack: error: the Pulumi CLI (`pulumi`) is not on PATH")
    assert "curl -fsSL https://get.pulumi.com | sh" in lines[0]
    assert proc.stdout == ""
    assert not (project / ".state").exists()


def test_allowed_preview_is_deployed_and_its_decision_recorded(deploy: Deploy) -> None:
    proc = deploy.run("up", "dev")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1].startswith("ALLOWED:")
    assert "FIX-ADV-001" in proc.stdout  # advisory findings are printed, never block
    assert "Updating (dev):" in proc.stderr  # pulumi's own output is streamed to stderr

    # Exactly what the Automation API runs, in order: the gate sits between preview and up.
    assert deploy.subcommands() == [
        "version",
        "stack select",
        "stack init",
        "preview",
        "up",
        "stack output",
        "stack output",
        "stack history",
    ]
    preview, up = deploy.calls()[3], deploy.calls()[4]
    assert "--json" in preview and "--event-log" in preview and preview[-2:] == ["--stack", "dev"]
    assert up[:3] == ["up", "--yes", "--skip-preview"] and up[-2:] == ["--stack", "dev"]
    assert all(
        entry["backend"] == (deploy.project / ".state").resolve().as_uri()
        for entry in map(json.loads, deploy.log.read_text().splitlines()[1:])
    )

    # The decision record sits beside the deployment's state and traces it to plan and policies.
    state = deploy.project / ".state"
    assert (state / ".pulumi" / "stacks" / "mini" / "dev.json").is_file()
    [record] = deploy.records("dev")
    assert record["schema_version"] == "phistack.deploy-record/v1"
    assert record["decision"]["decision"] == "allowed"
    assert record["plan_digest"] == plan_digest(plan_from_preview(STANDIN_FIXTURES / "dev" / "preview.json"))
    assert record["plan_digest"] == record["decision"]["plan_digest"]
    assert record["policy_digest"] == load_policy_set(STARTER_POLICIES).digest
    assert record["decision"]["evaluated_at"] == NOW
    assert record["deployment"]["result"] == "succeeded"
    assert record["deployment"]["resource_changes"] == {"create": 8}
    assert record["deployment"]["pulumi_version"] == "3.272.0"
    assert "decision record" in proc.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("stack", "message"),
    [
        ("runc", "box-app: runtime class runc is not confidential"),
        ("unknown", "box-app: runtime class is unknown at plan time"),
    ],
)
def test_denied_preview_is_never_deployed(deploy: Deploy, stack: str, message: str) -> None:
    proc = deploy.run("up", stack)
    assert proc.returncode == 1, proc.stderr
    # The rule id has a column of its own; the text table wraps long messages.
    assert any(line.startswith("FIX-CC-001 ") for line in proc.stdout.splitlines()), proc.stdout
    assert message in " ".join(proc.stdout.split())
    assert proc.stdout.rstrip().splitlines()[-1].startswith("DENIED: 1 blocking")
    assert f"refusing to deploy {stack}" in proc.stderr and "`pulumi up` was not run" in proc.stderr
    assert "preview" in deploy.subcommands()
    assert not any("up" in argv for argv in deploy.calls()), deploy.calls()
    assert deploy.records(stack) == []
    latest = json.loads((deploy.project / ".state" / ".pulumi" / "stacks" / "mini" / f"{stack}.json").read_text())
    assert latest["checkpoint"]["latest"] is None  # nothing was deployed


@pytest.mark.parametrize(("stack", "code", "verdict"), [("dev", 0, "ALLOWED"), ("runc", 1, "DENIED")])
def test_preview_prints_the_decision_and_deploys_nothing(deploy: Deploy, stack: str, code: int, verdict: str) -> None:
    proc = deploy.run("preview", stack)
    assert proc.returncode == code, proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1].startswith(f"{verdict}:")
    assert f"{stack}: {verdict}" in proc.stderr
    assert "up" not in deploy.subcommands()
    assert deploy.records(stack) == []


def test_preview_report_formats(deploy: Deploy, tmp_path: Path) -> None:
    out = tmp_path / "decision.json"
    proc = deploy.run("preview", "runc", "--format", "json", "-o", str(out))
    assert proc.returncode == 1 and proc.stdout == ""
    body = json.loads(out.read_text())
    assert body["decision"] == "denied"
    assert [f["id"] for f in body["findings"]] == ["FIX-CC-001", "FIX-ADV-001"]


def test_a_second_up_selects_the_stack_and_keeps_both_records(deploy: Deploy) -> None:
    assert deploy.run("up", "dev").returncode == 0
    second = deploy.run("up", "dev")
    assert second.returncode == 0, second.stderr
    assert deploy.subcommands().count("stack init") == 1
    records = deploy.records("dev")
    assert len(records) == 2
    assert [r["deployment"]["update_version"] for r in records] == [1, 2]


def test_backend_option_moves_state_but_records_stay_in_the_project(deploy: Deploy, tmp_path: Path) -> None:
    backend = tmp_path / "elsewhere"
    proc = deploy.run("up", "dev", "--backend", backend.as_uri())
    assert proc.returncode == 0, proc.stderr
    assert (backend / ".pulumi" / "stacks" / "mini" / "dev.json").is_file()
    assert not (deploy.project / ".state" / ".pulumi").exists()
    [record] = deploy.records("dev")
    assert record["deployment"]["backend"] == backend.as_uri()


def test_a_failed_update_is_recorded_and_exits_2(deploy: Deploy) -> None:
    proc = deploy.run("up", "dev", PULUMI_STANDIN_FAIL="up")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("phistack: error: pulumi up of stack 'dev' failed: error: update failed")
    [record] = deploy.records("dev")
    assert record["decision"]["decision"] == "allowed"
    assert record["deployment"]["result"] == "failed"
    assert "update failed" in record["deployment"]["error"]


def test_missing_passphrase_is_one_line_before_any_pulumi_call(deploy: Deploy) -> None:
    env = {key: value for key, value in deploy.env.items() if key != "PULUMI_CONFIG_PASSPHRASE"}
    deploy.env = env
    proc = deploy.run("up", "dev")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "PULUMI_CONFIG_PASSPHRASE" in lines[0], proc.stderr
    assert deploy.calls() == []


def test_unknown_stack_is_exit_2_before_any_pulumi_call(deploy: Deploy) -> None:
    proc = deploy.run("up", "staging")
    assert proc.returncode == 2
    assert "unknown stack 'staging'" in proc.stderr
    assert deploy.calls() == []


def test_older_cli_with_a_file_event_log(deploy: Deploy) -> None:
    """CLIs up to 3.205 get a file of JSON lines as --event-log instead of a gRPC address."""
    proc = deploy.run("up", "dev", PULUMI_STANDIN_VERSION="3.200.0")
    assert proc.returncode == 0, proc.stderr
    preview = deploy.calls()[3]
    event_log = preview[preview.index("--event-log") + 1]
    assert not event_log.startswith("tcp://")
    assert deploy.records("dev")[0]["deployment"]["pulumi_version"] == "3.200.0"


def test_policy_packs_are_passed_to_preview_and_up(deploy: Deploy) -> None:
    pack = str(REPO / "policies" / "pack")
    proc = deploy.run("up", "dev", "--policy-pack", pack)
    assert proc.returncode == 0, proc.stderr
    calls = {_subcommand(argv): argv for argv in deploy.calls()}
    for name in ("preview", "up"):
        argv = calls[name]
        assert argv[argv.index("--policy-pack") + 1] == pack
