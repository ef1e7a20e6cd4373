"""SARIF 2.1.0 for GitHub code scanning: rule metadata, results placed on the line of the stack config that
declares their resource, waived results as suppressions, and what the rules understood (run properties; a tool
execution notification when some types are outside every rule)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from phistack.findings import Decision, Enforcement, Finding, Status
from phistack.report import ReportContext
from phistack.report.common import COVERAGE_ID, approval_text, citation_text, coverage_statement, refusal_text
from phistack.report.locations import Locator, locator_for

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# GitHub maps security-severity to its own levels: >= 9 critical, >= 7 high, >= 4 medium.
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}


def _level(finding: Finding) -> str:
    return "error" if finding.enforcement is Enforcement.MANDATORY else "warning"


def _rule(rule_id: str, meta: dict[str, Any]) -> dict[str, Any]:
    custom = meta.get("custom") or {}
    citations = [c.get("cfr", "") if isinstance(c, dict) else str(c) for c in custom.get("citations") or []]
    related = meta.get("related_resources") or []
    help_uri = next((r.get("ref") for r in related if isinstance(r, dict) and r.get("ref")), None)
    remediation = str(custom.get("remediation", ""))
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.lower().split("-")),
        "shortDescription": {"text": str(meta.get("title", rule_id))},
        "fullDescription": {"text": " ".join(str(meta.get("description", meta.get("title", rule_id))).split())},
        "help": {
            "text": remediation or "See the rule description.",
            "markdown": remediation or "See the rule description.",
        },
        "properties": {
            "tags": ["security", "hipaa", *citations],
            "security-severity": _SECURITY_SEVERITY.get(str(custom.get("severity")), "5.5"),
            "precision": "high",
        },
    }
    if help_uri:
        rule["helpUri"] = help_uri
    return rule


def _result(finding: Finding, rule_index: dict[str, int], artifact: str, locate: Locator) -> dict[str, Any]:
    message = finding.message
    if finding.citations:
        message += f" ({citation_text(finding)})"
    result: dict[str, Any] = {
        "ruleId": finding.id,
        "ruleIndex": rule_index[finding.id],
        "level": _level(finding),
        "kind": "fail",
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact},
                    "region": {"startLine": locate(finding.urn)},
                },
                "logicalLocations": [{"fullyQualifiedName": finding.urn, "kind": "resource"}],
            }
        ],
        "partialFingerprints": {"phistack/v1": hashlib.sha256(f"{finding.id}\0{finding.urn}".encode()).hexdigest()},
        "properties": {
            "severity": finding.severity,
            "enforcement": finding.enforcement.value,
            "status": finding.status.value,
            "unknown": finding.unknown,
        },
    }
    if finding.waiver is not None:
        waiver = finding.waiver
        if finding.status is Status.WAIVER_REFUSED:
            justification = f"Waiver {waiver['id']} {refusal_text(waiver)}. It waives nothing."
            result["properties"]["waiver_refusal"] = waiver.get("refusal", "")
        else:
            justification = (
                f"{waiver['justification']} Compensating control: {waiver['compensating_control']} "
                f"A{approval_text(waiver)[1:]}; waiver {waiver['id']} expires {waiver['expires']}."
            )
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted" if finding.status is Status.WAIVED else "rejected",
                "justification": justification,
            }
        ]
    return result


# The notification descriptor the coverage notification refers to (driver.notifications[0]).
_COVERAGE_DESCRIPTOR = {
    "id": COVERAGE_ID,
    "name": "Coverage",
    "shortDescription": {"text": "Resources of types no rule understands"},
    "fullDescription": {
        "text": "The plan holds resources of types no phistack rule understands: the rules could not judge them, "
        "and when nothing is in scope the decision does not show the plan is compliant."
    },
}


def _invocation(decision: Decision) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": True, "endTimeUtc": decision.evaluated_at}
    coverage = decision.coverage
    if coverage.nothing_in_scope or not coverage.complete:
        invocation["toolExecutionNotifications"] = [
            {
                "descriptor": {"id": COVERAGE_ID, "index": 0},
                "level": "warning" if coverage.nothing_in_scope else "note",
                "message": {"text": coverage_statement(coverage)},
                "properties": coverage.to_json(),
            }
        ]
    return invocation


def render(decision: Decision, context: ReportContext) -> str:
    rule_ids = sorted(decision.rules)
    rule_index = {rule_id: index for index, rule_id in enumerate(rule_ids)}
    locate = locator_for(context.artifact)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "phistack",
                        "version": context.tool_version,
                        "informationUri": "https://github.com/phistack/phistack",
                        "rules": [_rule(rule_id, decision.rules[rule_id]) for rule_id in rule_ids],
                        "notifications": [_COVERAGE_DESCRIPTOR],
                    }
                },
                "automationDetails": {"id": f"phistack/{decision.stack}/"},
                "invocations": [_invocation(decision)],
                "results": [_result(f, rule_index, context.artifact, locate) for f in decision.findings],
                "properties": {
                    "decision": decision.verdict,
                    "stack": decision.stack,
                    "planDigest": decision.plan_digest,
                    "policyDigest": decision.policy_digest,
                    "engine": decision.engine,
                    "coverage": decision.coverage.to_json(),
                    "coverageStatement": coverage_statement(decision.coverage),
                },
            }
        ],
    }
    return json.dumps(log, indent=2, sort_keys=True) + "\n"
