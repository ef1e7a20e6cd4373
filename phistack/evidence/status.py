"""Derive each control's status for one stack from the gate's decision and the plan.

For a control that applies and has rules behind it:

- **not met** — a mandatory finding of one of its rules is open, undecidable (unknown at plan time) or
  its waiver has expired;
- **waived** — every mandatory finding is covered by an active waiver;
- **met** — a *mandatory* rule behind it passed, and the plan holds a resource the control is about, of a type
  the rules judge. Advisory findings are listed; they neither fail a control nor make one applicable or met.

A control is **not applicable** when the stack is out of HIPAA scope (it declares only de-identified or
no data) or declares none of the resources the control is about — and none of its rules raised a mandatory
finding. A control is **not assessed** when nothing proved it: no rule in the policy set backs it, only advisory
rules do, no resource of the plan is of a type any rule judges (nothing in scope), or a control that always
applies has none of its resources in the plan. Not assessed is never "met".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from phistack.evidence.catalogue import Catalogue, Control, RuleMapping, Section, normalize_cfr, rule_citations
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


def rule_enforcement(meta: Mapping[str, Any], findings: list[Finding]) -> Enforcement:
    """A rule's enforcement as its METADATA declares it (``custom.enforcement``). Undeclared, a rule that raised
    only advisory findings here is advisory; otherwise it is mandatory, the default docs/POLICIES.md shows."""
    declared = (meta.get("custom") or {}).get("enforcement")
    if declared in (Enforcement.MANDATORY.value, Enforcement.ADVISORY.value):
        return Enforcement(declared)
    if findings and all(f.enforcement is Enforcement.ADVISORY for f in findings):
        return Enforcement.ADVISORY
    return Enforcement.MANDATORY


@dataclass(frozen=True)
class RuleOutcome:
    """One rule behind a control and what it found on this stack."""

    id: str
    title: str
    citations: list[dict[str, str]]
    findings: list[Finding]
    enforcement: Enforcement = Enforcement.MANDATORY

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
    # The catalogue's section headings (normalised section -> Section), which name every section shown.
    sections: Mapping[str, Section] = field(default_factory=dict)

    @property
    def findings(self) -> list[Finding]:
        return [f for rule in self.rules for f in rule.findings]

    @property
    def citations(self) -> list[dict[str, str]]:
        """The control's own CFR sections, titled by the catalogue (else by the rules that cite them). A control
        defined by rule prefix alone (no sections of its own) shows what its rules cite. A rule's citations of
        other controls' sections stay with the rule, so the column reads as the regulation this control answers."""
        cited: dict[str, dict[str, str]] = {}
        for rule in self.rules:
            for citation in rule.citations:
                cited.setdefault(normalize_cfr(citation["cfr"]), citation)
        if not self.control.cfr:
            shown = sorted(cited.values(), key=lambda c: normalize_cfr(c["cfr"]))
        else:
            shown = []
            for section in map(normalize_cfr, self.control.cfr):
                matching = [c for key, c in cited.items() if key == section or key.startswith(section + "(")]
                shown.extend(matching or [{"cfr": f"45 CFR {section}", "title": "", "type": ""}])
        return [self._titled(c) for c in {normalize_cfr(c["cfr"]): c for c in shown}.values()]

    def _titled(self, citation: dict[str, str]) -> dict[str, str]:
        """One wording per section on every page: the catalogue's; a rule's own only where the catalogue has none."""
        section = self.sections.get(normalize_cfr(citation["cfr"]))
        if section is None:
            return citation
        return {**citation, "title": section.title, "type": section.type or citation.get("type", "")}

    def to_json(self) -> dict[str, Any]:
        return {
            "control": self.control.id,
            "title": self.control.title,
            "status": self.status.value,
            "reason": self.reason,
            "citations": self.citations,
            "rules": [
                {
                    "id": r.id,
                    "title": r.title,
                    "enforcement": r.enforcement.value,
                    "result": r.result,
                    "findings": [f.to_json() for f in r.findings],
                }
                for r in self.rules
            ],
            "resources": [r.urn for r in self.resources],
        }


def _label(resource: dict[str, Any]) -> str:
    kind = str(resource.get("type", "")).split(":")[-1]
    return f"{kind} {resource.get('name', '')}".strip()


