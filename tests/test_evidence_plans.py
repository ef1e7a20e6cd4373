"""Plan documents shaped like the modules' output (docs/MODULES.md), and what the evidence pack reads from them:
HIPAA scope, provider and BAA, GPU inventory and cost, model provenance of medical-device workloads.

The builders here are shared with the other evidence tests and the browser test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phistack.cost import PoolCost, StackCost
from phistack.evidence import cost as cost_module
from phistack.evidence.facts import node_pools, providers, show, workloads
from phistack.plan.document import finalize_plan
from phistack.plan.view import thaw
from tests.support.scope import rego_scope

PROJECT = "phistack"
IMAGE = "registry.example-hospital.org/phistack-runtime@sha256:" + "b" * 64
MODEL = "sha256:" + "c" * 64
MANIFEST = "sha256:" + "d" * 64
EVALUATION = "s3://clinical-ml-evals/sepsis-risk/2026-10-eval.pdf"


def _urn(stack: str, type_: str, name: str, parent_type: str | None = None) -> str:
    chain = f"{parent_type}${type_}" if parent_type else type_
    return f"urn:pulumi:{stack}::{PROJECT}::{chain}::{name}"


class PlanBuilder:
    """Adds components and their children the way the modules declare them."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.resources: list[dict[str, Any]] = []
        self.datasets: list[dict[str, str]] = []  # the stack spec's phistack:datasets

    def add(
        self, type_: str, name: str, inputs: dict[str, Any], parent: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "urn": _urn(self.stack, type_, name, parent["type"] if parent else None),
            "type": type_,
            "name": name,
            "custom": not type_.startswith("phistack:"),
            "parent": parent["urn"] if parent else None,
            "provider": None,
            "dependencies": [],
            "property_dependencies": {},
            "inputs": inputs,
            "unknowns": [],
        }
        self.resources.append(resource)
        return resource

    def provider(self, baa: bool = True) -> None:
        record = {"reference": "BAA-HELIX-2026-01", "signed": "2026-01-15", "expires": "2027-01-14"}
        inputs: dict[str, Any] = {"provider": "helix-gpu", "plan": "secure-cloud", "region": "us-east-2"}
        if baa:
            inputs["baa"] = record
        self.add("phistack:provider:ProviderProfile", "provider", inputs)

    def cluster(self, data_classification: str = "phi", gpu_model: str = "A100 80GB", gpus: int = 2, nodes: int = 2):
        comp = self.add(
            "phistack:cluster:ConfidentialGpuCluster",
            "cluster",
            {
                "cluster_name": "gpu",
                "namespaces": [{"name": "clinical", "data_classification": data_classification}],
                "node_pools": [
                    {
                        "name": "cc-gpu",
                        "gpu_model": gpu_model,
                        "gpu_count": float(gpus),
                        "node_count": float(nodes),
                        "cc_capable": True,
                    }
                ],
                "cc_mode": "snp",
            },
        )
        labels = {
            "pod-security.kubernetes.io/enforce": "restricted",
            "phistack.io/data-classification": data_classification,
        }
        self.add(
            "kubernetes:core/v1:Namespace",
            "cluster-clinical",
            {"metadata": {"name": "clinical", "labels": labels}},
            comp,
        )
        self.add(
            "kubernetes:node.k8s.io/v1:RuntimeClass",
            "cluster-runtime-class",
            {"metadata": {"name": "kata-qemu-nvidia-gpu-snp"}, "handler": "kata-qemu-nvidia-gpu-snp"},
            comp,
        )
        self.add(
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "cluster-clinical-default-deny",
            {"metadata": {"name": "default-deny", "namespace": "clinical"}},
            comp,
        )
        self.add(
            "kubernetes:rbac.authorization.k8s.io/v1:Role",
            "cluster-clinical-viewer",
            {"metadata": {"name": "phistack-viewer", "namespace": "clinical"}},
            comp,
        )

    def storage(self, data_classification: str = "phi") -> None:
        comp = self.add(
            "phistack:storage:EncryptedStorage",
            "store",
            {
                "storage_class_name": "phi-encrypted",
                "csi_driver": "aws-ebs",
                "encrypted": True,
                "encryption_algorithm": "AES-256",
                "kms_key": "arn:aws:kms:us-east-2:111122223333:key/1f0c",
                "data_classification": data_classification,
                "volumes": [
                    {"name": "notes", "namespace": "clinical", "size": "500Gi", "access_mode": "ReadWriteOncePod"}
                ],
            },
        )
        self.add(
            "kubernetes:storage.k8s.io/v1:StorageClass", "store-class", {"metadata": {"name": "phi-encrypted"}}, comp
        )
        self.add(
            "kubernetes:core/v1:PersistentVolumeClaim",
            "store-notes",
            {"metadata": {"name": "notes", "namespace": "clinical"}},
            comp,
        )

    def endpoint(self) -> None:
        comp = self.add(
            "phistack:network:TlsEndpoint",
            "api",
            {"hostname": "sepsis.example-hospital.org", "namespace": "clinical", "min_tls_version": "1.3"},
        )
        self.add(
            "kubernetes:core/v1:Service", "api-service", {"metadata": {"name": "api", "namespace": "clinical"}}, comp
        )
        self.add(
            "kubernetes:gateway.networking.k8s.io/v1:Gateway",
            "api-gateway",
            {"metadata": {"name": "api", "namespace": "clinical"}},
            comp,
        )

    def logging(self) -> None:
        comp = self.add(
            "phistack:logging:AuditLogShipping",
            "logs",
            {"namespace": "phistack-logging", "siem_host": "siem.example-hospital.org", "siem_port": 6514.0},
        )
        self.add(
            "kubernetes:apps/v1:DaemonSet",
            "logs-forwarder",
            {"metadata": {"name": "log-forwarder", "namespace": "phistack-logging"}},
            comp,
        )

    def workload(
        self,
        name: str = "sepsis-risk",
        data_classification: str = "phi",
        samd: bool = False,
        provenance: dict[str, Any] | None = None,
        runtime_class: str | None = "kata-qemu-nvidia-gpu-snp",
        dataset: str | None = None,
    ) -> None:
        inputs: dict[str, Any] = {
            "namespace": "clinical",
            "image": IMAGE,
            "data_classification": data_classification,
            "samd": samd,
            "gpus": 1.0,
            "replicas": 2.0,
            "kind": "Deployment",
        }
        if runtime_class is not None:
            inputs["runtime_class"] = runtime_class
        if dataset is not None:
            inputs["dataset"] = dataset
        if provenance is not None:
            inputs["model_provenance"] = provenance
        comp = self.add("phistack:workload:AttestedWorkload", name, inputs)
        env = [
            {"name": "PHISTACK_DATA_CLASSIFICATION", "value": data_classification},
            {"name": "PHISTACK_KEY_BROKER_URL", "value": "https://keys.example-hospital.org"},
            {"name": "PHISTACK_KEY_ID", "value": "sepsis-risk-dek"},
            {"name": "PHISTACK_ATTESTATION_POLICY", "value": "phistack.attestation"},
        ]
        pod: dict[str, Any] = {"containers": [{"name": "runtime", "image": IMAGE, "env": env}]}
        if runtime_class is not None:
            pod["runtimeClassName"] = runtime_class
            pod["nodeSelector"] = {"nvidia.com/cc.mode.state": "on", "nvidia.com/cc.ready.state": "true"}
        self.add(
            "kubernetes:apps/v1:Deployment",
            f"{name}-deployment",
            {
                "metadata": {"name": name, "namespace": "clinical"},
                "spec": {
                    "replicas": 2,
                    "template": {
                        "metadata": {"labels": _labels(data_classification, dataset)},
                        "spec": pod,
                    },
                },
            },
            comp,
        )

    def plan(self) -> dict[str, Any]:
        stack_resource = {
            "urn": f"urn:pulumi:{self.stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{self.stack}",
            "type": "pulumi:pulumi:Stack",
            "name": f"{PROJECT}-{self.stack}",
            "custom": False,
            "parent": None,
            "provider": None,
            "dependencies": [],
            "property_dependencies": {},
            "inputs": {},
            "unknowns": [],
        }
        return finalize_plan(
            {
                "schema_version": "phistack.plan/v1",
                "source": "mock",
                "project": PROJECT,
                "stack": self.stack,
                "spec": {"datasets": self.datasets},
                "resources": [stack_resource, *self.resources],
            }
        )


