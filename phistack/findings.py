"""Findings and the decision: what the gate reports, independent of the output format."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Enforcement(StrEnum):
    MANDATORY = "mandatory"  # from a rule's `deny`: blocks the deployment
    ADVISORY = "advisory"  # from a rule's `warn`: reported, never blocks


class Status(StrEnum):
    OPEN = "open"
    WAIVED = "waived"
    WAIVER_EXPIRED = "waiver-expired"


SEVERITIES = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class Citation:
    cfr: str
    title: str = ""
    type: str = ""  # "required" or "addressable" (HIPAA implementation specifications)


@dataclass
class Finding:
    id: str
    title: str
    severity: str
    enforcement: Enforcement
    urn: str
    message: str
    citations: list[Citation] = field(default_factory=list)
    remediation: str = ""
    unknown: list[str] = field(default_factory=list)
    status: Status = Status.OPEN
    waiver: dict[str, Any] | None = None

    @property
    def blocks(self) -> bool:
        return self.enforcement is Enforcement.MANDATORY and self.status is not Status.WAIVED

    def sort_key(self) -> tuple[int, str, str, str]:
        return (SEVERITIES.index(self.severity), self.id, self.urn, self.message)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["enforcement"] = self.enforcement.value
        data["status"] = self.status.value
        return data


@dataclass
class Decision:
    """The outcome of one gate run and everything needed to trace it."""

    stack: str
    findings: list[Finding]
    plan_digest: str
    policy_digest: str
    engine: str
    evaluated_at: str
    rules: dict[str, dict[str, Any]]
    waiver_notes: list[str] = field(default_factory=list)
    waivers_applied: list[dict[str, Any]] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not any(finding.blocks for finding in self.findings)

    @property
    def verdict(self) -> str:
        return "allowed" if self.allowed else "denied"

    def counts(self) -> dict[str, int]:
        return {
            "mandatory": sum(1 for f in self.findings if f.enforcement is Enforcement.MANDATORY),
            "advisory": sum(1 for f in self.findings if f.enforcement is Enforcement.ADVISORY),
            "blocking": sum(1 for f in self.findings if f.blocks),
            "waived": sum(1 for f in self.findings if f.status is Status.WAIVED),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": "phistack.decision/v1",
            "stack": self.stack,
            "decision": self.verdict,
            "evaluated_at": self.evaluated_at,
            "engine": self.engine,
            "plan_digest": self.plan_digest,
            "policy_digest": self.policy_digest,
            "counts": self.counts(),
            "findings": [finding.to_json() for finding in self.findings],
            "waivers_applied": list(self.waivers_applied),
            "waiver_notes": list(self.waiver_notes),
        }