def assess_control(
    control: Control,
    rule_ids: list[str],
    decision: Decision,
    plan: dict[str, Any],
    in_scope: bool,
    sections: Mapping[str, Section] | None = None,
) -> ControlResult:
    """The status of one control on one stack (see the module docstring for the rules)."""
    outcomes = []
    for rule_id in rule_ids:
        meta = decision.rules.get(rule_id, {})
        found = [f for f in decision.findings if f.id == rule_id]
        outcomes.append(
            RuleOutcome(
                id=rule_id,
                title=str(meta.get("title", rule_id)),
                citations=rule_citations(meta),
                findings=found,
                enforcement=rule_enforcement(meta, found),
            )
        )
    findings = [f for outcome in outcomes for f in outcome.findings]
    by_urn = {r["urn"]: r for r in plan.get("resources", [])}
    urns = [r["urn"] for r in plan.get("resources", []) if control.covers_type(str(r.get("type", "")))]
    # The resources a passing rule vouches for: the control's own types, of a type some rule judges.
    judged = [urn for urn in urns if str(by_urn[urn].get("type", "")) not in decision.coverage.unknown_types]
    for finding in findings:
        if finding.urn not in urns:
            urns.append(finding.urn)
    resources = [
        ResourceRef(urn, _label(by_urn[urn]) if urn in by_urn else urn.split("::")[-1]) for urn in dict.fromkeys(urns)
    ]

    def result(status: ControlStatus, reason: str) -> ControlResult:
        return ControlResult(control, status, reason, outcomes, resources, sections or {})

    if not outcomes:
        return result(ControlStatus.NOT_ASSESSED, "no rule in the policy set checks this control")
    mandatory = [f for f in findings if f.enforcement is Enforcement.MANDATORY]
    blocking = [f for f in mandatory if f.blocks]
    if blocking:
        expired = sum(1 for f in blocking if f.status is Status.WAIVER_EXPIRED)
        refused = sum(1 for f in blocking if f.status is Status.WAIVER_REFUSED)
        unknown = sum(1 for f in blocking if f.unknown)
        detail = [f"{len(blocking)} blocking finding{'s' if len(blocking) != 1 else ''}"]
        if unknown:
            detail.append(f"{unknown} undecidable at plan time")
        if expired:
            detail.append(f"{expired} with an expired waiver")
        if refused:
            detail.append(f"{refused} with a refused waiver")
        return result(ControlStatus.NOT_MET, ", ".join(detail))
    if mandatory:
        waivers = sorted({f.waiver["id"] for f in mandatory if f.waiver})
        return result(ControlStatus.WAIVED, f"{len(mandatory)} finding(s) waived by {', '.join(waivers)}")
    # No mandatory finding. Advisory findings never decide a status from here on: only a mandatory rule that
    # passed on a resource the control is about makes it met.
    if decision.coverage.nothing_in_scope:
        # Rules that found nothing in a plan they cannot read show nothing: never "met".
        return result(ControlStatus.NOT_ASSESSED, "no resource in the plan is of a type any rule judges")
    if not in_scope:
        return result(ControlStatus.NOT_APPLICABLE, "the stack declares no PHI, genetic data or medical device")
    if not judged:
        if not control.always_applies:
            return result(ControlStatus.NOT_APPLICABLE, control.not_applicable)
        return result(
            ControlStatus.NOT_ASSESSED,
            "the plan declares none of the resources this control is about: no rule passed on one",
        )
    passed = [o for o in outcomes if o.enforcement is Enforcement.MANDATORY]
    advisory = f"; {len(findings)} advisory finding(s)" if findings else ""
    if not passed:
        return result(
            ControlStatus.NOT_ASSESSED, "only advisory rules check this control, and they never make it met" + advisory
        )
    rules = f"{len(passed)} mandatory rule{'s' if len(passed) != 1 else ''}"
    on = f"{len(judged)} resource{'s' if len(judged) != 1 else ''}"
    return result(ControlStatus.MET, f"{rules} passed on {on}{advisory}")


def assess(
    decision: Decision, plan: dict[str, Any], catalogue: Catalogue, mapping: RuleMapping | None = None
) -> list[ControlResult]:
    """Every reported control's status on this stack, in catalogue order."""
    mapping = mapping or catalogue.map_rules(decision.rules)
    in_scope = decision.scope.phi  # the policy set's scope decision, the one its rules act on
    return [
        assess_control(control, mapping.by_control.get(control.id, []), decision, plan, in_scope, catalogue.sections)
        for control in catalogue.reported([mapping])
    ]
