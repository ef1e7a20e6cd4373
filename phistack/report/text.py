"""A readable table for terminals: rule id, severity, resource, message, HIPAA citation and how to fix it; then
what was in scope and the verdict."""

from __future__ import annotations

import textwrap

from phistack.findings import Decision, Enforcement, Status
from phistack.report import ReportContext
from phistack.report.common import (
    approval_text,
    citation_text,
    coverage_headline,
    refusal_text,
    resource_label,
    unknown_types_text,
)

_COLUMNS = ("RULE", "SEVERITY", "RESOURCE", "MESSAGE", "HIPAA", "REMEDIATION")
_WIDTHS = (13, 9, 28, 50, 26, 44)


def _row(cells: tuple[str, ...]) -> list[str]:
    wrapped = [
        textwrap.wrap(cell, width, break_on_hyphens=False) or [""] for cell, width in zip(cells, _WIDTHS, strict=True)
    ]
    height = max(len(lines) for lines in wrapped)
    out = []
    for index in range(height):
        parts = [
            (lines[index] if index < len(lines) else "").ljust(width)
            for lines, width in zip(wrapped, _WIDTHS, strict=True)
        ]
        out.append("  ".join(parts).rstrip())
    return out


def render(decision: Decision, context: ReportContext) -> str:
    lines = [f"phistack gate — stack {decision.stack} ({context.artifact})", ""]
    if decision.findings:
        lines.extend(_row(_COLUMNS))
        lines.append("  ".join("-" * width for width in _WIDTHS))
        for finding in decision.findings:
            severity = finding.severity if finding.enforcement is Enforcement.MANDATORY else f"{finding.severity}*"
            message = finding.detail  # the id is in the RULE column
            if finding.status is not Status.OPEN:
                message += f" ({finding.status.value})"
            cells = (finding.id, severity, resource_label(finding.urn), message, citation_text(finding))
            lines.extend(_row((*cells, finding.remediation or "—")))
        lines.append("")
        lines.append("* advisory: reported, never blocks")
        waived = [f for f in decision.findings if f.waiver is not None]
        if waived:
            lines.append("")
            lines.append("Waivers:")
        for finding in waived:
            waiver = finding.waiver or {}
            head = f"  [{finding.status.value}: {waiver['id']}, expires {waiver['expires']}] {finding.id} on "
            if finding.status is Status.WAIVER_REFUSED:
                lines.append(f"{head}{resource_label(finding.urn)}; {refusal_text(waiver)}")
                continue
            lines.append(f"{head}{resource_label(finding.urn)}; {approval_text(waiver)}: {waiver['justification']}")
    else:
        lines.append("no findings")
    for note in decision.waiver_notes:
        lines.append(f"note: {note}")
    lines.append("")
    lines.append(coverage_headline(decision.coverage))
    if not decision.coverage.complete:
        lines.append(f"types no rule understands: {unknown_types_text(decision.coverage)}")
    counts = decision.counts()
    lines.append("")
    lines.append(
        f"{decision.verdict.upper()}: {counts['blocking']} blocking, {counts['advisory']} advisory, "
        f"{counts['waived']} waived — plan {decision.plan_digest[:19]}, policies {decision.policy_digest[:19]}"
    )
    return "\n".join(lines) + "\n"
