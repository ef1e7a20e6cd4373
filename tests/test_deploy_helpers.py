"""Small pieces of the deploy path: backend and passphrase handling, CLI error lines, decision records."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from phistack.deploy.automation import UpOutcome, _error_line
from phistack.deploy.pulumi_cli import (
    INSTALL_HINT,
    PulumiCliMissing,
    cli_env,
    default_backend,
    display_backend,
    prepare_backend,
    require_cli,
)
from phistack.deploy.records import build_record, preview_digest, write_record
from phistack.errors import ExitCode, InputError
from phistack.findings import Coverage, Decision, Scope
from phistack.stackconfig import StackSettings, read_stack_settings


def test_missing_cli_is_exit_2_with_the_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PulumiCliMissing) as caught:
        require_cli()
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.diagnostic() == INSTALL_HINT
    assert "curl -fsSL https://get.pulumi.com | sh" in INSTALL_HINT


def test_default_backend_is_the_project_state_folder(tmp_path: Path) -> None:
    url = default_backend(tmp_path)
    assert url == (tmp_path / ".state").resolve().as_uri()
    prepare_backend(url)
    assert (tmp_path / ".state").is_dir()


def test_display_backend_drops_credentials() -> None:
    assert display_backend("postgres://user:pw@db.example:5432/state") == "postgres://db.example:5432/state"
    assert display_backend("file:///srv/state") == "file:///srv/state"


def _stack_file(tmp_path: Path, body: str) -> StackSettings:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(body)
    return read_stack_settings(path)


def test_file_backend_needs_a_passphrase(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    stack_file = _stack_file(tmp_path, "config: {}\n")
    with pytest.raises(InputError, match="set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE"):
        cli_env("file:///srv/state", stack_file)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")  # an empty passphrase is a valid choice
    env = cli_env("file:///srv/state", stack_file)
    assert env == {
        "PULUMI_BACKEND_URL": "file:///srv/state",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_CONFIG_PASSPHRASE": "",
    }


def test_no_passphrase_needed_for_a_service_or_a_kms_provider(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    plain = _stack_file(tmp_path, "config: {}\n")
    assert "PULUMI_CONFIG_PASSPHRASE" not in cli_env("https://api.pulumi.com", plain)
    kms = _stack_file(tmp_path, "secretsprovider: awskms://alias/phistack\nconfig: {}\n")
    assert cli_env("s3://bucket/state", kms)["PULUMI_BACKEND_URL"] == "s3://bucket/state"


def test_error_line_takes_the_last_error_of_a_cli_failure() -> None:
    failure = RuntimeError("\n code: 255\n stdout: Previewing update (dev):\n stderr: error: no stack named 'x' found")
    assert _error_line(failure) == "error: no stack named 'x' found"
    assert _error_line(RuntimeError("\n code: 1\n stdout: \n stderr: boom")) == "boom"


def _decision() -> Decision:
    return Decision(
        stack="dev",
        findings=[],
        plan_digest="sha256:" + "1" * 64,
        policy_digest="sha256:" + "2" * 64,
        engine="regorus",
        evaluated_at="2026-11-27T12:00:00Z",
        rules={},
        coverage=Coverage(resources=0, in_scope=0, unknown_types=()),
        scope=Scope(phi=False),
    )


def test_records_never_overwrite_each_other(tmp_path: Path) -> None:
    at = dt.datetime(2026, 11, 27, 12, 0, 5, tzinfo=dt.UTC)
    record = build_record(
        decision=_decision(),
        project="mini",
        preview_sha256=preview_digest("{}"),
        backend="file:///srv/state",
        cli_version="3.272.0",
        deployment=UpOutcome(result="succeeded", update_version=3, resource_changes={"same": 4}).to_json(),
        recorded_at=at,
    )
    first = write_record(tmp_path, record, at)
    second = write_record(tmp_path, record, at)
    third = write_record(tmp_path, record, at)
    assert [first.name, second.name, third.name] == [
        "20261127T120005Z.json",
        "20261127T120005Z_01.json",
        "20261127T120005Z_02.json",
    ]
    # An auditor listing the folder sees the records in the order they were written.
    assert sorted(path.name for path in tmp_path.glob("decisions/*/*.json")) == [first.name, second.name, third.name]
    stored = json.loads(first.read_text())
    assert stored["recorded_at"] == "2026-11-27T12:00:05Z"
    assert stored["plan_digest"] == stored["decision"]["plan_digest"]
    assert stored["deployment"] == {
        "backend": "file:///srv/state",
        "pulumi_version": "3.272.0",
        "result": "succeeded",
        "update_version": 3,
        "resource_changes": {"same": 4},
        "started_at": None,
        "ended_at": None,
        "error": None,
    }
    assert stored["preview_digest"] == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
