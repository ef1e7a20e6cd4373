"""JUnit XML for CI systems: one test case per rule; blocking findings are failures."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from phistack.findings import Decision, Enforcement, Finding, Status
from phistack.report import ReportContext
from phistack.report.common import citation_text, resource_label


def _describe(finding: Finding) -> str:
    line = f"{resource_label(finding.urn)}: {finding.message}"
    if finding.citations:
        line += f" [{citation_text(finding)}]"
    if finding.waiver is not None:
        line += f" ({finding.status.value}: waiver {finding.waiver['id']}, expires {finding.waiver['expires']})"
    return line


def render(decision: Decision, context: ReportContext) -> str:
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in decision.findings:
        by_rule[finding.id].append(finding)
    suite = ET.Element(
        "testsuite",
        name=f"phistack.{decision.stack}",
        tests=str(len(decision.rules)),
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
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    properties = ET.Element("properties")
    for name, value in (
        ("decision", decision.verdict),
        ("plan_digest", decision.plan_digest),
        ("policy_digest", decision.policy_digest),
        ("engine", decision.engine),
        ("artifact", context.artifact),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    suite.insert(0, properties)
    root = ET.Element("testsuites", name="phistack", tests=suite.get("tests", "0"), failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
