"""Decisions through `phistack check`, end to end, on both engines.

The fixture plans in tests/fixtures/plans run today. The reference stacks in stacks/ run when they
exist: every compliant stack is allowed and each `noncompliant-*` stack is denied with exactly the
rule ids listed in NONCOMPLIANT_STACKS. The evaluation date is pinned (--now) so BAA dates and
waiver expiry do not drift with the calendar.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.paths import FIXTURES, REPO
from tests.support.waivers import policy_copy_with_test_approvers, write_signed

ENGINES = ["regorus", "regopy"]
NOW = "2026-06-01T12:00:00Z"
PLANS = FIXTURES / "plans"
EXPECTED: dict[str, dict[str, list[str]]] = json.loads((PLANS / "expected.json").read_text())

# Expected rule ids of each deliberately non-compliant reference stack.
NONCOMPLIANT_STACKS: dict[str, list[str]] = {
    # The lapsed agreement BAA-HELIX-2023-07 is on file in policies/data/baa.json: expired, not missing.
    "noncompliant-expired-baa": [
        "PHI-BAA-002", "PHI-ENC-001", "PHI-ENC-002", "PHI-IAM-001", "PHI-IAM-002", "PHI-LOG-002", "PHI-LOG-003",
        "PHI-VOL-001",
    ],
    # PHI on an ordinary (non-confidential) A3 VM, a public control plane, volumes under a Google-managed key.
    "noncompliant-gke-ordinary-vm": ["PHI-CLOUD-002", "PHI-ENC-001", "PHI-GPU-001"],
    # Genetic data on the non-confidential NC H100 v5 size, a public API server, local accounts, no audit export.
    "noncompliant-aks-ordinary-vm": ["PHI-CLOUD-002", "PHI-CLOUD-003", "PHI-CLOUD-004", "PHI-GPU-001"],
    "noncompliant-plaintext-phi": [
        "PHI-CC-001", "PHI-CC-002", "PHI-CC-003", "PHI-GPU-001", "PHI-LOG-001", "PHI-LOG-004", "PHI-TLS-001",
        "PHI-TLS-002",
    ],
}

STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (REPO / "stacks").glob("Pulumi.*.yaml"))


def _check(*args: str, engine: str) -> tuple[int, dict[str, Any]]:
    proc = run_cli("check", *args, "--format", "json", "--engine", engine, "--now", NOW)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _blocking_ids(report: dict[str, Any]) -> list[str]:
    return sorted(
        {
            f["id"]
            for f in report["findings"]
            if f["enforcement"] == "mandatory" and f["status"] != "waived"
        }
    )


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_plan_decisions(name: str, engine: str) -> None:
    code, report = _check("--plan", str(PLANS / f"{name}.json"), engine=engine)
    expected = EXPECTED[name]["deny"]
    assert _blocking_ids(report) == expected
    assert code == (1 if expected else 0)
    assert report["decision"] == ("denied" if expected else "allowed")


def _waivers(tmp_path: Path, expires: dt.date) -> Path:
    return write_signed(
        tmp_path / "waivers.yaml",
        "waivers:\n"
        "  - id: WVR-TEST-001\n"
        "    rule: PHI-ENC-001\n"
        "    stack: clinical-nlp\n"
        '    resource: "urn:pulumi:clinical-nlp::*StorageClass::notes-class"\n'
        "    justification: The KMS key is created in the same deployment; its ARN is known after apply.\n"
        "    approver: ciso@example-hospital.org\n"
        "    compensating_control: A post-deploy check verifies the StorageClass kmsKeyId names the CMK.\n"
        f"    expires: {expires.isoformat()}\n",
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_waiver_allows_and_expiry_denies(tmp_path: Path, engine: str) -> None:
    plan = str(PLANS / "unknown-kms-key.json")
    today = dt.date.fromisoformat(NOW[:10])
    policies = ("--policies", str(policy_copy_with_test_approvers(REPO / "policies", tmp_path)))
    waivers = _waivers(tmp_path, today + dt.timedelta(days=30))
    code, report = _check("--plan", plan, *policies, "--waivers", str(waivers), engine=engine)
    assert code == 0 and report["decision"] == "allowed"
    assert [(f["id"], f["status"]) for f in report["findings"]] == [("PHI-ENC-001", "waived")]

    waivers = _waivers(tmp_path, today - dt.timedelta(days=1))
    code, report = _check("--plan", plan, *policies, "--waivers", str(waivers), engine=engine)
    assert code == 1 and report["decision"] == "denied"
    assert [(f["id"], f["status"]) for f in report["findings"]] == [("PHI-ENC-001", "waiver-expired")]


def test_waiver_beyond_90_days_is_bad_input(tmp_path: Path) -> None:
    path = _waivers(tmp_path, dt.date.fromisoformat(NOW[:10]) + dt.timedelta(days=120))
    proc = run_cli("check", "--plan", str(PLANS / "unknown-kms-key.json"), "--waivers", str(path), "--now", NOW)
    assert proc.returncode == 2, proc.stderr


@pytest.mark.skipif(not STACKS, reason="no reference stacks in stacks/ yet")
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("stack", STACKS or ["none"])
def test_reference_stack_decision(stack: str, engine: str) -> None:
    proc = run_cli("check", stack, "--format", "json", "--engine", engine, "--now", NOW, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    if not stack.startswith("noncompliant-"):
        assert proc.returncode == 0, _blocking_ids(report)
        return
    if stack not in NONCOMPLIANT_STACKS:
        pytest.fail(f"add the expected rule ids of {stack} to NONCOMPLIANT_STACKS: {_blocking_ids(report)}")
    assert proc.returncode == 1
    assert _blocking_ids(report) == NONCOMPLIANT_STACKS[stack]

