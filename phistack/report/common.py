"""Small helpers the formatters share."""

from __future__ import annotations

from phistack.findings import Finding


def resource_label(urn: str) -> str:
    """``urn:pulumi:stack::project::a$b:c/v1:Kind::name`` → ``Kind name`` (readable in a table)."""
    parts = urn.split("::")
    if len(parts) < 4:
        return urn
    kind = parts[2].split("$")[-1].split(":")[-1]
    return f"{kind} {'::'.join(parts[3:])}"


def citation_text(finding: Finding) -> str:
    return "; ".join(f"{c.cfr} ({c.type})" if c.type else c.cfr for c in finding.citations)


def status_text(finding: Finding) -> str:
    if finding.waiver is None:
        return finding.status.value
    return f"{finding.status.value} by {finding.waiver['id']} until {finding.waiver['expires']}"
