"""Signed approvals and authorised approvers, unit by unit: approver data, the signature over every field,
key dates, authority per rule, unwaivable rules and scope. End to end through the CLI: tests/e2e/test_waiver_cli.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from phistack.approval import SignatureStatus, WaiverRefused, sign_waiver, verify_approval
from phistack.approvers import Approvers, load_approvers, parse_approvers, unwaivable_rules
from phistack.engine import load_policy_set
from phistack.errors import InputError, PolicyError
from phistack.findings import Enforcement, Finding, Status
from phistack.signing import key_id, load_private_key
from phistack.waivers import Waiver, apply_waivers, load_waivers
from tests.support.paths import REPO
from tests.support.waivers import CISO, CISO_KEY, NETSEC, NETSEC_KEY, RETIRED_KEY, TEST_APPROVERS, sign_waivers

TODAY = dt.date(2026, 6, 1)
APPROVERS = parse_approvers(json.loads(TEST_APPROVERS.read_text()), "test approvers")
RULES: dict[str, dict[str, Any]] = {
    "PHI-ENC-001": {"custom": {}},
    "PHI-TLS-001": {"custom": {}},
    "PHI-BAA-002": {"custom": {"unwaivable": True}},
}
URN = "urn:pulumi:s::p::k8s:StorageClass::notes-class"


def _waiver(**overrides: Any) -> Waiver:
    fields: dict[str, Any] = {
        "id": "W-1",
        "rule": "PHI-ENC-001",
        "stack": "s",
        "resource": "*notes-class",
        "justification": "The key ARN is known after apply.",
        "approver": CISO,
        "compensating_control": "A post-deploy check verifies the key.",
        "expires": dt.date(2026, 6, 30),
        **overrides,
    }
    return Waiver.model_validate(fields)


def _signed(key: Path | Ed25519PrivateKey = CISO_KEY, **overrides: Any) -> Waiver:
    waiver = _waiver(**overrides)
    private = load_private_key(key) if isinstance(key, Path) else key
    return Waiver.model_validate({**waiver.model_dump(), "signature": sign_waiver(waiver, private)})


def _refusal(waiver: Waiver, approvers: Approvers = APPROVERS, today: dt.date = TODAY) -> WaiverRefused:
    with pytest.raises(WaiverRefused) as caught:
        verify_approval(waiver, approvers, unwaivable_rules(RULES), today)
    return caught.value


def _finding(urn: str = URN, rule: str = "PHI-ENC-001") -> Finding:
    return Finding(rule, "t", "high", Enforcement.MANDATORY, urn, f"{rule}: m")


def test_signed_by_an_authorised_approver_is_accepted() -> None:
    approval = verify_approval(_signed(), APPROVERS, unwaivable_rules(RULES), TODAY)
    assert (approval.approver, approval.signature_status) == (CISO, SignatureStatus.VERIFIED)
    assert approval.key_id == key_id(load_private_key(CISO_KEY).public_key())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "W-2"),
        ("rule", "PHI-TLS-001"),
        ("stack", "*"),
        ("resource", "*"),
        ("justification", "Approved in the change board."),
        ("approver", NETSEC),
        ("compensating_control", "None needed."),
        ("expires", dt.date(2026, 8, 29)),
        ("max_resources", 5),
    ],
)
def test_every_field_is_signed(field: str, value: Any) -> None:
    """Change any one field after signing and the signature no longer holds."""
    signed = _signed()
    edited = Waiver.model_validate({**signed.model_dump(), field: value})
    refusal = _refusal(edited)
    assert refusal.signature_status == SignatureStatus.INVALID
    if field == "approver":  # the key is CISO's, not NETSEC's
        assert refusal.reason == f"signed with a key of {CISO}, not of {NETSEC}, the approver it names"
    else:
        assert "edited after signing, or forged" in refusal.reason


def test_unsigned_is_refused() -> None:
    refusal = _refusal(_waiver())
    assert refusal.signature_status == SignatureStatus.UNSIGNED and refusal.key_id is None
    assert refusal.reason.startswith(f"unsigned: {CISO} has not signed it")


def test_a_key_no_approver_holds_is_refused() -> None:
    attacker = Ed25519PrivateKey.generate()
    refusal = _refusal(_signed(attacker))
    assert refusal.reason == (
        f"signed with key {key_id(attacker.public_key())}, which is not a key of an authorised approver"
    )
    self_approved = _refusal(_signed(attacker, approver="attacker@evil.example"))
    assert "not a key of an authorised approver" in self_approved.reason


def test_a_forged_signature_under_a_listed_key_id_is_refused() -> None:
    """Claiming a listed key's id does not help: the signature is checked with that listed key."""
    attacker = Ed25519PrivateKey.generate()
    forged = _signed(attacker)
    assert forged.signature is not None
    claimed = {**forged.signature.model_dump(), "key_id": key_id(load_private_key(CISO_KEY).public_key())}
    refusal = _refusal(Waiver.model_validate({**forged.model_dump(), "signature": claimed}))
    assert "edited after signing, or forged" in refusal.reason


