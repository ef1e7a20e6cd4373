"""Control status derivation: met / not met / waived / not applicable / not assessed, and how rules map to controls
(by id prefix, else by the 45 CFR sections their METADATA cites)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phistack.errors import InputError
from phistack.evidence.catalogue import Catalogue, load_catalogue, normalize_cfr
from phistack.evidence.status import ControlStatus, assess
from phistack.findings import Citation, Coverage, Decision, Enforcement, Finding, Status
from tests.support.scope import scope_of
from tests.test_evidence_plans import PlanBuilder, clinical_plan, deidentified_plan


def _rule(rule_id: str, *cfr: str, title: str = "", enforcement: str = "mandatory") -> dict[str, Any]:
    return {
        "title": title or f"rule {rule_id}",
        "custom": {
            "id": rule_id,
            "severity": "high",
            "enforcement": enforcement,
            "citations": [{"cfr": c, "type": "required"} for c in cfr],
        },
    }


RULES: dict[str, dict[str, Any]] = {
    "PHI-ENC-001": _rule("PHI-ENC-001", "45 CFR 164.312(a)(2)(iv)"),
    "PHI-TLS-001": _rule("PHI-TLS-001", "45 CFR 164.312(e)(1)", "45 CFR 164.312(e)(2)(ii)"),
    # Cites the encryption section too, but its prefix says where it belongs.
    "PHI-CC-001": _rule("PHI-CC-001", "45 CFR 164.312(a)(2)(iv)", "45 CFR 164.312(c)(1)"),
    "PHI-BAA-001": _rule("PHI-BAA-001", "45 CFR 164.308(b)(1)", "45 CFR 164.314(a)(1)"),
    "PHI-LOG-001": _rule("PHI-LOG-001", "45 CFR 164.312(b)"),
    # No known prefix: mapped by citation alone.
    "ORG-RBAC-007": _rule("ORG-RBAC-007", "45 CFR § 164.312(a)(1)"),
    # Maps to nothing: reported as another finding, never silently dropped.
    "ORG-DR-001": _rule("ORG-DR-001", "45 CFR 164.308(a)(7)"),
    # Advisory: reported, never blocks, and never evidence that a control is met.
    "ORG-ADV-001": _rule("ORG-ADV-001", "45 CFR 164.312(a)(2)(iv)", enforcement="advisory"),
    "PHI-LOG-009": _rule("PHI-LOG-009", "45 CFR 164.312(b)", enforcement="advisory"),
}


def _finding(rule_id: str, urn: str, *, advisory: bool = False, unknown: list[str] | None = None) -> Finding:
    return Finding(
        id=rule_id,
        title=RULES[rule_id]["title"],
        severity="high",
        enforcement=Enforcement.ADVISORY if advisory else Enforcement.MANDATORY,
        urn=urn,
        message=f"{rule_id}: something is wrong",
        citations=[Citation(c["cfr"]) for c in RULES[rule_id]["custom"]["citations"]],
        unknown=unknown or [],
    )


def _waive(finding: Finding, *, expired: bool = False) -> Finding:
    finding.status = Status.WAIVER_EXPIRED if expired else Status.WAIVED
    finding.waiver = {
        "id": "WVR-2026-014",
        "rule": finding.id,
        "stack": "*",
        "resource": "*",
        "justification": "Pilot hardware, replaced next month.",
        "approver": "jane.doe@example-hospital.org",
        "compensating_control": "Single-tenant nodes only.",
        "expires": "2026-11-01" if expired else "2026-12-20",
    }
    return finding


def _decision(plan: dict[str, Any], findings: list[Finding], rules: dict[str, Any] | None = None) -> Decision:
    return Decision(
        stack=plan["stack"],
        findings=findings,
        plan_digest="sha256:" + "0" * 64,
        policy_digest="sha256:" + "1" * 64,
        engine="regorus",
        evaluated_at="2026-11-27T12:00:00Z",
        rules=RULES if rules is None else rules,
        coverage=Coverage(len(plan["resources"]), len(plan["resources"]), ()),
        scope=scope_of(plan),  # what the policy set decides for this plan, as the gate would carry it
    )


def _urn(plan: dict[str, Any], type_suffix: str) -> str:
    return next(r["urn"] for r in plan["resources"] if r["type"].endswith(type_suffix))


def _statuses(decision: Decision, plan: dict[str, Any]) -> dict[str, ControlStatus]:
    return {c.control.id: c.status for c in assess(decision, plan, load_catalogue())}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


# --- mapping ----------------------------------------------------------------------------------------


def test_rules_map_by_prefix_first_then_by_citation(catalogue: Catalogue) -> None:
    mapping = catalogue.map_rules(RULES)
    assert mapping.by_control["encryption-at-rest"] == ["ORG-ADV-001", "PHI-ENC-001"]
    assert mapping.by_control["encryption-in-use"] == ["PHI-CC-001"]  # not also at rest or integrity
    assert mapping.by_control["encryption-in-transit"] == ["PHI-TLS-001"]
    assert mapping.by_control["access-control"] == ["ORG-RBAC-007"]
    assert mapping.by_control["baa"] == ["PHI-BAA-001"]
    assert mapping.by_control["audit-logging"] == ["PHI-LOG-001", "PHI-LOG-009"]
    assert mapping.unmapped == ["ORG-DR-001"]


def test_a_rule_without_prefix_lands_under_every_control_it_cites(catalogue: Catalogue) -> None:
    mapping = catalogue.map_rules({"ORG-X-001": _rule("ORG-X-001", "164.312(b)", "45 CFR 164.308(b)(1)")})
    assert mapping.controls_of("ORG-X-001") == ["baa", "audit-logging"]


@pytest.mark.parametrize(
    ("citation", "section", "matches"),
    [
        ("45 CFR 164.312(e)(1)", "164.312(e)(1)", True),
        ("45 CFR § 164.312(e)(1)(i)", "164.312(e)(1)", True),  # a sub-paragraph
        ("45 CFR 164.312(e)(2)(ii)", "164.312(e)(1)", False),  # a sibling paragraph
        ("45 CFR 164.3121", "164.312", False),
        ("164.308(b)(1)", "164.308(b)", True),
    ],
)
def test_cited_sections_match_paragraph_and_sub_paragraphs(citation: str, section: str, matches: bool) -> None:
    catalogue = load_catalogue()
    control = catalogue.controls[0].model_copy(update={"cfr": (section,), "rule_prefixes": ()})
    assert control.cites(citation) is matches
    assert normalize_cfr("45 CFR  § 164.312(a)(1)") == "164.312(a)(1)"


def test_optional_controls_appear_only_when_a_rule_backs_them(catalogue: Catalogue) -> None:
    base = [c.id for c in catalogue.reported([catalogue.map_rules(RULES)])]
    assert "integrity" not in base and "transmission-security" not in base
    with_integrity = catalogue.reported([catalogue.map_rules({**RULES, "PHI-INT-001": _rule("PHI-INT-001")})])
    assert "integrity" in [c.id for c in with_integrity]
    assert base == [
        "encryption-at-rest",
        "encryption-in-transit",
        "encryption-in-use",
        "access-control",
        "baa",
        "audit-logging",
    ]


# --- status -----------------------------------------------------------------------------------------


def test_every_control_met_when_no_rule_finds_anything() -> None:
    plan = clinical_plan()
    assert set(_statuses(_decision(plan, []), plan).values()) == {ControlStatus.MET}


def test_open_mandatory_finding_makes_its_control_not_met() -> None:
    plan = clinical_plan(baa=False)
    decision = _decision(plan, [_finding("PHI-BAA-001", _urn(plan, "ProviderProfile"))])
    results = {c.control.id: c for c in assess(decision, plan, load_catalogue())}
    assert results["baa"].status is ControlStatus.NOT_MET
    assert results["baa"].reason == "1 blocking finding"
    assert [r.result for r in results["baa"].rules] == ["fails"]
    assert results["encryption-at-rest"].status is ControlStatus.MET


def test_unknown_at_plan_time_is_not_met_and_says_so() -> None:
    plan = clinical_plan()
    finding = _finding("PHI-ENC-001", _urn(plan, "StorageClass"), unknown=["parameters.kmsKeyId"])
    result = next(
        c for c in assess(_decision(plan, [finding]), plan, load_catalogue()) if c.control.id == "encryption-at-rest"
    )
    assert result.status is ControlStatus.NOT_MET
    assert "1 undecidable at plan time" in result.reason


def test_waived_finding_makes_its_control_waived() -> None:
    plan = clinical_plan(runtime_class="runc")
    decision = _decision(plan, [_waive(_finding("PHI-CC-001", _urn(plan, "Deployment")))])
    results = {c.control.id: c for c in assess(decision, plan, load_catalogue())}
    assert results["encryption-in-use"].status is ControlStatus.WAIVED
    assert "WVR-2026-014" in results["encryption-in-use"].reason
    assert decision.allowed


def test_expired_waiver_counts_as_not_met() -> None:
    plan = clinical_plan(runtime_class="runc")
    decision = _decision(plan, [_waive(_finding("PHI-CC-001", _urn(plan, "Deployment")), expired=True)])
    result = next(c for c in assess(decision, plan, load_catalogue()) if c.control.id == "encryption-in-use")
    assert result.status is ControlStatus.NOT_MET
    assert "1 with an expired waiver" in result.reason


def test_one_open_finding_outweighs_a_waived_one() -> None:
    plan = clinical_plan(runtime_class="runc")
    deployment = _urn(plan, "Deployment")
    findings = [_waive(_finding("PHI-CC-001", deployment)), _finding("PHI-CC-001", _urn(plan, "RuntimeClass"))]
    assert _statuses(_decision(plan, findings), plan)["encryption-in-use"] is ControlStatus.NOT_MET


def test_advisory_findings_do_not_fail_a_control() -> None:
    plan = clinical_plan()
    decision = _decision(plan, [_finding("PHI-LOG-009", _urn(plan, "DaemonSet"), advisory=True)])
    result = next(c for c in assess(decision, plan, load_catalogue()) if c.control.id == "audit-logging")
    assert result.status is ControlStatus.MET
    assert result.reason == "1 mandatory rule passed on 2 resources; 1 advisory finding(s)"
    assert [(r.id, r.enforcement, r.result) for r in result.rules] == [
        ("PHI-LOG-001", Enforcement.MANDATORY, "passes"),
        ("PHI-LOG-009", Enforcement.ADVISORY, "advisory"),
    ]


def test_an_advisory_finding_never_makes_a_control_met_without_its_resources() -> None:
    """The reviewer's case: a stack with no storage, and an advisory rule citing the encryption-at-rest section
    warns on a workload. Encryption at rest is not applicable, never met."""
    builder = PlanBuilder("no-storage")
    builder.provider()
    builder.cluster()
    builder.workload()
    plan = builder.plan()
    decision = _decision(plan, [_finding("ORG-ADV-001", _urn(plan, "Deployment"), advisory=True)])
    result = next(c for c in assess(decision, plan, load_catalogue()) if c.control.id == "encryption-at-rest")
    assert result.status is ControlStatus.NOT_APPLICABLE
    assert result.reason == "the stack declares no storage"
    assert [r.label for r in result.resources] == ["Deployment sepsis-risk-deployment"]  # still listed


def test_a_control_backed_only_by_advisory_rules_is_not_assessed() -> None:
    plan = clinical_plan()
    rules = {k: v for k, v in RULES.items() if k != "PHI-ENC-001"}
    quiet = _statuses(_decision(plan, [], rules), plan)
    assert quiet["encryption-at-rest"] is ControlStatus.NOT_ASSESSED  # the advisory rule passed: proves nothing
    warned = _decision(plan, [_finding("ORG-ADV-001", _urn(plan, "StorageClass"), advisory=True)], rules)
    result = next(c for c in assess(warned, plan, load_catalogue()) if c.control.id == "encryption-at-rest")
    assert result.status is ControlStatus.NOT_ASSESSED
    assert result.reason == "only advisory rules check this control, and they never make it met; 1 advisory finding(s)"


def test_a_rule_without_declared_enforcement_that_only_warned_is_advisory() -> None:
    plan = clinical_plan()
    undeclared = {"ORG-ADV-001": {"title": "x", "custom": {"id": "ORG-ADV-001", "citations": ["164.312(a)(2)(iv)"]}}}
    decision = _decision(plan, [_finding("ORG-ADV-001", _urn(plan, "StorageClass"), advisory=True)], undeclared)
    result = next(c for c in assess(decision, plan, load_catalogue()) if c.control.id == "encryption-at-rest")
    assert [r.enforcement for r in result.rules] == [Enforcement.ADVISORY]
    assert result.status is ControlStatus.NOT_ASSESSED
    # Undeclared and silent: the documented default, mandatory (as docs/POLICIES.md lists it).
    assert _statuses(_decision(plan, [], undeclared), plan)["encryption-at-rest"] is ControlStatus.MET


def test_a_control_that_always_applies_is_not_met_without_its_resources() -> None:
    builder = PlanBuilder("no-logging")
    builder.provider()
    builder.cluster()
    builder.workload()
    plan = builder.plan()
    result = next(
        c for c in assess(_decision(plan, []), plan, load_catalogue()) if c.control.id == "audit-logging"
    )
    assert result.status is ControlStatus.NOT_ASSESSED
    assert "none of the resources this control is about" in result.reason


def test_resources_of_types_no_rule_judges_are_no_evidence() -> None:
    plan = clinical_plan()
    storage_types = ("EncryptedStorage", "StorageClass", "PersistentVolumeClaim", "PersistentVolume")
    unknown = tuple(sorted({r["type"] for r in plan["resources"] if r["type"].endswith(storage_types)}))
    decision = _decision(plan, [])
    decision.coverage = Coverage(len(plan["resources"]), len(plan["resources"]) - 3, unknown)
    assert _statuses(decision, plan)["encryption-at-rest"] is ControlStatus.NOT_APPLICABLE


def test_control_without_its_resources_is_not_applicable() -> None:
    builder = PlanBuilder("batch-only")
    builder.provider()
    builder.cluster()
    builder.workload()
    plan = builder.plan()
    statuses = _statuses(_decision(plan, []), plan)
    assert statuses["encryption-at-rest"] is ControlStatus.NOT_APPLICABLE  # no storage declared
    assert statuses["encryption-in-transit"] is ControlStatus.NOT_APPLICABLE  # no endpoint declared
    assert statuses["encryption-in-use"] is ControlStatus.MET
    assert statuses["baa"] is ControlStatus.MET  # always applies to a PHI stack


def test_a_finding_makes_a_control_applicable_whatever_the_resources() -> None:
    builder = PlanBuilder("hostpath")
    builder.workload()
    plan = builder.plan()
    decision = _decision(plan, [_finding("PHI-ENC-001", _urn(plan, "Deployment"))])
    result = next(c for c in assess(decision, plan, load_catalogue()) if c.control.id == "encryption-at-rest")
    assert result.status is ControlStatus.NOT_MET
    assert [r.label for r in result.resources] == ["Deployment sepsis-risk-deployment"]


def test_stack_without_phi_is_not_applicable_unless_something_was_found() -> None:
    plan = deidentified_plan()
    statuses = _statuses(_decision(plan, []), plan)
    assert set(statuses.values()) == {ControlStatus.NOT_APPLICABLE}
    found = _decision(plan, [_finding("PHI-CC-001", _urn(plan, "Deployment"))])
    assert _statuses(found, plan)["encryption-in-use"] is ControlStatus.NOT_MET


def test_control_no_rule_checks_is_not_assessed_never_met() -> None:
    plan = clinical_plan()
    rules = {k: v for k, v in RULES.items() if k != "PHI-TLS-001"}
    result = next(
        c for c in assess(_decision(plan, [], rules), plan, load_catalogue()) if c.control.id == "encryption-in-transit"
    )
    assert result.status is ControlStatus.NOT_ASSESSED
    assert result.rules == []
    # The control's own CFR sections stand in for the (absent) rules' citations.
    assert [c["cfr"] for c in result.citations] == ["45 CFR 164.312(e)(2)(ii)"]


def test_hipaa_column_shows_the_controls_own_sections_titled_by_the_catalogue() -> None:
    plan = clinical_plan()
    rules = {**RULES, "PHI-ENC-001": _rule("PHI-ENC-001", "45 CFR 164.312(a)(2)(iv)", "45 CFR 164.310(d)(1)")}
    rules["PHI-ENC-001"]["custom"]["citations"][0]["title"] = "Encrypt stuff"  # a rule's own wording
    results = {c.control.id: c for c in assess(_decision(plan, [], rules), plan, load_catalogue())}
    # 164.310(d)(1) belongs to no control's sections: it stays on the rule, out of the control's column. The
    # heading and type are the regulation's (the catalogue's), whatever a rule's METADATA says.
    assert results["encryption-at-rest"].citations == [
        {"cfr": "45 CFR 164.312(a)(2)(iv)", "title": "Encryption and decryption", "type": "addressable"}
    ]
    # A control defined by prefix alone shows what its rules cite.
    assert [c["cfr"] for c in results["encryption-in-use"].citations] == [
        "45 CFR 164.312(a)(2)(iv)",
        "45 CFR 164.312(c)(1)",
    ]
    # Sections no rule cites are still listed, with their titles: the control answers them.
    assert [(c["cfr"], c["title"]) for c in results["audit-logging"].citations] == [
        ("45 CFR 164.312(b)", "Audit controls"),
        ("45 CFR 164.308(a)(1)(ii)(D)", "Information system activity review"),
        ("45 CFR 164.316(b)(2)", "Documentation: time limit, availability and updates"),
    ]


def test_transmission_security_names_every_section_it_lists() -> None:
    """The reviewer's case: 164.312(e)(2)(i) was listed without a title because no rule under the control
    cites it."""
    plan = clinical_plan()
    rules = {**RULES, "PHI-NET-001": _rule("PHI-NET-001", "45 CFR 164.312(e)(1)")}
    result = next(
        c for c in assess(_decision(plan, [], rules), plan, load_catalogue()) if c.control.id == "transmission-security"
    )
    assert [(c["cfr"], c["title"], c["type"]) for c in result.citations] == [
        ("45 CFR 164.312(e)(1)", "Transmission security", "required"),
        ("45 CFR 164.312(e)(2)(i)", "Integrity controls", "addressable"),
    ]


def test_resources_behind_a_control_are_those_of_its_types() -> None:
    plan = clinical_plan()
    result = next(
        c for c in assess(_decision(plan, []), plan, load_catalogue()) if c.control.id == "encryption-at-rest"
    )
    assert sorted(r.label for r in result.resources) == [
        "EncryptedStorage store",
        "PersistentVolumeClaim store-notes",
        "StorageClass store-class",
    ]


def test_control_json_names_rules_findings_and_resources() -> None:
    plan = clinical_plan(baa=False)
    provider = _urn(plan, "ProviderProfile")
    result = next(
        c
        for c in assess(_decision(plan, [_finding("PHI-BAA-001", provider)]), plan, load_catalogue())
        if c.control.id == "baa"
    )
    document = result.to_json()
    assert document["status"] == "not-met"
    assert document["rules"][0]["id"] == "PHI-BAA-001" and document["rules"][0]["findings"][0]["urn"] == provider
    assert document["resources"] == [provider]
    assert {c["cfr"] for c in document["citations"]} == {"45 CFR 164.308(b)(1)", "45 CFR 164.314(a)(1)"}


# --- the catalogue file -----------------------------------------------------------------------------


def test_shipped_catalogue_covers_the_required_controls(catalogue: Catalogue) -> None:
    ids = {c.id for c in catalogue.controls}
    assert {
        "encryption-at-rest",
        "encryption-in-transit",
        "encryption-in-use",
        "access-control",
        "baa",
        "audit-logging",
    } <= ids
    assert all(c.cfr or c.rule_prefixes for c in catalogue.controls)


def test_malformed_catalogue_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "controls.yaml"
    path.write_text("controls:\n  - id: Bad Id\n    title: x\n")
    with pytest.raises(InputError, match=r"controls\[0\]\.id"):
        load_catalogue(path)
    path.write_text("controls:\n  - {id: a, title: A}\n  - {id: a, title: B}\n")
    with pytest.raises(InputError, match="duplicate control id 'a'"):
        load_catalogue(path)
