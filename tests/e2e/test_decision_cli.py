"""Signed decision records: `check --sign` writes one, `decision verify` accepts it or says why not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import assert_one_line_error, run_cli
from tests.support.paths import MINI_PROJECT, STARTER_POLICIES

GATE = ["--project", str(MINI_PROJECT), "--policies", str(STARTER_POLICIES), "--now", "2026-11-27T12:00:00Z"]


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("signed")
    assert run_cli("decision", "keygen", "-o", str(root / "gate")).returncode == 0
    assert run_cli("decision", "keygen", "-o", str(root / "other")).returncode == 0
    files = {"key": root / "gate.key", "pub": root / "gate.pub", "other_pub": root / "other.pub"}
    for stack in ("dev", "runc"):
        plan = root / f"{stack}.plan.json"
        assert run_cli("plan", stack, "--project", str(MINI_PROJECT), "-o", str(plan)).returncode == 0
        record = root / f"{stack}.record.json"
        proc = run_cli("check", "--plan", str(plan), *GATE, "--sign", str(files["key"]), "--record", str(record))
        assert proc.returncode == (0 if stack == "dev" else 1), proc.stderr
        assert f"signed decision record written to {record}" in proc.stderr
        files[f"{stack}_plan"], files[f"{stack}_record"] = plan, record
    return files


def test_keygen_protects_the_private_key(signed) -> None:
    assert signed["key"].stat().st_mode & 0o777 == 0o600
    assert signed["pub"].read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_an_audit_checkpoint_names_the_gate_key_as_its_decision_records_do(signed, tmp_path: Path) -> None:
    # One key, one id: the decision record and a checkpoint it signs both say sha256:<hex of the raw key>.
    proc = run_cli(
        "audit", "append", "audit.log", "--actor", "svc:gate", "--action", "gate.decision", "--object", "dev",
        "--outcome", "success", "--key", str(signed["key"]), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    checkpoint = json.loads((tmp_path / "audit.log.checkpoints").read_text().splitlines()[-1])
    record = json.loads(signed["dev_record"].read_text())
    assert checkpoint["key_id"] == record["signature"]["key_id"]
    assert len(checkpoint["key_id"]) == len("sha256:") + 64


def test_record_carries_what_an_auditor_needs(signed) -> None:
    record = json.loads(signed["runc_record"].read_text())
    payload = record["payload"]
    assert payload["schema_version"] == "phistack.decision-record/v1"
    assert payload["decision"] == "denied" and payload["stack"] == "runc"
    assert payload["plan_digest"].startswith("sha256:") and payload["policy_digest"].startswith("sha256:")
    assert payload["evaluated_at"] == "2026-11-27T12:00:00Z"
    assert {f["id"] for f in payload["findings"]} == {"FIX-CC-001", "FIX-ADV-001"}
    assert "waivers_applied" in payload
    assert record["signature"]["alg"] == "Ed25519" and record["signature"]["key_id"].startswith("sha256:")


def test_valid_recent_allowing_record_for_this_plan_passes(signed) -> None:
    proc = run_cli(
        "decision",
        "verify",
        str(signed["dev_record"]),
        "--key",
        str(signed["pub"]),
        "--require-allowed",
        "--max-age",
        "1h",
        "--plan",
        str(signed["dev_plan"]),
        "--now",
        "2026-11-27T12:30:00Z",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("valid: stack dev allowed at 2026-11-27T12:00:00Z")


@pytest.mark.parametrize(
    ("record", "extra", "reason"),
    [
        ("runc_record", ["--require-allowed"], "the gate denied stack 'runc'"),
        ("dev_record", ["--max-age", "1h", "--now", "2026-11-27T14:00:00Z"], "record is stale"),
        ("dev_record", ["--plan", "runc_plan"], "record is for plan"),
    ],
)
def test_pipeline_demands_are_enforced(signed, record: str, extra: list[str], reason: str) -> None:
    args = [signed[a].as_posix() if a in signed else a for a in extra]
    proc = run_cli(
        "decision", "verify", str(signed[record]), "--key", str(signed["pub"]), "--now", "2026-11-27T12:05:00Z", *args
    )
    assert_one_line_error(proc, 1, reason)


def test_altered_record_is_rejected(signed, tmp_path: Path) -> None:
    record = json.loads(signed["runc_record"].read_text())
    record["payload"]["decision"] = "allowed"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(record))
    proc = run_cli("decision", "verify", str(forged), "--key", str(signed["pub"]))
    assert_one_line_error(proc, 1, "signature does not match the record")


def test_record_signed_by_another_key_is_rejected(signed) -> None:
    proc = run_cli("decision", "verify", str(signed["dev_record"]), "--key", str(signed["other_pub"]))
    assert_one_line_error(proc, 1, "not by the key given")


def test_bad_inputs_are_exit_2(signed, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]")
    assert_one_line_error(
        run_cli("decision", "verify", str(junk), "--key", str(signed["pub"])), 2, "not a decision record"
    )
    assert_one_line_error(
        run_cli("decision", "verify", str(signed["dev_record"]), "--key", str(signed["key"])), 2, "not a PEM public key"
    )
    assert_one_line_error(
        run_cli("check", "dev", *GATE, "--sign", str(tmp_path / "missing.key")), 2, "cannot read Ed25519 private key"
    )
    assert_one_line_error(
        run_cli("decision", "verify", str(signed["dev_record"]), "--key", str(signed["pub"]), "--max-age", "soon"),
        2,
        "--max-age",
    )