def test_a_key_outside_its_dates_is_refused() -> None:
    refusal = _refusal(_signed(RETIRED_KEY))
    assert refusal.reason.endswith("is valid from 2025-01-01 to 2025-12-31, not on 2026-06-01")
    # and a current key is not valid before its first day either
    early = _refusal(_signed(), today=dt.date(2025, 12, 31))
    assert "is valid from 2026-01-01 to 2031-12-31, not on 2025-12-31" in early.reason


def test_an_approver_not_authorised_for_the_rule_is_refused() -> None:
    refusal = _refusal(_signed(NETSEC_KEY, approver=NETSEC))
    assert refusal.reason == f"{NETSEC} (Network security lead) may waive PHI-TLS-*, FIX-ADV-001, not PHI-ENC-001"
    assert refusal.signature_status == SignatureStatus.VERIFIED
    accepted = verify_approval(
        _signed(NETSEC_KEY, approver=NETSEC, rule="PHI-TLS-001"), APPROVERS, unwaivable_rules(RULES), TODAY
    )
    assert accepted.role == "Network security lead"


def test_an_unwaivable_rule_is_refused_whoever_signs() -> None:
    refusal = _refusal(_signed(rule="PHI-BAA-002"))
    assert refusal.reason.startswith("PHI-BAA-002 is unwaivable: no one may waive it")
    assert refusal.signature_status == SignatureStatus.VERIFIED  # a valid signature changes nothing


def test_no_approvers_means_no_waiver_applies() -> None:
    refusal = _refusal(_signed(), approvers=Approvers())
    assert "the policy set lists no approvers" in refusal.reason


# --- scope and choice between waivers -------------------------------------------------------------------


def test_a_waiver_matching_more_resources_than_it_may_is_refused_entirely() -> None:
    findings = [_finding(URN), _finding(URN.replace("notes-class", "other-notes-class"))]
    outcome = apply_waivers(findings, [_signed(resource="*notes-class")], "s", TODAY, rules=RULES, approvers=APPROVERS)
    assert [f.status for f in findings] == [Status.WAIVER_REFUSED, Status.WAIVER_REFUSED]
    assert outcome.applied == [] and len(outcome.refused) == 1
    assert "matches 2 resources, more than its max_resources 1" in outcome.refused[0]["refusal"]

    findings = [_finding(URN), _finding(URN.replace("notes-class", "other-notes-class"))]
    wider = _signed(resource="*notes-class", max_resources=2)
    outcome = apply_waivers(findings, [wider], "s", TODAY, rules=RULES, approvers=APPROVERS)
    assert [f.status for f in findings] == [Status.WAIVED, Status.WAIVED] and outcome.refused == []


def test_two_findings_on_one_resource_count_once() -> None:
    findings = [_finding(URN), _finding(URN)]
    apply_waivers(findings, [_signed()], "s", TODAY, rules=RULES, approvers=APPROVERS)
    assert [f.status for f in findings] == [Status.WAIVED, Status.WAIVED]


def test_a_valid_waiver_wins_over_a_refused_one_and_the_refusal_is_still_noted() -> None:
    findings = [_finding()]
    unsigned = _waiver(id="W-0", expires=dt.date(2026, 7, 15))
    outcome = apply_waivers(findings, [unsigned, _signed()], "s", TODAY, rules=RULES, approvers=APPROVERS)
    assert findings[0].status is Status.WAIVED and findings[0].waiver is not None
    assert findings[0].waiver["id"] == "W-1" and findings[0].waiver["signature_status"] == "verified"
    assert [w["id"] for w in outcome.applied] == ["W-1"] and [w["id"] for w in outcome.refused] == ["W-0"]
    assert any(n.startswith("waiver W-0 (PHI-ENC-001) refused: unsigned") for n in outcome.notes)


