"""Derive each control's status for one stack from the gate's decision and the plan.

For a control that applies and has rules behind it:

- **not met** — a mandatory finding of one of its rules is open, undecidable (unknown at plan time) or
  its waiver has expired;
- **waived** — every mandatory finding is covered by an active waiver;
- **met** — none of its rules raised a mandatory finding (advisory findings are listed, they do not fail it).

A control is **not applicable** when the stack is out of HIPAA scope (it declares only de-identified or
no data) or declares none of the resources the control is about — and none of its rules found anything.
A control no rule in the policy set backs is **not assessed**: nothing checked it, so it is never "met"; so is
a control without findings when no resource of the plan is of a type any rule judges (nothing in scope).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from phistack.evidence.catalogue import Catalogue, Control, RuleMapping, normalize_cfr, rule_citations
from phistack.evidence.facts import handles_phi
from phistack.findings import Decision, Enforcement, Finding, Status


class ControlStatus(StrEnum):
    MET = "met"
    NOT_MET = "not-met"
    WAIVED = "waived"
    NOT_APPLICABLE = "not-applicable"
    NOT_ASSESSED = "not-assessed"
    ERROR = "error"  # the stack could not be planned or evaluated (matrix rows only)

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]


_LABELS = {
    ControlStatus.MET: "Met",
    ControlStatus.NOT_MET: "Not met",
    ControlStatus.WAIVED: "Waived",
    ControlStatus.NOT_APPLICABLE: "N/A",
    ControlStatus.NOT_ASSESSED: "Not assessed",
    ControlStatus.ERROR: "Error",
}
# Distinct shapes, so the matrix reads without colour (and in a black-and-white print).
_SYMBOLS = {
    ControlStatus.MET: "✓",
    ControlStatus.NOT_MET: "✗",
    ControlStatus.WAIVED: "◐",
    ControlStatus.NOT_APPLICABLE: "–",
    ControlStatus.NOT_ASSESSED: "?",
    ControlStatus.ERROR: "!",
}


@dataclass(frozen=True)
class RuleOutcome:
    """One rule behind a control and what it found on this stack."""

    id: str
    title: str
    citations: list[dict[str, str]]
    findings: list[Finding]

    @property
    def result(self) -> str:
        mandatory = [f for f in self.findings if f.enforcement is Enforcement.MANDATORY]
        if any(f.blocks for f in mandatory):
            return "fails"
        if mandatory:
            return "waived"
        if self.findings:
            return "advisory"
        return "passes"


@dataclass(frozen=True)
class ResourceRef:
    urn: str
    label: str


@dataclass(frozen=True)
class ControlResult:
    control: Control
    status: ControlStatus
    reason: str
    rules: list[RuleOutcome] = field(default_factory=list)
    resources: list[ResourceRef] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for rule in self.rules for f in rule.findings]

    @property
    def citations(self) -> list[dict[str, str]]:
        """The control's own CFR sections, titled from the rules that cite them. A control defined by rule
        prefix alone (no sections of its own) shows what its rules cite. A rule's citations of other
        controls' sections stay with the rule, so the column reads as the regulation this control answers."""
        cited: dict[str, dict[str, str]] = {}
        for rule in self.rules:
            for citation in rule.citations:
                cited.setdefault(normalize_cfr(citation["cfr"]), citation)
        if not self.control.cfr:
            return sorted(cited.values(), key=lambda c: normalize_cfr(c["cfr"]))
        out: list[dict[str, str]] = []
        for section in map(normalize_cfr, self.control.cfr):
            matching = [c for key, c in cited.items() if key == section or key.startswith(section + "(")]
            out.extend(matching or [{"cfr": f"45 CFR {section}", "title": "", "type": ""}])
        return list({normalize_cfr(c["cfr"]): c for c in out}.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "control": self.control.id,
            "title": self.control.title,
            "status": self.status.value,
            "reason": self.reason,
            "citations": self.citations,
            "rules": [
                {"id": r.id, "title": r.title, "result": r.result, "findings": [f.to_json() for f in r.findings]}
                for r in self.rules
            ],
            "resources": [r.urn for r in self.resources],
        }


