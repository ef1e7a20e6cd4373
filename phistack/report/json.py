"""Machine-readable decision: findings, decision, and the digests of plan and policy set."""

from __future__ import annotations

import json

from phistack.findings import Decision
from phistack.report import ReportContext


def render(decision: Decision, context: ReportContext) -> str:
    document = {**decision.to_json(), "artifact": context.artifact, "tool_version": context.tool_version}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