def test_a_refused_waiver_blocks_and_says_why() -> None:
    findings = [_finding()]
    apply_waivers(findings, [_waiver()], "s", TODAY, rules=RULES, approvers=APPROVERS)
    assert findings[0].status is Status.WAIVER_REFUSED and findings[0].blocks
    assert findings[0].waiver is not None and findings[0].waiver["refusal"].startswith("unsigned")


# --- approver data ----------------------------------------------------------------------------------------


def _data(**changes: Any) -> dict[str, Any]:
    data = json.loads(TEST_APPROVERS.read_text())
    data["approvers"][0].update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (_data(may_waive=["*"]), "approvers[0].may_waive: '*' is neither a rule id"),
        (_data(identity=NETSEC), "approvers[1].identity: 'netsec@example-hospital.org' is listed twice"),
        (_data(keys=[]), "approvers[0].keys: List should have at least 1 item"),
        (_data(trusted=True), "approvers[0].trusted: Extra inputs are not permitted"),
        (
            {
                "approvers": [
                    {
                        **_data()["approvers"][0],
                        "keys": [{**_data()["approvers"][0]["keys"][0], "valid_until": "2020-01-01"}],
                    }
                ]
            },
            "approvers[0].keys[0]: valid_until is before valid_from",
        ),
        (
            {
                "approvers": [
                    {**_data()["approvers"][0], "keys": [{**_data()["approvers"][0]["keys"][0], "public_key": "AAAA"}]}
                ]
            },
            "a raw Ed25519 public key is 32 bytes, this is 3",
        ),
    ],
)
def test_malformed_approver_data_is_a_policy_error(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(PolicyError, match=r"^test approvers: ") as caught:
        parse_approvers(data, "test approvers")
    assert fragment in str(caught.value)


def test_a_public_key_may_be_raw_base64() -> None:
    public = load_private_key(CISO_KEY).public_key()
    raw = base64.b64encode(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()
    data = _data()
    data["approvers"][0]["keys"] = [{**data["approvers"][0]["keys"][0], "public_key": raw}]
    approvers = parse_approvers(data, "test approvers")
    verify_approval(_signed(), approvers, frozenset(), TODAY)


def test_approver_scopes_are_rule_ids_or_categories() -> None:
    (ciso, netsec) = APPROVERS.entries
    assert ciso.may_waive_rule("PHI-ENC-001") and netsec.may_waive_rule("PHI-TLS-003")
    assert not netsec.may_waive_rule("PHI-ENC-001") and not netsec.may_waive_rule("PHI-TLSX-001")
    assert netsec.may_waive_rule("FIX-ADV-001") and not netsec.may_waive_rule("FIX-ADV-0011")


# --- the shipped policy set --------------------------------------------------------------------------------


def test_shipped_policy_set_lists_no_approvers_and_marks_baa_and_cc_unwaivable() -> None:
    policies = load_policy_set(REPO / "policies")
    assert load_approvers(policies).entries == ()
    rules = policies.rules_metadata()
    unwaivable = unwaivable_rules(rules)
    expected = {r for r in rules if r.startswith(("PHI-BAA-", "PHI-CC-"))}
    assert expected and unwaivable == expected


def test_a_second_waiver_cannot_borrow_a_valid_waivers_id(tmp_path: Path) -> None:
    """An unsigned, broader waiver under the id of a signed one is bad input, never a waiver by association."""
    good, borrowed = tmp_path / "policies-waivers.yaml", tmp_path / "stack-waivers.yaml"
    entry = (
        "waivers:\n  - id: W-1\n    rule: PHI-ENC-001\n    stack: s\n    resource: '*notes-class'\n"
        "    justification: The key ARN is known after apply.\n    approver: ciso@example-hospital.org\n"
        "    compensating_control: A post-deploy check verifies the key.\n    expires: 2026-06-30\n"
    )
    good.write_text(entry)
    sign_waivers(good)
    borrowed.write_text(entry.replace("'*notes-class'", "'*'"))
    waivers = load_waivers(good, TODAY) + load_waivers(borrowed, TODAY)
    with pytest.raises(InputError, match=r"stack-waivers\.yaml: waivers\[0\]\.id: waiver id 'W-1' is already used by "):
        apply_waivers([_finding()], waivers, "s", TODAY, rules=RULES, approvers=APPROVERS)
