"""What an evidence pack holds: one stack's evidence, and one row of the all-stacks matrix."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from phistack.evidence.catalogue import Control
from phistack.evidence.cloud import CloudInfrastructure
from phistack.evidence.cost import GpuCost
from phistack.evidence.facts import Provider, Workload
from phistack.evidence.status import ControlResult, ControlStatus
from phistack.findings import Decision, Finding
from phistack.report.common import coverage_statement
from phistack.waivers import EXPIRY_WARNING_DAYS


@dataclass(frozen=True)
class WaiverEntry:
    """A waiver the decision applied or refused, with the findings it covers and where it stands."""

    id: str
    rule: str
    resource: str
    justification: str
    approver: str
    compensating_control: str
    expires: str
    state: str  # active | expiring | expired | refused
    findings: list[Finding]
    key_id: str = ""
    approver_role: str = ""
    signature_status: str = ""  # verified | unsigned | invalid (phistack.approval.SignatureStatus)
    refusal: str = ""  # why a refused waiver waives nothing


@dataclass(frozen=True)
class DatasetEvidence:
    """A de-identified dataset the stack names and what phistack found when it verified its manifest."""

    name: str
    manifest: str
    valid: bool
    reason: str
    method: str
    signer: str
    signer_name: str
    dataset_digest: str
    counts: dict[str, Any]
    workloads: list[str]

    @classmethod
    def from_fact(cls, name: str, fact: Mapping[str, Any], workloads: list[str]) -> DatasetEvidence:
        """From one entry of ``input.deid`` (phistack/deid/facts.py)."""
        return cls(
            name=name,
            manifest=str(fact.get("manifest", "")),
            valid=fact.get("valid") is True,
            reason=str(fact.get("reason", "")),
            method=str(fact.get("method", "")),
            signer=str(fact.get("signer", "")),
            signer_name=str(fact.get("signer_name", "")),
            dataset_digest=str(fact.get("dataset_digest", "")),
            counts=dict(fact.get("counts") or {}),
            workloads=workloads,
        )

    def to_json(self) -> dict[str, Any]:
        return {**vars(self), "counts": dict(self.counts), "workloads": list(self.workloads)}


@dataclass
class StackEvidence:
    """Everything the stack page shows, computed once and rendered to HTML, Markdown and JSON."""

    stack: str
    project: str
    artifact: str
    plan: dict[str, Any]
    decision: Decision
    controls: list[ControlResult]
    other_findings: list[Finding]
    providers: list[Provider]
    workloads: list[Workload]
    cost: GpuCost
    in_scope: bool
    generated_at: str
    datasets: list[DatasetEvidence] = field(default_factory=list)
    """The stack's de-identified datasets with their manifest verification (the gate's input.deid)."""
    cloud: list[CloudInfrastructure] = field(default_factory=list)
    """The cloud pools a gke or aks backend provisions, their keys and the BAA that covers them."""

    @property
    def waivers(self) -> list[WaiverEntry]:
        today = dt.date.fromisoformat(self.decision.evaluated_at[:10])
        entries = []
        for waiver in [*self.decision.waivers_applied, *self.decision.waivers_refused]:
            expires = dt.date.fromisoformat(str(waiver["expires"]))
            if waiver.get("refusal"):
                state = "refused"
            elif expires < today:
                state = "expired"
            elif expires <= today + dt.timedelta(days=EXPIRY_WARNING_DAYS):
                state = "expiring"
            else:
                state = "active"
            covered = [f for f in self.decision.findings if f.waiver and f.waiver.get("id") == waiver["id"]]
            entries.append(
                WaiverEntry(
                    id=str(waiver["id"]),
                    rule=str(waiver["rule"]),
                    resource=str(waiver["resource"]),
                    justification=str(waiver["justification"]),
                    approver=str(waiver["approver"]),
                    compensating_control=str(waiver["compensating_control"]),
                    expires=expires.isoformat(),
                    state=state,
                    findings=covered,
                    key_id=str(waiver.get("key_id") or ""),
                    approver_role=str(waiver.get("approver_role") or ""),
                    signature_status=str(waiver.get("signature_status") or ""),
                    refusal=str(waiver.get("refusal") or ""),
                )
            )
        return entries

    @property
    def samd_workloads(self) -> list[Workload]:
        return [w for w in self.workloads if w.samd]

    def tally(self) -> dict[str, int]:
        counts = {status.value: 0 for status in ControlStatus}
        for result in self.controls:
            counts[result.status.value] += 1
        return counts

    def row(self) -> MatrixRow:
        return MatrixRow(
            stack=self.stack,
            verdict=self.decision.verdict,
            statuses={c.control.id: c.status for c in self.controls},
            reasons={c.control.id: c.reason for c in self.controls},
            gpus=self.cost.total_gpus,
            monthly=self.cost.monthly,
            currency=self.cost.estimate.currency,
            nothing_in_scope=self.decision.coverage.nothing_in_scope,
        )

    def to_json(self) -> dict[str, Any]:
        """The machine-readable twin of the page (``evidence.json``)."""
        return {
            "schema_version": "phistack.evidence/v1",
            "stack": self.stack,
            "project": self.project,
            "generated_at": self.generated_at,
            "decision": self.decision.verdict,
            "plan_digest": self.decision.plan_digest,
            "policy_digest": self.decision.policy_digest,
            "in_hipaa_scope": self.in_scope,
            "coverage": {**self.decision.coverage.to_json(), "statement": coverage_statement(self.decision.coverage)},
            "controls": [c.to_json() for c in self.controls],
            "other_findings": [f.to_json() for f in self.other_findings],
            "waivers": [
                {
                    "id": w.id,
                    "rule": w.rule,
                    "resource": w.resource,
                    "approver": w.approver,
                    "expires": w.expires,
                    "state": w.state,
                    "key_id": w.key_id,
                    "approver_role": w.approver_role,
                    "signature_status": w.signature_status,
                    "refusal": w.refusal,
                    "justification": w.justification,
                    "compensating_control": w.compensating_control,
                    "findings": [f.urn for f in w.findings],
                }
                for w in self.waivers
            ],
            "datasets": [d.to_json() for d in self.datasets],
            "providers": [vars(p) for p in self.providers],
            "cloud_infrastructure": [vars(c) for c in self.cloud],
            "gpu_cost": self.cost.to_json(),
            "workloads": [
                {
                    "urn": w.urn,
                    "name": w.name,
                    "data_classification": w.data_classification,
                    "samd": w.samd,
                    "runtime_class": w.runtime_class,
                    "image": w.image,
                    "model_digest": w.model_digest,
                    "training_data_manifest_digest": w.training_data_manifest_digest,
                    "evaluation_report": w.evaluation_report,
                    "provenance_problems": w.problems,
                }
                for w in self.workloads
            ],
        }


@dataclass(frozen=True)
class MatrixRow:
    """One stack in the compliance matrix; ``error`` is set when the stack could not be evaluated."""

    stack: str
    verdict: str = ""
    statuses: dict[str, ControlStatus] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    error: str = ""
    gpus: int | None = None
    monthly: float | None = None
    currency: str = "USD"
    nothing_in_scope: bool = False  # no resource of a type any rule judges: the verdict shows nothing

    @property
    def gate(self) -> str:
        """The gate column: the verdict, or the error, and whether anything was in scope."""
        if self.error:
            return "error"
        return f"{self.verdict} (nothing in scope)" if self.nothing_in_scope else self.verdict

    def status(self, control: Control) -> ControlStatus:
        if self.error:
            return ControlStatus.ERROR
        # A control reported for other stacks but not backed by a rule here was not assessed here.
        return self.statuses.get(control.id, ControlStatus.NOT_ASSESSED)

    def reason(self, control: Control) -> str:
        return self.error or self.reasons.get(control.id, "no rule in the policy set checks this control")
