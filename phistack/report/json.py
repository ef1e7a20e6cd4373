"""Machine-readable decision: findings, decision, what was in scope, and the digests of plan and policy set."""

from __future__ import annotations

import json

from phistack.findings import Decision
from phistack.report import ReportContext
from phistack.report.common import coverage_statement


def render(decision: Decision, context: ReportContext) -> str:
    document = {**decision.to_json(), "artifact": context.artifact, "tool_version": context.tool_version}
    # The same sentence the other formats print, for bots that relay it.
    document["coverage"] = {**document["coverage"], "statement": coverage_statement(decision.coverage)}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
