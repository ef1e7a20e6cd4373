"""The Pulumi CLI stand-in itself: its outputs keep the documented shapes that phistack reads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from phistack.plan.pulumi_import import plan_from_preview, plan_from_state
from tests.support.paths import FIXTURES, MINI_PROJECT
from tests.support.pulumi_standin import install_standin, read_log


@dataclass
class Standin:
    """The stand-in, run as `pulumi ARGS` in a copy of the mini project with a file backend."""

    launcher: Path
    project: Path
    env: dict[str, str]
    log: Path

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.launcher), *args], cwd=self.project, env=self.env, capture_output=True, text=True, timeout=60
        )


@pytest.fixture
def pulumi(tmp_path: Path) -> Standin:
    project = tmp_path / "mini"
    shutil.copytree(MINI_PROJECT, project)
    state = tmp_path / "state"
    state.mkdir()
    log = tmp_path / "calls.jsonl"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")},
        "PULUMI_BACKEND_URL": state.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "test-only",
        "PULUMI_STANDIN_FIXTURES": str(FIXTURES / "standin"),
        "PULUMI_STANDIN_LOG": str(log),
    }
    return Standin(install_standin(tmp_path / "bin"), project, env, log)


def test_unknown_stack_then_init_select_and_already_exists(pulumi: Standin) -> None:
    missing = pulumi("--non-interactive", "stack", "select", "--stack", "dev")
    assert missing.returncode == 255 and "error: no stack named 'dev' found" in missing.stderr
    assert pulumi("stack", "init", "dev").returncode == 0
    assert pulumi("stack", "select", "--stack", "dev").returncode == 0
    again = pulumi("stack", "init", "dev")
    assert again.returncode == 255 and "stack 'dev' already exists" in again.stderr


def test_preview_json_is_the_fixture_and_up_needs_yes(pulumi: Standin, tmp_path: Path) -> None:
    pulumi("stack", "init", "dev")
    preview = pulumi("preview", "--json", "--stack", "dev")
    assert preview.returncode == 0
    saved = tmp_path / "preview.json"
    saved.write_text(preview.stdout)
    assert plan_from_preview(saved) == plan_from_preview(FIXTURES / "standin" / "dev" / "preview.json")
    refused = pulumi("--non-interactive", "up", "--stack", "dev")
    assert refused.returncode == 255 and "--yes" in refused.stderr


def test_up_leaves_a_state_that_stack_export_and_output_report(pulumi: Standin, tmp_path: Path) -> None:
    pulumi("stack", "init", "dev")
    assert pulumi("up", "--yes", "--skip-preview", "--stack", "dev").returncode == 0
    export = tmp_path / "export.json"
    export.write_text(pulumi("stack", "export", "--stack", "dev").stdout)
    deployed = plan_from_state(export)
    previewed = plan_from_preview(FIXTURES / "standin" / "dev" / "preview.json")
    assert [r["urn"] for r in deployed["resources"]] == [r["urn"] for r in previewed["resources"]]
    masked = json.loads(pulumi("stack", "output", "--json", "--stack", "dev").stdout)
    assert masked["spec"]["token"] == "[secret]"
    [entry] = json.loads(
        pulumi("stack", "history", "--json", "--page-size", "1", "--page", "1", "--stack", "dev").stdout
    )
    assert (entry["result"], entry["version"], entry["resourceChanges"]) == ("succeeded", 1, {"create": 8})


def test_anything_else_is_refused_loudly_and_everything_is_logged(pulumi: Standin) -> None:
    proc = pulumi("destroy", "--yes")
    assert proc.returncode == 2
    assert "the pulumi stand-in does not implement `pulumi destroy --yes`" in proc.stderr
    assert pulumi("version").stdout.strip() == "v3.272.0"
    assert read_log(pulumi.log) == [["destroy", "--yes"], ["version"]]