def _labels(data_classification: str, dataset: str | None) -> dict[str, str]:
    labels = {"phistack.io/data-classification": data_classification}
    if dataset is not None:
        labels["phistack.io/dataset"] = dataset
    return labels


# The demonstration dataset whose signed manifest ships in examples/deid/ (verified against the
# repository's policies/data/deid_signers.json): a workload naming it stays de-identified.
DEMO_DATASET = {"name": "chest-xray-demo", "manifest": "examples/deid/chest-xray-demo.manifest.json"}


def full_provenance() -> dict[str, Any]:
    return {"model_digest": MODEL, "training_data_manifest_digest": MANIFEST, "evaluation_report": EVALUATION}


def clinical_plan(
    stack: str = "clinical-decision-support",
    *,
    samd: bool = True,
    provenance: dict[str, Any] | None = None,
    baa: bool = True,
    runtime_class: str | None = "kata-qemu-nvidia-gpu-snp",
) -> dict[str, Any]:
    """A complete PHI stack: provider, confidential cluster, encrypted storage, TLS endpoint, log shipping and a
    medical-device workload (with full provenance unless ``provenance`` says otherwise)."""
    builder = PlanBuilder(stack)
    builder.provider(baa=baa)
    builder.cluster()
    builder.storage()
    builder.endpoint()
    builder.logging()
    builder.workload(
        samd=samd, provenance=full_provenance() if provenance is None else provenance, runtime_class=runtime_class
    )
    return builder.plan()


