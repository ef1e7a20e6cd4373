"""Every manifest of every stack validates; the validator rejects what it must."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from phistack.plan.offline import plan_stack
from phistack.render import KUBERNETES_VERSION, manifests_from_plan, validate_manifest, write_manifests
from phistack.render.crd_schemas import SPEC_SCHEMAS
from phistack.render.validate import ManifestError, _core_validator
from phistack.stackconfig import stack_names

ROOT = Path(__file__).resolve().parent.parent
STACKS = stack_names(ROOT / "stacks")


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    return {stack: manifests_from_plan(plan_stack(ROOT, stack)) for stack in STACKS}


@pytest.mark.parametrize("stack", STACKS)
def test_every_manifest_validates(rendered: dict[str, Any], stack: str) -> None:
    manifests, _ = rendered[stack]
    assert manifests
    for manifest in manifests:
        how = validate_manifest(manifest.body)
        expected = "crd-subset" if (manifest.api_version, manifest.kind) in SPEC_SCHEMAS else "core"
        assert how == expected, manifest.urn
        if how == "core":  # accepted by the compiled precheck, without running jsonschema
            assert _core_validator(KUBERNETES_VERSION, manifest.api_version, manifest.kind).accepts(manifest.body)


def test_validation_uses_a_current_kubernetes_version() -> None:
    major, minor, _ = (int(x) for x in KUBERNETES_VERSION.split("."))
    assert (major, minor) >= (1, 34)


def test_private_ca_secret_is_reported_not_written(rendered: dict[str, Any]) -> None:
    manifests, skipped = rendered["clinical-decision-support"]
    assert [s.urn.rsplit("::", 1)[1] for s in skipped] == ["cds-tls-secret"]
    assert "secret material" in skipped[0].reason
    assert "Secret" not in {m.kind for m in manifests}


def test_the_kinds_phistack_renders(rendered: dict[str, Any]) -> None:
    manifests, _ = rendered["clinical-nlp"]
    kinds = {m.kind for m in manifests}
    assert {
        "Namespace",
        "NetworkPolicy",
        "RuntimeClass",
        "Role",
        "RoleBinding",
        "ResourceQuota",
        "StorageClass",
        "PersistentVolumeClaim",
        "Deployment",
        "DaemonSet",
        "ConfigMap",
        "Service",
        "Certificate",
        "Gateway",
        "HTTPRoute",
        "ClientTrafficPolicy",
        "BackendTLSPolicy",
    } <= kinds


def test_write_is_deterministic_and_ordered(rendered: dict[str, Any], tmp_path: Path) -> None:
    manifests, _ = rendered["genomics"]
    first = write_manifests(manifests, tmp_path / "a")
    second = write_manifests(manifests, tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()
    index = yaml.safe_load((tmp_path / "a" / "kustomization.yaml").read_text())
    assert index["resources"][0].startswith("namespace-")
    deployment = yaml.safe_load((tmp_path / "a" / "job-genomics-genome-train.yaml").read_text())
    assert deployment["spec"]["template"]["spec"]["runtimeClassName"] == "kata-qemu-nvidia-gpu-tdx"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "x"},
                "spec": {
                    "selector": {},
                    "template": {"spec": {"containers": [{"name": "c", "image": "i", "securityContex": {}}]}},
                },
            },
            "securityContex",
        ),
        ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labelz": {}}}, "labelz"),
        ({"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "x"}}, "no schema"),
        (
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "Gateway",
                "metadata": {"name": "x"},
                "spec": {
                    "gatewayClassName": "eg",
                    "listeners": [{"name": "h", "port": 443, "protocol": "HTTPS", "tls": {"mode": "Terminat"}}],
                },
            },
            "Terminat",
        ),
        (
            {
                "apiVersion": "gateway.envoyproxy.io/v1alpha1",
                "kind": "ClientTrafficPolicy",
                "metadata": {"name": "x"},
                "spec": {"tls": {"minVersion": "1.4"}},
            },
            "1.4",
        ),
        (
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Certificate",
                "metadata": {"name": "x"},
                "spec": {"secretName": "s"},
            },
            "issuerRef",
        ),
        (
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Certificate",
                "metadata": {"name": "x", "bogus": 1},
                "spec": {"secretName": "s", "issuerRef": {"name": "i"}},
            },
            "bogus",
        ),
    ],
)
def test_validator_rejects(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        validate_manifest(body)


def test_secret_and_unknown_values_are_skipped() -> None:
    plan = {
        "resources": [
            {
                "urn": "u1",
                "type": "kubernetes:core/v1:ConfigMap",
                "custom": True,
                "unknowns": ["data.x"],
                "inputs": {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "a"},
                    "data": {"x": {"__unknown__": True}},
                },
            },
            {
                "urn": "u2",
                "type": "kubernetes:core/v1:Secret",
                "custom": True,
                "unknowns": [],
                "inputs": {"metadata": {"name": "b"}, "stringData": {"k": {"__secret__": True}}},
            },
            {
                "urn": "u3",
                "type": "kubernetes:core/v1:ConfigMap",
                "custom": True,
                "unknowns": [],
                "inputs": {"metadata": {"name": "c"}, "data": {"x": "1"}},
            },
            {"urn": "u4", "type": "phistack:workload:AttestedWorkload", "custom": False, "inputs": {}},
            {
                "urn": "u5",
                "type": "kubernetes:core/v1:ConfigMap",
                "custom": True,
                "unknowns": [],
                "inputs": {
                    "metadata": {"name": "e", "labels": {"__unknown__": True}},
                    "data": {"a": [{"__secret__": False}, {"__secret__": True}], "b": {"__secret__": True, "c": 1}},
                },
            },
            {
                "urn": "u6",
                "type": "kubernetes:core/v1:ConfigMap",
                "custom": True,
                "unknowns": [],
                "inputs": {"metadata": {"name": "f", "labels": [{"__unknown__": True}]}},
            },
        ]
    }
    manifests, skipped = manifests_from_plan(plan)
    assert [m.urn for m in manifests] == ["u3"]
    assert manifests[0].body["apiVersion"] == "v1" and manifests[0].body["kind"] == "ConfigMap"
    assert [s.urn for s in skipped] == ["u1", "u2", "u5", "u6"]
    assert "data.x" in skipped[0].reason
    # Secret material wins over unknown values; paths name exactly the {marker: true} objects.
    assert skipped[2].reason.startswith("holds secret material (data.a[1]);")
    assert skipped[3].reason == "values unknown before deployment: metadata.labels[0]"
