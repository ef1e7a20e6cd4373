"""Waivers that mean something, through the CLI on both engines: only a waiver signed by an approver the policy
set lists for that rule, unedited, within its key's dates, of a waivable rule and within its scope, waives.

Every other waiver is refused: the finding stays blocking as ``waiver-refused`` and the reason is printed.
The approvers and keys are the test-only ones in tests/fixtures/waivers/.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from phistack.signing import write_keypair
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.paths import FIXTURES, REPO
from tests.support.waivers import (
    CISO,
    CISO_KEY,
    NETSEC,
    NETSEC_KEY,
    RETIRED_KEY,
    policy_copy_with_test_approvers,
    sign_waivers,
)

ENGINES = ["regorus", "regopy"]
NOW = "2026-06-01T12:00:00Z"
PLANS = FIXTURES / "plans"
NOTES = "urn:pulumi:clinical-nlp::*StorageClass::notes-class"  # the one PHI-ENC-001 finding of unknown-kms-key


def _entry(waiver_id: str, rule: str, resource: str, approver: str = CISO, **extra: Any) -> str:
    lines = [
        f"  - id: {waiver_id}",
        f"    rule: {rule}",
        "    stack: clinical-nlp",
        f'    resource: "{resource}"',
        "    justification: The KMS key is created in the same deployment; its ARN is known after apply.",
        f"    approver: {approver}",
        "    compensating_control: A post-deploy check verifies the StorageClass kmsKeyId names the CMK.",
        "    expires: 2026-06-30",
        *(f"    {key}: {value}" for key, value in extra.items()),
    ]
    return "\n".join(lines) + "\n"


def _signed(path: Path, entry: str, key: Path) -> dict[str, Any]:
    """``entry`` as ``phistack waiver sign`` leaves it, signed with ``key`` (through the CLI)."""
    path.write_text("waivers:\n" + entry)
    proc = run_cli("waiver", "sign", str(path), "--key", str(key))
    assert proc.returncode == 0, proc.stderr
    (signed,) = yaml.safe_load(path.read_text())["waivers"]
    assert signed["signature"]["alg"] == "Ed25519"
    return signed


def _check(plan: str, policies: Path, waivers: Path, engine: str, fmt: str = "json") -> tuple[int, str, str]:
    proc = run_cli(
        "check", "--plan", str(PLANS / f"{plan}.json"), "--policies", str(policies), "--waivers", str(waivers),
        "--now", NOW, "--engine", engine, "--format", fmt,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def policies(tmp_path_factory) -> Path:
    return policy_copy_with_test_approvers(REPO / "policies", tmp_path_factory.mktemp("policies"))


@pytest.fixture(scope="module")
def refused_file(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """One file of waivers of the one PHI-ENC-001 finding, each refused for its own reason."""
    base = tmp_path_factory.mktemp("refused")
    attacker, _ = write_keypair(base / "attacker")
    good = _signed(base / "good.yaml", _entry("GOOD", "PHI-ENC-001", NOTES), CISO_KEY)

    def edited(waiver_id: str, **changes: Any) -> dict[str, Any]:
        # The id is part of the signed content too, so GOOD's signature is already wrong for the copy; sign
        # the copy first, then change the one field, so the edit is the only difference.
        copy = {**good, "id": waiver_id}
        copy.pop("signature")
        path = base / f"{waiver_id}.yaml"
        path.write_text(yaml.safe_dump({"waivers": [copy]}, sort_keys=False))
        sign_waivers(path, CISO_KEY)
        (signed,) = yaml.safe_load(path.read_text())["waivers"]
        return {**signed, **changes}

    entries: dict[str, Any] = {
        # A key no approver holds, under the name of one who is listed.
        "FORGED": _signed(base / "f.yaml", _entry("FORGED", "PHI-ENC-001", NOTES), attacker),
        # The case: an author approving their own waiver.
        "SELF": _signed(
            base / "s.yaml", _entry("SELF", "PHI-ENC-001", NOTES, approver="attacker@evil.example"), attacker
        ),
        "UNSIGNED": yaml.safe_load(_entry("UNSIGNED", "PHI-ENC-001", NOTES))[0],
        "JUSTIFY": edited("JUSTIFY", justification="Approved in the change board; the key ARN is known after apply."),
        "EXPIRY": edited("EXPIRY", expires=dt.date(2026, 8, 29)),
        "RESOURCE": edited("RESOURCE", resource="*notes-class"),
        # A key of the right approver, outside its dates (valid during 2025 only).
        "RETIRED": _signed(base / "r.yaml", _entry("RETIRED", "PHI-ENC-001", NOTES), RETIRED_KEY),
        # A real approver, with a valid key, who may waive PHI-TLS-* only.
        "NARROW": _signed(base / "n.yaml", _entry("NARROW", "PHI-ENC-001", NOTES, approver=NETSEC), NETSEC_KEY),
    }
    path = base / "waivers.yaml"
    path.write_text(yaml.safe_dump({"waivers": list(entries.values())}, sort_keys=False))
    reasons = {
        "FORGED": "which is not a key of an authorised approver",
        "SELF": "which is not a key of an authorised approver",
        "UNSIGNED": f"unsigned: {CISO} has not signed it",
        "JUSTIFY": "does not match the waiver: it was edited after signing, or forged",
        "EXPIRY": "does not match the waiver: it was edited after signing, or forged",
        "RESOURCE": "does not match the waiver: it was edited after signing, or forged",
        "RETIRED": "is valid from 2025-01-01 to 2025-12-31, not on 2026-06-01",
        "NARROW": f"{NETSEC} (Network security lead) may waive PHI-TLS-*, FIX-ADV-001, not PHI-ENC-001",
    }
    return path, reasons


@pytest.mark.parametrize("engine", ENGINES)
def test_signed_waiver_by_an_authorised_approver_waives(tmp_path: Path, policies: Path, engine: str) -> None:
    path = tmp_path / "waivers.yaml"
    _signed(path, _entry("GOOD", "PHI-ENC-001", NOTES), CISO_KEY)
    code, out, _ = _check("unknown-kms-key", policies, path, engine)
    report = json.loads(out)
    assert code == 0 and report["decision"] == "allowed"
    assert [(f["id"], f["status"]) for f in report["findings"]] == [("PHI-ENC-001", "waived")]
    (applied,) = report["waivers_applied"]
    assert applied["approver"] == CISO and applied["signature_status"] == "verified"
    assert applied["key_id"].startswith("sha256:") and report["waivers_refused"] == []


def test_signed_decision_record_lists_the_waiver_with_approver_key_and_signature_status(
    tmp_path: Path, policies: Path, refused_file
) -> None:
    path = tmp_path / "waivers.yaml"
    _signed(path, _entry("GOOD", "PHI-ENC-001", NOTES), CISO_KEY)
    path.write_text(path.read_text() + yaml.safe_dump(yaml.safe_load(refused_file[0].read_text())["waivers"][:1]))
    signer, _ = write_keypair(tmp_path / "gate")
    record = tmp_path / "record.json"
    proc = run_cli(
        "check", "--plan", str(PLANS / "unknown-kms-key.json"), "--policies", str(policies), "--waivers", str(path),
        "--now", NOW, "--sign", str(signer), "--record", str(record),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(record.read_text())["payload"]
    (applied,) = payload["waivers_applied"]
    assert (applied["id"], applied["approver"], applied["signature_status"]) == ("GOOD", CISO, "verified")
    assert applied["key_id"].startswith("sha256:") and applied["approver_role"]
    (refused,) = payload["waivers_refused"]
    assert refused["id"] == "FORGED" and refused["signature_status"] == "invalid" and refused["refusal"]


@pytest.mark.parametrize("engine", ENGINES)
def test_every_unearned_waiver_is_refused_and_says_why(policies: Path, refused_file, engine: str) -> None:
    path, reasons = refused_file
    code, out, err = _check("unknown-kms-key", policies, path, engine)
    report = json.loads(out)
    assert code == 1 and report["decision"] == "denied"
    (finding,) = report["findings"]
    assert finding["status"] == "waiver-refused" and finding["waiver"]["refusal"]
    assert report["waivers_applied"] == []
    refused = {w["id"]: w for w in report["waivers_refused"]}
    assert sorted(refused) == sorted(reasons)
    for waiver_id, reason in reasons.items():
        assert reason in refused[waiver_id]["refusal"], (waiver_id, refused[waiver_id]["refusal"])
        line = f"phistack: note: waiver {waiver_id} (PHI-ENC-001) refused: "
        assert any(row.startswith(line) and reason in row for row in err.splitlines()), (waiver_id, err)
    assert refused["UNSIGNED"]["signature_status"] == "unsigned"
    assert refused["NARROW"]["signature_status"] == "verified"
    assert {refused[w]["signature_status"] for w in ("FORGED", "SELF", "JUSTIFY", "RETIRED")} == {"invalid"}


@pytest.mark.parametrize("engine", ENGINES)
def test_unwaivable_rules_and_over_broad_patterns_are_refused(tmp_path: Path, policies: Path, engine: str) -> None:
    """noncompliant-transport: PHI-BAA-001 on the provider, PHI-LOG-002 and PHI-LOG-003 on two resources each."""
    path = tmp_path / "waivers.yaml"
    path.write_text(
        "waivers:\n"
        + _entry("BAA", "PHI-BAA-001", "*::provider")
        + _entry("BROAD", "PHI-LOG-002", "*logs*")
        + _entry("SCOPED", "PHI-LOG-003", "*logs*", max_resources=2)
    )
    sign_waivers(path, CISO_KEY)
    code, out, err = _check("noncompliant-transport", policies, path, engine, fmt="text")
    assert code == 1
    assert "[waiver-refused: BAA, expires 2026-06-30] PHI-BAA-001" in out
    assert "refused: PHI-BAA-001 is unwaivable: no one may waive it" in out
    assert "[waiver-refused: BROAD, expires 2026-06-30] PHI-LOG-002" in out
    assert "refused: resource pattern '*logs*' matches 2 resources, more than its max_resources 1" in out
    assert out.count("[waived: SCOPED, expires 2026-06-30] PHI-LOG-003") == 2
    assert "note: waiver BAA (PHI-BAA-001) refused: PHI-BAA-001 is unwaivable" in err


@pytest.mark.parametrize("engine", ENGINES)
def test_confidential_computing_for_phi_cannot_be_waived(tmp_path: Path, policies: Path, engine: str) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n" + _entry("CC", "PHI-CC-001", "*nlp"))
    sign_waivers(path, CISO_KEY)
    code, out, _ = _check("noncompliant-cc", policies, path, engine, fmt="sarif")
    assert code == 1
    results = json.loads(out)["runs"][0]["results"]
    (cc,) = [r for r in results if r["ruleId"] == "PHI-CC-001"]
    assert cc["properties"]["status"] == "waiver-refused" and cc["suppressions"][0]["status"] == "rejected"
    assert "PHI-CC-001 is unwaivable" in cc["properties"]["waiver_refusal"]


def test_shipped_policies_list_no_approvers_so_no_waiver_applies(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n" + _entry("GOOD", "PHI-ENC-001", NOTES))
    sign_waivers(path, CISO_KEY)
    code, out, _ = _check("unknown-kms-key", REPO / "policies", path, "regorus")
    (refused,) = json.loads(out)["waivers_refused"]
    assert code == 1 and "the policy set lists no approvers" in refused["refusal"]


# --- phistack waiver sign / verify ----------------------------------------------------------------


def test_sign_then_verify_and_tamper(tmp_path: Path, policies: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(
        "# Waivers of the clinical-nlp stack.\nwaivers:\n"
        + _entry("A", "PHI-ENC-001", NOTES)
        + _entry("B", "PHI-TLS-001", "*gateway")
    )
    verify = ("waiver", "verify", str(path), "--policies", str(policies), "--now", NOW)
    proc = run_cli(*verify)
    assert proc.returncode == 1 and proc.stdout.count("REFUSED") == 2 and "unsigned" in proc.stdout

    proc = run_cli("waiver", "sign", str(path), "--key", str(CISO_KEY), "--id", "A")
    assert proc.returncode == 0 and "signed 1 waiver(s)" in proc.stderr, proc.stderr
    assert path.read_text().startswith("# Waivers of the clinical-nlp stack.\n")
    proc = run_cli("waiver", "sign", str(path), "--key", str(NETSEC_KEY), "--id", "B")
    assert proc.returncode == 0, proc.stderr  # netsec signs under CISO's name: sign does not judge, verify does
    proc = run_cli(*verify)
    assert proc.returncode == 1
    assert "valid   A (PHI-ENC-001, stack clinical-nlp): approved by ciso@example-hospital.org" in proc.stdout
    assert f"REFUSED B (PHI-TLS-001, stack clinical-nlp): signed with a key of {NETSEC}, not of {CISO}" in proc.stdout

    proc = run_cli("waiver", "sign", str(path), "--key", str(CISO_KEY))
    assert proc.returncode == 0
    proc = run_cli(*verify)
    assert proc.returncode == 0 and proc.stdout.count("valid ") == 2, proc.stdout
    assert "2 of 2 waiver(s) valid as of 2026-06-01" in proc.stderr

    path.write_text(path.read_text().replace("*gateway", "*"))
    proc = run_cli(*verify)
    assert proc.returncode == 1 and "REFUSED B" in proc.stdout and "edited after signing" in proc.stdout


def test_verify_reports_unwaivable_and_expired(tmp_path: Path, policies: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n" + _entry("BAA", "PHI-BAA-002", "*") + _entry("OLD", "PHI-ENC-001", NOTES))
    sign_waivers(path, CISO_KEY)
    proc = run_cli("waiver", "verify", str(path), "--policies", str(policies), "--now", "2026-07-15T00:00:00Z")
    assert proc.returncode == 1
    assert "REFUSED BAA (PHI-BAA-002, stack clinical-nlp): PHI-BAA-002 is unwaivable" in proc.stdout
    assert "EXPIRED OLD (PHI-ENC-001, stack clinical-nlp): expired on 2026-06-30" in proc.stdout


# --- bad input: one line naming file and key path, exit 2, never a traceback ------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("    signature: {alg: Ed25519, key_id: nope, value: x}\n", "waivers[0].signature.key_id"),
        ("    signature: {alg: RSA, key_id: nope, value: x}\n", "waivers[0].signature.alg"),
        ("    max_resources: 0\n", "waivers[0].max_resources"),
        ("    approved_by_board: true\n", "waivers[0].approved_by_board"),
    ],
)
def test_malformed_waiver_fields_are_bad_input(tmp_path: Path, policies: Path, body: str, fragment: str) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n" + _entry("A", "PHI-ENC-001", NOTES) + body)
    for args in (
        ("waiver", "verify", str(path), "--policies", str(policies), "--now", NOW),
        ("waiver", "sign", str(path), "--key", str(CISO_KEY)),
        ("check", "--plan", str(PLANS / "unknown-kms-key.json"), "--policies", str(policies), "--now", NOW,
         "--waivers", str(path)),
    ):  # fmt: skip
        assert_one_line_error(run_cli(*args), 2, str(path), fragment)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty waiver file"),
        ("waivers:\n", "waivers: Input should be a valid list"),
        ("waivers: []\nnote: none yet\n", "note: unknown key"),
        ("waivers: {}\n", "waivers: Input should be a valid list"),
        ("[]\n", "Input should be a valid dictionary"),
    ],
)
def test_only_an_exact_empty_waiver_list_declares_none(tmp_path: Path, text: str, fragment: str) -> None:
    """`waivers: []` is the one document that is read without the waiver models; every near miss is still
    validated and refused, naming the file (exit 2)."""
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    args = ("check", "--plan", str(PLANS / "phi-compliant.json"), "--waivers", str(path), "--now", NOW)
    assert_one_line_error(run_cli(*args), 2, str(path), fragment)
    path.write_text("waivers: []\n")
    assert run_cli(*args).returncode == 0


def test_sign_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n" + _entry("A", "PHI-ENC-001", NOTES))
    before = path.read_text()
    assert_one_line_error(
        run_cli("waiver", "sign", str(path), "--key", str(CISO_KEY), "--id", "NOPE"),
        2,
        str(path),
        "no waiver with id NOPE",
    )
    assert_one_line_error(run_cli("waiver", "sign", str(path), "--key", str(tmp_path / "none.key")), 2, "none.key")
    assert_one_line_error(
        run_cli("waiver", "sign", str(path), "--key", str(CISO_KEY.with_suffix(".pub"))), 2, "ciso.pub"
    )
    assert path.read_text() == before, "a failed sign leaves the file as it was"


def test_malformed_approver_data_is_one_line_and_never_a_pass(tmp_path: Path, policies: Path) -> None:
    broken = tmp_path / "policies"
    shutil.copytree(policies, broken)
    data = json.loads((broken / "data" / "approvers.json").read_text())
    data["approvers"][0]["keys"][0]["key_id"] = "sha256:" + "0" * 64
    (broken / "data" / "approvers.json").write_text(json.dumps(data))
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n" + _entry("A", "PHI-ENC-001", NOTES))
    proc = run_cli("check", "--plan", str(PLANS / "unknown-kms-key.json"), "--policies", str(broken), "--waivers",
                   str(path), "--now", NOW)  # fmt: skip
    assert_one_line_error(proc, 3, "data/approvers", "approvers[0].keys[0]", "key_id is not the id of public_key")