def deidentified_plan(stack: str = "imaging") -> dict[str, Any]:
    """A stack with only de-identified data: out of HIPAA scope."""
    builder = PlanBuilder(stack)
    builder.provider(baa=False)
    builder.cluster(data_classification="deidentified", gpu_model="RTX 4090", gpus=1, nodes=1)
    builder.datasets.append(DEMO_DATASET)
    builder.workload(
        name="xray-classifier", data_classification="deidentified", runtime_class=None, dataset=DEMO_DATASET["name"]
    )
    return builder.plan()


# --- scope ------------------------------------------------------------------------------------------


# The policy set decides scope (data.phistack.main.result.scope); the evidence reads Decision.scope.


def test_phi_stack_is_in_scope() -> None:
    assert rego_scope(clinical_plan()) == {"phi": True, "classifications": ["phi"]}


def test_deidentified_stack_is_out_of_scope() -> None:
    assert rego_scope(deidentified_plan()) == {"phi": False, "classifications": ["deidentified"]}


def test_unclassified_pod_workload_is_in_scope_fail_closed() -> None:
    builder = PlanBuilder("bare")
    builder.provider()
    pod = {"metadata": {"labels": {}}, "spec": {"containers": [{"name": "worker", "image": IMAGE}]}}
    builder.add("kubernetes:apps/v1:Deployment", "worker", {"metadata": {"name": "worker"}, "spec": {"template": pod}})
    assert rego_scope(builder.plan()) == {"phi": True, "classifications": []}


def test_a_plan_without_data_is_out_of_scope_as_its_rules_see_it() -> None:
    # Nothing holds or processes data: the scoped rules check nothing, so no control may read as met.
    builder = PlanBuilder("bare")
    builder.provider()
    assert rego_scope(builder.plan()) == {"phi": False, "classifications": []}


def test_samd_workload_brings_a_deidentified_stack_into_scope() -> None:
    builder = PlanBuilder("device")
    builder.cluster(data_classification="deidentified")
    builder.datasets.append(DEMO_DATASET)
    builder.workload(
        data_classification="deidentified", samd=True, provenance=full_provenance(), dataset=DEMO_DATASET["name"]
    )
    assert rego_scope(builder.plan()) == {"phi": True, "classifications": ["deidentified"]}


def test_unknown_classification_counts_as_phi() -> None:
    builder = PlanBuilder("unknown-class")
    builder.workload(data_classification="deidentified")
    plan = thaw(builder.plan())  # a validated plan is read-only: weaken a copy
    for resource in plan["resources"]:
        if resource["type"] == "phistack:workload:AttestedWorkload":
            resource["inputs"]["data_classification"] = {"__unknown__": True}
        if resource["type"] == "kubernetes:apps/v1:Deployment":
            resource["inputs"]["spec"]["template"]["metadata"]["labels"] = {}
    assert rego_scope(plan)["phi"]


# --- provider, GPUs, cost ---------------------------------------------------------------------------


