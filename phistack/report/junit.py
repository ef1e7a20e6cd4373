"""JUnit XML for CI systems: one test case per rule (blocking findings are failures), and one that reports
what the rules understood (skipped, with the types, when some resources are outside every rule)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from phistack.findings import Decision, Enforcement, Finding, Status
from phistack.report import ReportContext
from phistack.report.common import (
    COVERAGE_ID,
    citation_text,
    coverage_statement,
    refusal_text,
    resource_label,
    unknown_types_text,
)


def _describe(finding: Finding) -> str:
    line = f"{resource_label(finding.urn)}: {finding.message}"
    if finding.citations:
        line += f" [{citation_text(finding)}]"
    if finding.status is Status.WAIVER_REFUSED and finding.waiver is not None:
        line += f" ({finding.status.value}: waiver {finding.waiver['id']} {refusal_text(finding.waiver)})"
    elif finding.waiver is not None:
        line += f" ({finding.status.value}: waiver {finding.waiver['id']}, expires {finding.waiver['expires']})"
    return line


def _coverage_case(suite: ET.Element, decision: Decision) -> int:
    """The test case on scope: passes when every resource is of a type some rule understands, otherwise
    skipped (those resources were judged by no rule) with the statement and the types. Returns skipped."""
    coverage = decision.coverage
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"phistack.{decision.stack}",
        name=f"{COVERAGE_ID} Resource types the rules understand",
    )
    if coverage.complete and not coverage.nothing_in_scope:
        ET.SubElement(case, "system-out").text = coverage_statement(coverage)
        return 0
    skipped = ET.SubElement(case, "skipped", message=coverage_statement(coverage))
    skipped.text = "\n".join(
        [f"{t}: {coverage.count_of(t)} resource(s) no rule understands" for t in coverage.unknown_types]
        or [coverage_statement(coverage)]
    )
    return 1


def render(decision: Decision, context: ReportContext) -> str:
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in decision.findings:
        by_rule[finding.id].append(finding)
    suite = ET.Element(
        "testsuite",
        name=f"phistack.{decision.stack}",
        tests=str(len(decision.rules) + 1),
        timestamp=decision.evaluated_at,
    )
    failures = 0
    for rule_id in sorted(decision.rules):
        meta = decision.rules[rule_id]
        case = ET.SubElement(
            suite, "testcase", classname=f"phistack.{decision.stack}", name=f"{rule_id} {meta.get('title', '')}".strip()
        )
        findings = by_rule.get(rule_id, [])
        blocking = [f for f in findings if f.blocks]
        if blocking:
            failures += 1
            failure = ET.SubElement(
                case, "failure", message=f"{len(blocking)} blocking finding(s)", type=blocking[0].severity
            )
            failure.text = "\n".join(_describe(f) for f in blocking)
        others = [f for f in findings if not f.blocks]
        if others:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(
                ("advisory: " if f.enforcement is Enforcement.ADVISORY and f.status is Status.OPEN else "")
                + _describe(f)
                for f in others
            )
    skipped = _coverage_case(suite, decision)
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    properties = ET.Element("properties")
    for name, value in (
        ("decision", decision.verdict),
        ("plan_digest", decision.plan_digest),
        ("policy_digest", decision.policy_digest),
        ("engine", decision.engine),
        ("artifact", context.artifact),
        ("coverage.resources", str(decision.coverage.resources)),
        ("coverage.in_scope", str(decision.coverage.in_scope)),
        ("coverage.inert", str(decision.coverage.inert)),
        ("coverage.unknown_types", unknown_types_text(decision.coverage)),
        ("coverage.nothing_in_scope", str(decision.coverage.nothing_in_scope).lower()),
        ("coverage", coverage_statement(decision.coverage)),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    suite.insert(0, properties)
    root = ET.Element(
        "testsuites", name="phistack", tests=suite.get("tests", "0"), failures=str(failures), skipped=str(skipped)
    )
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
