"""Every reference stack composes offline; StackSpec errors name the file and the key path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from phistack.errors import InputError
from phistack.plan.offline import plan_stack
from phistack.stackconfig import stack_names
from stacks.spec import config_from_stack_file, load_stack_spec, parse_spec

ROOT = Path(__file__).resolve().parent.parent
STACKS = ROOT / "stacks"
REFERENCE = [
    "clinical-decision-support",
    "clinical-nlp",
    "clinical-nlp-gke",
    "drug-discovery",
    "genomics",
    "genomics-aks",
    "medical-imaging",
]
NONCOMPLIANT = [
    "noncompliant-aks-ordinary-vm",
    "noncompliant-expired-baa",
    "noncompliant-gke-ordinary-vm",
    "noncompliant-plaintext-phi",
]
CLOUD = {"clinical-nlp-gke": "gcp", "genomics-aks": "azure"}


def test_the_reference_and_noncompliant_stacks_exist() -> None:
    assert stack_names(STACKS) == sorted(REFERENCE + NONCOMPLIANT)


@pytest.fixture(scope="module")
def plans() -> dict[str, dict[str, Any]]:
    return {stack: plan_stack(ROOT, stack) for stack in REFERENCE + NONCOMPLIANT}


def _components(plan: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"].endswith(f":{kind}") and not r["custom"]]


@pytest.mark.parametrize("stack", REFERENCE + NONCOMPLIANT)
def test_stack_composes_every_component_it_declares(plans: dict[str, dict[str, Any]], stack: str) -> None:
    plan = plans[stack]
    spec = load_stack_spec(STACKS, stack)
    assert len(_components(plan, "ProviderProfile")) == 1
    assert len(_components(plan, "ConfidentialGpuCluster")) == 1
    assert len(_components(plan, "AttestedWorkload")) == len(spec.workloads)
    assert len(_components(plan, "TlsEndpoint")) == len(spec.endpoints)
    assert len(_components(plan, "AuditLogShipping")) == (1 if spec.logging else 0)
    assert len(_components(plan, "EncryptedStorage")) == (1 if spec.storage else 0)
    assert plan["spec"]["provider"]["name"] == spec.provider.name


@pytest.mark.parametrize("stack", ["clinical-nlp", "genomics", "clinical-decision-support"])
def test_phi_stacks_run_confidential_on_cc_gpus(plans: dict[str, dict[str, Any]], stack: str) -> None:
    plan = plans[stack]
    cluster = _components(plan, "ConfidentialGpuCluster")[0]
    assert all(pool["cc_capable"] for pool in cluster["inputs"]["node_pools"]), cluster["urn"]
    for w in _components(plan, "AttestedWorkload"):
        assert w["inputs"]["runtime_class"].startswith("kata-qemu-nvidia-gpu-"), w["urn"]
        assert "key_broker" in w["inputs"], w["urn"]
        assert "audit_sink" in w["inputs"], w["urn"]


def _of_type(plan: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_]


@pytest.mark.parametrize("stack", sorted(CLOUD))
def test_cloud_stacks_provision_confidential_pools_and_steer_phi_onto_them(
    plans: dict[str, dict[str, Any]], stack: str
) -> None:
    plan = plans[stack]
    if CLOUD[stack] == "gcp":
        pools = [p for p in _of_type(plan, "gcp:container/nodePool:NodePool") if p["inputs"]["name"] != "system"]
        assert pools and all(p["inputs"]["nodeConfig"]["confidentialNodes"]["enabled"] for p in pools)
        labels = [p["inputs"]["nodeConfig"]["labels"] for p in pools]
    else:
        pools = _of_type(plan, "azure-native:containerservice:AgentPool")
        assert pools and all(p["inputs"]["vmSize"].startswith("Standard_NCC") for p in pools)
        labels = [p["inputs"]["nodeLabels"] for p in pools]
    assert all(lab["phistack.io/confidential-gpu"] == "true" for lab in labels)
    for w in _components(plan, "AttestedWorkload"):
        assert w["inputs"]["runtime_class"] == "confidential-vm-nvidia-gpu", w["urn"]
        assert w["inputs"]["node_selector"] == {"phistack.io/confidential-gpu": "true"}, w["urn"]
    # Every Kubernetes object goes to the new cluster, through the provider its backend created.
    kube = [r for r in plan["resources"] if r["type"].startswith("kubernetes:")]
    assert kube and all("pulumi:providers:kubernetes" in (r["provider"] or "") for r in kube)


@pytest.mark.parametrize("stack", ["medical-imaging", "drug-discovery"])
def test_non_phi_stacks_choose_runc_explicitly(plans: dict[str, dict[str, Any]], stack: str) -> None:
    for w in _components(plans[stack], "AttestedWorkload"):
        assert w["inputs"]["runtime_class"] == "runc", w["urn"]
        assert w["inputs"]["data_classification"] in ("deidentified", "none"), w["urn"]


def test_noncompliant_stacks_carry_their_weakenings(plans: dict[str, dict[str, Any]]) -> None:
    plain = plans["noncompliant-plaintext-phi"]
    assert _components(plain, "AuditLogShipping") == []
    endpoint = _components(plain, "TlsEndpoint")[0]["inputs"]
    assert endpoint["allow_plaintext_http"] is True and endpoint["min_tls_version"] == "1.2"
    expired = plans["noncompliant-expired-baa"]
    assert _components(expired, "ProviderProfile")[0]["inputs"]["baa"]["expires"] == "2025-06-30"
    workload = _components(expired, "AttestedWorkload")[0]["inputs"]
    assert "emptyDir" in [v["source"] for v in workload["volumes"]]


def test_plan_is_deterministic() -> None:
    assert plan_stack(ROOT, "genomics") == plan_stack(ROOT, "genomics")


def _config(stack: str) -> dict[str, Any]:
    return copy.deepcopy(config_from_stack_file(STACKS / f"Pulumi.{stack}.yaml"))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda c: c["workloads"][0].update(image="registry.example.org/runtime:latest"),
            "phistack:workloads[0].image: must be pinned by digest",
        ),
        (lambda c: c["workloads"][0].update(gpus="many"), "phistack:workloads[0].gpus: "),
        (
            lambda c: c["workloads"][0].update(data_classification="secret"),
            "phistack:workloads[0].data_classification: ",
        ),
        (
            lambda c: c["cluster"]["node_pools"][0].pop("cc_capable"),
            "phistack:cluster.node_pools[0].cc_capable: required key is missing",
        ),
        (lambda c: c["cluster"].update(cc_modee="snp"), "phistack:cluster.cc_modee: unknown key"),
        (lambda c: c["provider"]["baa"].update(expires="2020-01-01"), "phistack:provider.baa.expires: "),
        (lambda c: c["workloads"][0].update(namespace="elsewhere"), "phistack:workloads[0].namespace: "),
        (lambda c: c["endpoints"][0].update(workload="ghost"), "phistack:endpoints[0].workload: no workload"),
        (lambda c: c["storage"].pop("kms_key"), "phistack:storage.kms_key: required while encrypted"),
        (lambda c: c.pop("provider"), "phistack:provider: required key is missing"),
    ],
)
def test_spec_errors_name_the_file_and_key_path(mutate: Any, expected: str) -> None:
    config = _config("clinical-nlp")
    mutate(config)
    with pytest.raises(InputError) as info:
        parse_spec(config, "stacks/Pulumi.clinical-nlp.yaml")
    message = info.value.diagnostic()
    assert message.startswith(f"stacks/Pulumi.clinical-nlp.yaml: {expected}"), message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("stack", "mutate", "expected"),
    [
        (
            "clinical-nlp-gke",
            lambda c: c["cluster"]["node_pools"][0].update(machine_type="a3-highgpu-9g"),
            "phistack:cluster.node_pools[0].machine_type: 'a3-highgpu-9g' is not a machine type of gcp in the "
            "machine catalogue (known: a2-highgpu-1g, a3-highgpu-1g",
        ),
        (
            "clinical-nlp-gke",
            lambda c: c["cluster"]["node_pools"][0].update(cc_capable=True),
            "phistack:cluster.node_pools[0].cc_capable: not with backend gke: the machine catalogue says which GPU",
        ),
        (
            "clinical-nlp-gke",
            lambda c: c["cluster"]["node_pools"][0].pop("machine_type"),
            "phistack:cluster.node_pools[0].machine_type: required key is missing",
        ),
        ("clinical-nlp-gke", lambda c: c["cluster"].pop("gke"), "phistack:cluster.gke: required with backend: gke"),
        (
            "clinical-nlp-gke",
            lambda c: c["cluster"].update(cc_mode="snp"),
            "phistack:cluster.cc_mode: the gke backend's confidential VMs use tdx; set cc_mode: tdx",
        ),
        (
            "genomics-aks",
            lambda c: c["cluster"].update(gke=_config("clinical-nlp-gke")["cluster"]["gke"]),
            "phistack:cluster.gke: set only with backend: gke",
        ),
        (
            "genomics-aks",
            lambda c: c["cluster"]["node_pools"][0].update(machine_type="a3-highgpu-1g"),
            "phistack:cluster.node_pools[0].machine_type: 'a3-highgpu-1g' is not a machine type of azure",
        ),
        (
            "clinical-nlp",
            lambda c: c["cluster"]["node_pools"][0].update(machine_type="a3-highgpu-1g"),
            "phistack:cluster.node_pools[0].machine_type: only for the gke and aks backends",
        ),
    ],
)
def test_backend_errors_name_the_key_path(stack: str, mutate: Any, expected: str) -> None:
    config = _config(stack)
    mutate(config)
    with pytest.raises(InputError) as info:
        parse_spec(config, f"stacks/Pulumi.{stack}.yaml")
    message = info.value.diagnostic()
    assert message.startswith(f"stacks/Pulumi.{stack}.yaml: {expected}"), message
    assert "\n" not in message


def test_cc_off_needs_an_explicit_runtime_class() -> None:
    config = _config("medical-imaging")
    del config["workloads"][0]["runtime_class"]
    with pytest.raises(InputError, match=r"phistack:workloads\[0\]\.runtime_class: cluster\.cc_mode is off"):
        parse_spec(config, "stacks/Pulumi.medical-imaging.yaml")


def test_bad_config_through_the_planner_names_the_stack_file(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    stacks_dir = tmp_path / "stacks"
    stacks_dir.mkdir()
    (stacks_dir / "__main__.py").write_text((STACKS / "__main__.py").read_text())
    doc = yaml.safe_load((STACKS / "Pulumi.clinical-nlp.yaml").read_text())
    doc["config"]["phistack:workloads"][0]["image"] = "registry.example.org/runtime:latest"
    text = yaml.safe_dump(doc)
    (stacks_dir / "Pulumi.broken.yaml").write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "registry.example.org/runtime:latest" in row)
    with pytest.raises(InputError) as info:
        plan_stack(tmp_path, "broken")
    assert info.value.diagnostic().startswith(
        f"stacks/Pulumi.broken.yaml:{line}: phistack:workloads[0].image: must be pinned by digest"
    ), info.value