def _label(resource: dict[str, Any]) -> str:
    kind = str(resource.get("type", "")).split(":")[-1]
    return f"{kind} {resource.get('name', '')}".strip()


def assess_control(
    control: Control, rule_ids: list[str], decision: Decision, plan: dict[str, Any], in_scope: bool
) -> ControlResult:
    """The status of one control on one stack (see the module docstring for the rules)."""
    outcomes = [
        RuleOutcome(
            id=rule_id,
            title=str(decision.rules.get(rule_id, {}).get("title", rule_id)),
            citations=rule_citations(decision.rules.get(rule_id, {})),
            findings=[f for f in decision.findings if f.id == rule_id],
        )
        for rule_id in rule_ids
    ]
    findings = [f for outcome in outcomes for f in outcome.findings]
    by_urn = {r["urn"]: r for r in plan.get("resources", [])}
    urns = [r["urn"] for r in plan.get("resources", []) if control.covers_type(str(r.get("type", "")))]
    for finding in findings:
        if finding.urn not in urns:
            urns.append(finding.urn)
    resources = [
        ResourceRef(urn, _label(by_urn[urn]) if urn in by_urn else urn.split("::")[-1]) for urn in dict.fromkeys(urns)
    ]

    def result(status: ControlStatus, reason: str) -> ControlResult:
        return ControlResult(control, status, reason, outcomes, resources)

    if not outcomes:
        return result(ControlStatus.NOT_ASSESSED, "no rule in the policy set checks this control")
    mandatory = [f for f in findings if f.enforcement is Enforcement.MANDATORY]
    blocking = [f for f in mandatory if f.blocks]
    if blocking:
        expired = sum(1 for f in blocking if f.status is Status.WAIVER_EXPIRED)
        unknown = sum(1 for f in blocking if f.unknown)
        detail = [f"{len(blocking)} blocking finding{'s' if len(blocking) != 1 else ''}"]
        if unknown:
            detail.append(f"{unknown} undecidable at plan time")
        if expired:
            detail.append(f"{expired} with an expired waiver")
        return result(ControlStatus.NOT_MET, ", ".join(detail))
    if mandatory:
        waivers = sorted({f.waiver["id"] for f in mandatory if f.waiver})
        return result(ControlStatus.WAIVED, f"{len(mandatory)} finding(s) waived by {', '.join(waivers)}")
    if not findings:
        if decision.coverage.nothing_in_scope:
            # Rules that found nothing in a plan they cannot read show nothing: never "met".
            return result(ControlStatus.NOT_ASSESSED, "no resource in the plan is of a type any rule judges")
        if not in_scope:
            return result(ControlStatus.NOT_APPLICABLE, "the stack declares no PHI, genetic data or medical device")
        if not control.always_applies and not any(control.covers_type(str(r.get("type", ""))) for r in by_urn.values()):
            return result(ControlStatus.NOT_APPLICABLE, control.not_applicable)
    advisory = len(findings)
    checked = f"{len(outcomes)} rule{'s' if len(outcomes) != 1 else ''} passed"
    return result(ControlStatus.MET, checked + (f"; {advisory} advisory finding(s)" if advisory else ""))


def assess(
    decision: Decision, plan: dict[str, Any], catalogue: Catalogue, mapping: RuleMapping | None = None
) -> list[ControlResult]:
    """Every reported control's status on this stack, in catalogue order."""
    mapping = mapping or catalogue.map_rules(decision.rules)
    in_scope = handles_phi(plan)
    return [
        assess_control(control, mapping.by_control.get(control.id, []), decision, plan, in_scope)
        for control in catalogue.reported([mapping])
    ]
