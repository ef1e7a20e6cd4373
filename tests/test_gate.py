"""The gate: findings enriched from METADATA, the decision, waivers, engine parity, fail closed."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from phistack.approvers import load_approvers
from phistack.engine import load_policy_set
from phistack.errors import InputError, PolicyError
from phistack.findings import Enforcement, Status
from phistack.gate import evaluate
from phistack.plan.offline import plan_stack
from phistack.waivers import apply_waivers, check_rules_exist, load_waivers
from tests.support.paths import MINI_PROJECT, STARTER_POLICIES
from tests.support.waivers import sign_waivers, with_test_approvers

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture(scope="module")
def plans() -> dict[str, dict]:
    return {stack: plan_stack(MINI_PROJECT, stack) for stack in ("dev", "runc", "unknown")}


@pytest.fixture(scope="module")
def policies():
    return with_test_approvers(load_policy_set(STARTER_POLICIES))


def _waiver_file(tmp_path: Path, *, signed: bool = True, **overrides: str) -> Path:
    fields = {
        "id": "WVR-1",
        "rule": "FIX-CC-001",
        "stack": "runc",
        "resource": "*box-app",
        "justification": "Research namespace holds synthetic data only.",
        "approver": "ciso@example-hospital.org",
        "compensating_control": "Namespace isolated by a default-deny NetworkPolicy.",
        "expires": "2027-01-15",
        **overrides,
    }
    body = "waivers:\n  - " + "\n    ".join(f"{k}: {v!r}" if k != "expires" else f"{k}: {v}" for k, v in fields.items())
    path = tmp_path / "waivers.yaml"
    path.write_text(body + "\n")
    return sign_waivers(path) if signed else path


def test_compliant_stack_is_allowed_with_advisory_findings(plans, policies) -> None:
    decision = evaluate(plans["dev"], policies, now=NOW)
    assert decision.allowed and decision.verdict == "allowed"
    assert [(f.id, f.enforcement) for f in decision.findings] == [("FIX-ADV-001", Enforcement.ADVISORY)]


def test_findings_carry_metadata(plans, policies) -> None:
    decision = evaluate(plans["runc"], policies, now=NOW)
    assert not decision.allowed
    finding = next(f for f in decision.findings if f.id == "FIX-CC-001")
    assert finding.title == "Workloads use a confidential runtime class"
    assert finding.severity == "critical" and finding.enforcement is Enforcement.MANDATORY
    assert finding.urn.endswith("::box-app")
    assert finding.citations[0].cfr == "45 CFR 164.312(a)(2)(iv)" and finding.citations[0].type == "addressable"
    assert finding.remediation.startswith("Set runtimeClassName")
    assert decision.plan_digest.startswith("sha256:") and decision.policy_digest == policies.digest


def test_unknown_value_fails_closed_and_says_so(plans, policies) -> None:
    decision = evaluate(plans["unknown"], policies, now=NOW)
    assert not decision.allowed
    [finding] = [f for f in decision.findings if f.id == "FIX-CC-001"]
    assert "unknown at plan time" in finding.message
    assert finding.unknown == ["spec.template.spec.runtimeClassName"]


@pytest.mark.parametrize("stack", ["dev", "runc", "unknown"])
def test_both_engines_give_identical_findings(plans, policies, stack: str) -> None:
    first = evaluate(plans[stack], policies, engine="regorus", now=NOW)
    second = evaluate(plans[stack], policies, engine="regopy", now=NOW)
    assert [f.to_json() for f in first.findings] == [f.to_json() for f in second.findings]
    assert first.verdict == second.verdict


def test_active_waiver_waives_but_keeps_the_finding_visible(tmp_path, plans, policies) -> None:
    waivers = load_waivers(_waiver_file(tmp_path), TODAY)
    decision = evaluate(plans["runc"], policies, now=NOW, waivers=waivers)
    finding = next(f for f in decision.findings if f.id == "FIX-CC-001")
    assert finding.status is Status.WAIVED and finding.waiver is not None and finding.waiver["id"] == "WVR-1"
    assert decision.allowed and decision.counts()["waived"] == 1
    assert decision.waivers_applied[0]["approver"] == "ciso@example-hospital.org"


def test_expired_waiver_brings_the_finding_back(tmp_path, plans, policies) -> None:
    waivers = load_waivers(_waiver_file(tmp_path, expires="2026-11-01"), TODAY)
    decision = evaluate(plans["runc"], policies, now=NOW, waivers=waivers)
    finding = next(f for f in decision.findings if f.id == "FIX-CC-001")
    assert finding.status is Status.WAIVER_EXPIRED and not decision.allowed
    assert any("expired on 2026-11-01" in note for note in decision.waiver_notes)


def test_waiver_expiring_soon_warns(tmp_path, plans, policies) -> None:
    waivers = load_waivers(_waiver_file(tmp_path, expires="2026-12-05"), TODAY)
    decision = evaluate(plans["runc"], policies, now=NOW, waivers=waivers)
    assert decision.allowed
    assert decision.waiver_notes == ["waiver WVR-1 (FIX-CC-001) expires on 2026-12-05: renew or remediate"]


def test_waiver_matching_nothing_is_reported(tmp_path, plans, policies) -> None:
    waivers = load_waivers(_waiver_file(tmp_path, resource="*nothing-here"), TODAY)
    decision = evaluate(plans["runc"], policies, now=NOW, waivers=waivers)
    assert not decision.allowed
    assert decision.waiver_notes == ["waiver WVR-1 (FIX-CC-001) matches no finding in stack 'runc'"]


def test_waiver_for_another_stack_does_not_apply(tmp_path, plans, policies) -> None:
    waivers = load_waivers(_waiver_file(tmp_path, stack="dev"), TODAY)
    assert not evaluate(plans["runc"], policies, now=NOW, waivers=waivers).allowed


def test_waiver_for_a_rule_that_does_not_exist_is_bad_input(tmp_path, plans, policies) -> None:
    """The attacker's (or the tired approver's) case: a typo in the rule id waives nothing, yet the file reads
    as an approved exception. It must fail closed with one line naming the file and the entry, not pass with a
    note that it "matches no finding"."""
    path = _waiver_file(tmp_path, rule="FIX-CC-01")
    waivers = load_waivers(path, TODAY)
    decision = evaluate(plans["runc"], policies, now=NOW)
    with pytest.raises(InputError) as caught:
        apply_waivers(decision.findings, waivers, "runc", TODAY, rules=policies.rules_metadata())
    message = str(caught.value)
    assert message == (
        f"{path}: waivers[0].rule: waiver WVR-1 names rule FIX-CC-01, which does not exist in the policy set; "
        "did you mean FIX-CC-001?"
    )
    assert "\n" not in message
    assert all(f.status is Status.OPEN for f in decision.findings)  # nothing was waived on the way


def test_waiver_for_a_missing_rule_fails_whatever_stack_it_names(tmp_path, policies) -> None:
    """The file is wrong, not this stack's view of it: a waiver for another stack is checked too."""
    waivers = load_waivers(_waiver_file(tmp_path, rule="PHI-NOPE-001", stack="prod"), TODAY)
    with pytest.raises(InputError, match=r"waivers\[0\]\.rule: waiver WVR-1 names rule PHI-NOPE-001, which does not"):
        check_rules_exist(waivers, policies.rules_metadata())
    check_rules_exist(load_waivers(_waiver_file(tmp_path), TODAY), policies.rules_metadata())  # an existing rule


