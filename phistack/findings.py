"""Findings and the decision: what the gate reports, independent of the output format."""

from __future__ import annotations

from collections.abc import Mapping
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
    WAIVER_REFUSED = "waiver-refused"  # a waiver matches, but is unsigned, unauthorised, over-broad or unwaivable


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

    @property
    def detail(self) -> str:
        """The message without the leading ``<id>: `` the rules put on it (policies/hipaa/lib/hipaa.rego,
        ``finding``): for tables that show the rule id in a column of its own. ``message`` keeps the id, so a
        line quoted alone (a log, a CrossGuard diagnostic) still names its rule."""
        return self.message.removeprefix(f"{self.id}: ")

    def sort_key(self) -> tuple[int, str, str, str]:
        return (SEVERITIES.index(self.severity), self.id, self.urn, self.message)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["enforcement"] = self.enforcement.value
        data["status"] = self.status.value
        return data


# Types the rules understand only to say they hold no data: the stack itself, provider instances, and
# the key material and random values of the tls and random providers (policies/hipaa/lib/hipaa.rego,
# understood_type). They are counted in scope, as the Rego counts them, but they are not what a
# reader means by "the plan was checked": a plan whose only understood resources are of these types
# has nothing in scope. Only ever narrows the Rego's scope (see Coverage.inert).
INERT_TYPES = ("pulumi:pulumi:Stack",)
INERT_TYPE_PREFIXES = ("pulumi:providers:", "tls:index/", "random:index/")


def holds_no_data(resource_type: str) -> bool:
    """Whether a type is one the rules understand only as inert (see INERT_TYPES)."""
    return resource_type in INERT_TYPES or resource_type.startswith(INERT_TYPE_PREFIXES)


@dataclass(frozen=True)
class Coverage:
    """How much of the plan the rules understand (``data.phistack.main.result.coverage``).

    ``resources``, ``in_scope`` and ``unknown_types`` are the policy set's own numbers; the gate checks
    them against the plan and adds ``unknown_counts`` (resources per unknown type) and ``inert`` (in-scope
    resources of types that hold no data, see :data:`INERT_TYPES`).
    """

    resources: int
    in_scope: int
    unknown_types: tuple[str, ...]
    unknown_counts: Mapping[str, int] = field(default_factory=dict, hash=False)
    inert: int = 0

    @property
    def out_of_scope(self) -> int:
        """Resources of types no rule understands."""
        return self.resources - self.in_scope

    @property
    def judged(self) -> int:
        """In-scope resources that hold data: what the rules actually judged."""
        return self.in_scope - self.inert

    @property
    def nothing_in_scope(self) -> bool:
        """No resource the rules judge: an allowed decision says nothing about the plan's compliance."""
        return self.judged <= 0

    @property
    def complete(self) -> bool:
        """Every resource is of a type some rule understands."""
        return not self.unknown_types

    def count_of(self, resource_type: str) -> int:
        return self.unknown_counts.get(resource_type, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "resources": self.resources,
            "in_scope": self.in_scope,
            "unknown_types": list(self.unknown_types),
            "unknown_type_counts": {t: self.count_of(t) for t in self.unknown_types},
            "inert": self.inert,
            "nothing_in_scope": self.nothing_in_scope,
        }


@dataclass(frozen=True)
class Scope:
    """The plan's HIPAA scope as the policy set decides it (``data.phistack.main.result.scope``).

    ``phi``: the plan handles PHI or genetic data, a medical-device workload or an unclassified pod workload
    (the ``handles_phi`` the scoped rules test); ``classifications``: the classes it declares, sorted.
    """

    phi: bool
    classifications: tuple[str, ...] = ()


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
    coverage: Coverage
    scope: Scope
    waiver_notes: list[str] = field(default_factory=list)
    waivers_applied: list[dict[str, Any]] = field(default_factory=list)
    waivers_refused: list[dict[str, Any]] = field(default_factory=list)

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
            "coverage": self.coverage.to_json(),
            "findings": [finding.to_json() for finding in self.findings],
            "waivers_applied": list(self.waivers_applied),
            "waivers_refused": list(self.waivers_refused),
            "waiver_notes": list(self.waiver_notes),
        }
