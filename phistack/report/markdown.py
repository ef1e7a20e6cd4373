"""Markdown for pull-request comments: verdict, what was in scope, a findings table (with each rule's remediation),
waivers, digests."""

from __future__ import annotations

import re

from phistack.findings import Coverage, Decision, Enforcement, Status
from phistack.report import ReportContext
from phistack.report.common import citation_text, coverage_sentence, refusal_text, resource_label, type_text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """An inline code span that no backtick in ``text`` can close early (CommonMark: a longer fence)."""
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if "`" in text else f"`{text}`"


def coverage_markdown(coverage: Coverage) -> list[str]:
    """A sentence on what the rules understood, and the types they did not (a list); the evidence pack's
    Markdown page uses it too."""
    sentence = coverage_sentence(coverage)
    lines = [f"> ⚠️ **{sentence}**" if coverage.nothing_in_scope else sentence, ""]
    if not coverage.complete:
        lines.append("Resource types no rule understands:")
        lines.append("")
        for t in coverage.unknown_types:
            n = coverage.count_of(t)
            lines.append(f"- {_code(type_text(t))} — {n} resource{'s' if n != 1 else ''}")
        lines.append("")
    return lines


def render(decision: Decision, context: ReportContext) -> str:
    counts = decision.counts()
    mark = "❌" if not decision.allowed else "⚠️" if decision.coverage.nothing_in_scope else "✅"
    title = f"### {mark} phistack gate: `{decision.stack}` is **{decision.verdict}**"
    if decision.coverage.nothing_in_scope:
        title += " — nothing in scope"
    lines = [
        title,
        "",
        f"{counts['blocking']} blocking · {counts['advisory']} advisory · {counts['waived']} waived — "
        f"engine `{decision.engine}`, source `{context.artifact}`",
        "",
        *coverage_markdown(decision.coverage),
    ]
    if decision.findings:
        lines += [
            "| Rule | Severity | Enforcement | Resource | Message | HIPAA | Remediation | Status |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for f in decision.findings:
            enforcement = "mandatory" if f.enforcement is Enforcement.MANDATORY else "advisory"
            status = f.status.value
            if f.status is Status.WAIVER_REFUSED and f.waiver is not None:
                status += f" ({f.waiver['id']} {refusal_text(f.waiver)})"
            elif f.waiver is not None:
                status += (
                    f" ({f.waiver['id']}, {f.waiver['approver']}, key {str(f.waiver.get('key_id'))[:19]}…, "
                    f"expires {f.waiver['expires']})"
                )
            lines.append(
                "| "
                + " | ".join(
                    _cell(cell)
                    for cell in (
                        f.id,
                        f.severity,
                        enforcement,
                        f"`{resource_label(f.urn)}`",
                        f.detail,  # the id is in the Rule column
                        citation_text(f),
                        f.remediation or "—",
                        status,
                    )
                )
                + " |"
            )
        lines.append("")
    else:
        lines += ["No findings.", ""]
    waived = [f for f in decision.findings if f.status is Status.WAIVED]
    if waived:
        lines.append("<details><summary>Waiver justifications</summary>")
        lines.append("")
        for f in waived:
            assert f.waiver is not None
            lines.append(
                f"- **{f.waiver['id']}** ({f.id}): {f.waiver['justification']} "
                f"Compensating control: {f.waiver['compensating_control']}"
            )
        lines += ["", "</details>", ""]
    for note in decision.waiver_notes:
        lines.append(f"> note: {note}")
    if decision.waiver_notes:
        lines.append("")
    lines.append(f"<sub>plan `{decision.plan_digest}` · policies `{decision.policy_digest}`</sub>")
    return "\n".join(lines) + "\n"
