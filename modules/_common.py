"""Helpers the components share: labels, name slugs and turning Args into plan props."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import pulumi

from runtime.classification import CLASSIFICATIONS, ClassificationName

# How sensitive the data a resource holds or processes is (the one vocabulary, runtime/classification.py).
DataClassification = ClassificationName
DATA_CLASSIFICATIONS = CLASSIFICATIONS

#: Runtime classes for pods in a confidential VM with NVIDIA Confidential Computing on the GPU.
CC_RUNTIME_CLASSES: dict[str, str] = {
    "snp": "kata-qemu-nvidia-gpu-snp",
    "tdx": "kata-qemu-nvidia-gpu-tdx",
}

#: Runtime class of a cloud backend: runc on nodes that are themselves confidential VMs (the node is the TEE;
#: GKE Confidential nodes and AKS NCCadsH100v5 pools do not run a Kata VM per pod).
CONFIDENTIAL_VM_RUNTIME_CLASS = "confidential-vm-nvidia-gpu"

#: Node labels the NVIDIA GPU operator sets once a GPU runs in CC mode and is ready.
CC_NODE_SELECTOR: dict[str, str] = {
    "nvidia.com/cc.mode.state": "on",
    "nvidia.com/cc.ready.state": "true",
}

LABEL_CLASSIFICATION = "phistack.io/data-classification"
LABEL_DATASET = "phistack.io/dataset"  # the de-identified dataset a workload or storage holds (hipaa.rego)


def labels(component: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Labels every Kubernetes child carries, so manifests can be traced back to their component."""
    out = {"app.kubernetes.io/managed-by": "phistack", "phistack.io/component": component}
    if extra:
        out.update(extra)
    return out


def slug(value: str) -> str:
    """A DNS-1123 label made from ``value`` (subjects like ``oncall@example.org`` become names)."""
    text = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
    return text[:50].strip("-") or "x"


def child(parent: pulumi.Resource) -> pulumi.ResourceOptions:
    """Options for a child: parented to the component and nothing else from the caller."""
    return pulumi.ResourceOptions(parent=parent)


def to_props(value: Any) -> Any:
    """Plain data for the component's props: dataclasses become dicts with their field names.

    ``None`` is kept (as JSON null) so the plan shows an unset setting explicitly. Inputs and
    Outputs are left in place; Pulumi resolves them (unknowns stay unknown in the plan).
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_props(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_props(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_props(v) for v in value]
    return value


def check_choice(field: str, value: object, allowed: tuple[str, ...]) -> None:
    """Reject a value outside ``allowed`` early, with the field name (a programming error, not config)."""
    if value not in allowed:
        raise ValueError(f"{field} must be one of {', '.join(allowed)}; got {value!r}")


#: The cluster DNS pods, as a NetworkPolicy peer.
KUBE_DNS_PEER: dict[str, object] = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
DNS_PORTS: list[dict[str, object]] = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
RBAC_GROUP = "rbac.authorization.k8s.io"


def kube(**fields: Any) -> Any:
    """Pass Kubernetes fields spelled as in the API (camelCase) to a pulumi-kubernetes resource.

    The SDK's typed dicts spell nested fields in snake_case; Pulumi sends camelCase keys through
    unchanged, so the code reads like the manifests it produces (and the plan inputs match them).
    """
    return fields
