"""Markdown for pull-request comments: verdict, a findings table, waivers, digests."""

from __future__ import annotations

from phistack.findings import Decision, Enforcement, Status
from phistack.report import ReportContext
from phistack.report.common import citation_text, resource_label


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(decision: Decision, context: ReportContext) -> str:
    counts = decision.counts()
    mark = "✅" if decision.allowed else "❌"
    lines = [
        f"### {mark} phistack gate: `{decision.stack}` is **{decision.verdict}**",
        "",
        f"{counts['blocking']} blocking · {counts['advisory']} advisory · {counts['waived']} waived — "
        f"engine `{decision.engine}`, source `{context.artifact}`",
        "",
    ]
    if decision.findings:
        lines += [
            "| Rule | Severity | Enforcement | Resource | Message | HIPAA | Status |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in decision.findings:
            enforcement = "mandatory" if f.enforcement is Enforcement.MANDATORY else "advisory"
            status = f.status.value
            if f.waiver is not None:
                status += f" ({f.waiver['id']}, {f.waiver['approver']}, expires {f.waiver['expires']})"
            lines.append(
                "| "
                + " | ".join(
                    _cell(cell)
                    for cell in (
                        f.id,
                        f.severity,
                        enforcement,
                        f"`{resource_label(f.urn)}`",
                        f.message,
                        citation_text(f),
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