def test_provider_and_baa_are_read_from_the_profile() -> None:
    (provider,) = providers(clinical_plan())
    assert (provider.provider, provider.plan, provider.baa_reference, provider.baa_expires) == (
        "helix-gpu",
        "secure-cloud",
        "BAA-HELIX-2026-01",
        "2027-01-14",
    )
    (without,) = providers(clinical_plan(baa=False))
    assert without.baa_reference == "none declared"


def test_gpu_inventory_multiplies_gpus_per_node_by_nodes() -> None:
    (pool,) = node_pools(clinical_plan())
    assert (pool.gpu_model, pool.gpus_per_node, pool.nodes, pool.gpus, pool.cc_capable) == ("A100 80GB", 2, 2, 4, True)


def test_cost_without_a_price_catalogue_reports_inventory_unpriced(tmp_path: Path) -> None:
    estimate = cost_module.estimate(clinical_plan(), tmp_path)  # tmp_path keeps no stacks/prices.yaml
    assert estimate.total_gpus == 4
    assert estimate.hourly is None and estimate.monthly is None
    assert "no price catalogue" in estimate.source


def test_cost_priced_lines_sum_to_hourly_and_monthly() -> None:
    lines = [PoolCost("cc-gpu", "A100 80GB", 4, 1.49), PoolCost("small", "RTX 4090", 1, 0.18)]
    estimate = cost_module.GpuCost(StackCost("clinical", lines), source="test prices")
    assert estimate.total_gpus == 5
    assert estimate.hourly == pytest.approx(4 * 1.49 + 0.18)
    assert estimate.monthly == pytest.approx((4 * 1.49 + 0.18) * 730)
    assert estimate.to_json()["lines"][0]["hourly"] == pytest.approx(5.96)


# --- provenance -------------------------------------------------------------------------------------


def test_samd_workload_with_full_provenance_is_complete() -> None:
    (workload,) = workloads(clinical_plan())
    assert workload.samd and workload.provenance_complete
    assert (workload.model_digest, workload.training_data_manifest_digest, workload.evaluation_report) == (
        MODEL,
        MANIFEST,
        EVALUATION,
    )
    assert workload.confidential and workload.runtime_class == "kata-qemu-nvidia-gpu-snp"


def test_samd_workload_without_provenance_is_flagged() -> None:
    builder = PlanBuilder("device")
    builder.workload(samd=True, provenance=None)
    (workload,) = workloads(builder.plan())
    assert workload.problems == ["no model provenance declared"]


@pytest.mark.parametrize(
    ("provenance", "problems"),
    [
        (
            {"model_digest": "sha256:abc", "training_data_manifest_digest": MANIFEST, "evaluation_report": EVALUATION},
            ["model digest is not a sha256 digest"],
        ),
        (
            {"model_digest": MODEL, "training_data_manifest_digest": {"__unknown__": True}, "evaluation_report": " "},
            ["training-data manifest digest unknown at plan time", "no evaluation report reference"],
        ),
    ],
)
def test_incomplete_provenance_names_each_gap(provenance: dict[str, Any], problems: list[str]) -> None:
    (workload,) = workloads(clinical_plan(provenance=provenance))
    assert workload.problems == problems and not workload.provenance_complete


def test_non_samd_workload_needs_no_provenance() -> None:
    (workload,) = workloads(deidentified_plan())
    assert not workload.samd and workload.provenance_complete
    assert workload.runtime_class == "none (runc)" and not workload.confidential


def test_show_renders_plan_values_for_people() -> None:
    assert [show(None), show({"__unknown__": True}), show({"__secret__": True}), show(2.0), show(True)] == [
        "—",
        "unknown at plan time",
        "secret",
        "2",
        "yes",
    ]


# A waiver file both evidence test modules write into their packs (signed there by the test-only approver of
# tests/fixtures/waivers/; confidential computing itself, PHI-CC-*, is unwaivable).
WAIVERS = """\
waivers:
  - id: WVR-2026-031
    rule: PHI-POD-001
    stack: "*"
    resource: "*sepsis-risk*"
    justification: The vendor's pilot image runs as root until its rebuilt image ships in December.
    approver: ciso@example-hospital.org
    compensating_control: Dedicated single-tenant nodes; no other tenant can schedule.
    expires: 2026-12-20
"""
