"""Facts an auditor needs that the plan declares directly: the provider and its BAA, GPU inventory, and the
provenance of the models the workloads run (props as documented in docs/MODULES.md). Whether the plan is in
HIPAA scope is the policy set's decision (``Decision.scope``), not a fact read here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from phistack.report.common import resource_label

PROVIDER = "phistack:provider:ProviderProfile"
CLUSTER = "phistack:cluster:ConfidentialGpuCluster"
WORKLOAD = "phistack:workload:AttestedWorkload"

CONFIDENTIAL_PREFIX = "kata-qemu-nvidia-gpu-"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def is_unknown(value: Any) -> bool:
    return isinstance(value, dict) and value.get("__unknown__") is True


def show(value: Any, empty: str = "—") -> str:
    """A plan value as text for a report: unknowns and secrets say so, never print as JSON noise."""
    if value is None or value == "":
        return empty
    if is_unknown(value):
        return "unknown at plan time"
    if isinstance(value, dict) and value.get("__secret__") is True:
        return "secret"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Pulumi sends every number as a float
    return str(value)


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def components(plan: dict[str, Any], type_token: str) -> list[dict[str, Any]]:
    return [r for r in plan.get("resources", []) if r.get("type") == type_token]


@dataclass(frozen=True)
class Provider:
    urn: str
    provider: str
    plan: str
    region: str
    baa_reference: str
    baa_signed: str
    baa_expires: str


def providers(plan: dict[str, Any]) -> list[Provider]:
    out = []
    for r in components(plan, PROVIDER):
        inputs = r.get("inputs") or {}
        baa: dict[str, Any] = inputs["baa"] if isinstance(inputs.get("baa"), dict) else {}
        out.append(
            Provider(
                urn=r["urn"],
                provider=show(inputs.get("provider")),
                plan=show(inputs.get("plan")),
                region=show(inputs.get("region")),
                baa_reference=show(baa.get("reference"), "none declared"),
                baa_signed=show(baa.get("signed")),
                baa_expires=show(baa.get("expires")),
            )
        )
    return out


@dataclass(frozen=True)
class NodePool:
    cluster: str
    name: str
    gpu_model: str
    gpus_per_node: int | None
    nodes: int | None
    cc_capable: bool | None

    @property
    def gpus(self) -> int | None:
        if self.gpus_per_node is None or self.nodes is None:
            return None
        return self.gpus_per_node * self.nodes


def node_pools(plan: dict[str, Any]) -> list[NodePool]:
    out = []
    for r in components(plan, CLUSTER):
        inputs = r.get("inputs") or {}
        for pool in inputs.get("node_pools") or []:
            if not isinstance(pool, dict):
                continue
            cc = pool.get("cc_capable")
            out.append(
                NodePool(
                    cluster=show(inputs.get("cluster_name"), r.get("name", "")),
                    name=show(pool.get("name")),
                    gpu_model=show(pool.get("gpu_model")),
                    gpus_per_node=_number(pool.get("gpu_count")),
                    nodes=_number(pool.get("node_count")),
                    cc_capable=cc if isinstance(cc, bool) else None,
                )
            )
    return out


@dataclass(frozen=True)
class Workload:
    """An AttestedWorkload and what an auditor checks about it: where it runs and which model it is."""

    urn: str
    name: str
    kind: str
    namespace: str
    data_classification: str
    samd: bool
    runtime_class: str
    confidential: bool
    image: str
    gpus: int | None
    replicas: int | None
    model_digest: str
    training_data_manifest_digest: str
    evaluation_report: str
    problems: list[str] = field(default_factory=list)

    @property
    def provenance_complete(self) -> bool:
        return not self.problems


def _digest_problem(label: str, value: Any) -> str | None:
    if value is None or value == "":
        return f"no {label}"
    if is_unknown(value):
        return f"{label} unknown at plan time"
    if not isinstance(value, str) or not _DIGEST.match(value):
        return f"{label} is not a sha256 digest"
    return None


def workloads(plan: dict[str, Any]) -> list[Workload]:
    """Every AttestedWorkload, with provenance problems listed for medical-device (SaMD) workloads."""
    out = []
    for r in components(plan, WORKLOAD):
        inputs = r.get("inputs") or {}
        raw = inputs.get("model_provenance")
        provenance: dict[str, Any] = raw if isinstance(raw, dict) else {}
        samd = inputs.get("samd") is True
        problems: list[str] = []
        if samd:
            if not provenance:
                problems.append("no model provenance declared")
            else:
                for label, key in (("model digest", "model_digest"), ("training-data manifest digest",
                                                                       "training_data_manifest_digest")):
                    problem = _digest_problem(label, provenance.get(key))
                    if problem:
                        problems.append(problem)
                report = provenance.get("evaluation_report")
                if not isinstance(report, str) or not report.strip():
                    problems.append("no evaluation report reference")
        # Pulumi drops null props: an absent runtime_class is null, i.e. no confidential computing.
        runtime_class = inputs.get("runtime_class")
        out.append(
            Workload(
                urn=r["urn"],
                name=r.get("name", resource_label(r["urn"])),
                kind=show(inputs.get("kind"), "Deployment"),
                namespace=show(inputs.get("namespace")),
                data_classification=show(inputs.get("data_classification"), "unclassified"),
                samd=samd,
                runtime_class=show(runtime_class, "none (runc)"),
                confidential=isinstance(runtime_class, str) and runtime_class.startswith(CONFIDENTIAL_PREFIX),
                image=show(inputs.get("image")),
                gpus=_number(inputs.get("gpus", 1)),
                replicas=_number(inputs.get("replicas", 1)) if show(inputs.get("kind"), "Deployment") != "Job" else 1,
                model_digest=show(provenance.get("model_digest")),
                training_data_manifest_digest=show(provenance.get("training_data_manifest_digest")),
                evaluation_report=show(provenance.get("evaluation_report")),
                problems=problems,
            )
        )
    return out