def test_waiver_matching_no_finding_of_an_existing_rule_is_still_a_note(tmp_path, plans, policies) -> None:
    waivers = load_waivers(_waiver_file(tmp_path, resource="*nothing-here"), TODAY)
    decision = evaluate(plans["runc"], policies, now=NOW)
    outcome = apply_waivers(
        decision.findings, waivers, "runc", TODAY, rules=policies.rules_metadata(), approvers=load_approvers(policies)
    )
    assert outcome.notes == ["waiver WVR-1 (FIX-CC-001) matches no finding in stack 'runc'"]


def test_gate_refuses_a_waiver_for_a_rule_that_does_not_exist(tmp_path, plans, policies) -> None:
    waivers = load_waivers(_waiver_file(tmp_path, rule="FIX-CC-01"), TODAY)
    with pytest.raises(InputError, match="names rule FIX-CC-01, which does not exist"):
        evaluate(plans["runc"], policies, now=NOW, waivers=waivers)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"expires": "2027-06-01"}, r"waivers\[0\]\.expires: 2027-06-01 is more than 90 days"),
        ({"approver": ""}, r"waivers\[0\]\.approver"),
        ({"rule": "not an id"}, r"waivers\[0\]\.rule"),
        ({"expires": "someday"}, r"waivers\[0\]\.expires"),
    ],
)
def test_malformed_waiver_is_bad_input(tmp_path, overrides, message) -> None:
    with pytest.raises(InputError, match=message):
        load_waivers(_waiver_file(tmp_path, signed=False, **overrides), TODAY)


def test_waiver_missing_a_field_is_bad_input(tmp_path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(
        "waivers:\n  - id: W\n    rule: FIX-CC-001\n    stack: runc\n    resource: '*'\n    expires: 2027-01-01\n"
    )
    with pytest.raises(InputError, match=r"waivers\[0\]\.justification: Field required"):
        load_waivers(path, TODAY)


def test_finding_without_metadata_is_a_policy_error(tmp_path, plans) -> None:
    root = tmp_path / "policies"
    shutil.copytree(STARTER_POLICIES, root)
    rule = root / "rules" / "ns" / "fix_ns_001.rego"
    rule.write_text(rule.read_text().replace('{"id": "FIX-NS-001"', '{"id": "FIX-NS-999"'))
    broken_plan = {**plans["dev"]}
    broken_plan["resources"] = [
        {**r, "inputs": {**r["inputs"], "metadata": {"name": "x"}}} if r["name"] == "box-ns" else r
        for r in plans["dev"]["resources"]
    ]
    with pytest.raises(PolicyError, match="FIX-NS-999 has no rule METADATA"):
        evaluate(broken_plan, load_policy_set(root), now=NOW)


def test_missing_entrypoint_is_a_policy_error(tmp_path, plans) -> None:
    root = tmp_path / "policies"
    shutil.copytree(STARTER_POLICIES, root)
    (root / "main.rego").unlink()
    with pytest.raises(PolicyError, match=r"data\.phistack\.main\.result is undefined"):
        evaluate(plans["dev"], load_policy_set(root), now=NOW)
