"""Small helpers the formatters share."""

from __future__ import annotations

import json
from typing import Any

from phistack.findings import Coverage, Finding, Status


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
    if finding.status is Status.WAIVER_REFUSED:
        return f"{finding.status.value}: {finding.waiver['id']} {refusal_text(finding.waiver)}"
    return f"{finding.status.value} by {finding.waiver['id']} until {finding.waiver['expires']}"


def refusal_text(waiver: dict[str, Any]) -> str:
    """Why a waiver waives nothing, as every format words it: ``refused: <reason>``."""
    return f"refused: {waiver.get('refusal', 'not verified')}"


def approval_text(waiver: dict[str, Any]) -> str:
    """Who approved an applied waiver and with which key: ``approved by X (role; key sha256:…, verified)``."""
    key = str(waiver.get("key_id") or "no key")
    role = waiver.get("approver_role")
    who = f"{waiver['approver']} ({role}; " if role else f"{waiver['approver']} ("
    return f"approved by {who}key {key[:19]}…, signature {waiver.get('signature_status', 'unverified')})"


# --- coverage: how much of the plan the rules understand (one wording for every format) ------------

COVERAGE_ID = "PHISTACK-COVERAGE"


def _resources(n: int) -> str:
    return f"{n} resource{'s' if n != 1 else ''}"


def type_text(resource_type: str) -> str:
    """A type token as the plan wrote it, or JSON-quoted when it holds a line break or another control
    character: a plan must not be able to write its own lines into a report."""
    return resource_type if resource_type.isprintable() else json.dumps(resource_type)


def unknown_types_text(coverage: Coverage) -> str:
    """``aws:ec2/instance:Instance (1), aws:s3/bucketV2:BucketV2 (2)``: each type no rule understands, with
    how many resources of the plan are of it."""
    return ", ".join(f"{type_text(t)} ({coverage.count_of(t)})" for t in coverage.unknown_types)


def coverage_headline(coverage: Coverage) -> str:
    """The statement every report makes about scope, without the list of types."""
    if coverage.nothing_in_scope:
        if coverage.resources == 0:
            what = "the plan has no resources"
        elif coverage.resources == 1:
            what = "its one resource is not of a type any rule judges"
        else:
            what = f"none of the {coverage.resources} resources is of a type any rule judges"
        if coverage.inert:
            verb = "is" if coverage.inert == 1 else "are"
            what += (
                f" ({coverage.inert} {verb} the stack itself, providers, key material or random values, "
                "which hold no data)"
            )
        return f"NOTHING IN SCOPE: {what} — this decision does not show the plan is compliant"
    counted = f"in scope: {coverage.in_scope} of {_resources(coverage.resources)}"
    return f"{counted} (every type is one the rules understand)" if coverage.complete else counted


def coverage_sentence(coverage: Coverage) -> str:
    """The headline as a sentence (capitalised, full stop), for Markdown and HTML pages."""
    headline = coverage_headline(coverage)
    return headline[0].upper() + headline[1:] + "."


def coverage_statement(coverage: Coverage) -> str:
    """The headline and, when some types are outside every rule, which (one line: SARIF, JUnit, summaries)."""
    if coverage.complete:
        return coverage_headline(coverage)
    return f"{coverage_headline(coverage)}; types no rule understands: {unknown_types_text(coverage)}"


def coverage_summary(coverage: Coverage) -> str:
    """A few words for the one-line stderr summary: empty when every resource is in scope."""
    if coverage.nothing_in_scope:
        return f"NOTHING IN SCOPE: no resource of a type any rule judges ({_resources(coverage.resources)})"
    if coverage.complete:
        return ""
    return f"{coverage.out_of_scope} of {_resources(coverage.resources)} of types no rule understands"
