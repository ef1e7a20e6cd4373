"""ConfidentialGpuCluster: the cluster (provisioned on GKE or AKS, or an existing one), namespaces, network
isolation, CC runtime class, RBAC and quotas."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from modules._common import (
    CC_NODE_SELECTOR,
    CC_RUNTIME_CLASSES,
    CONFIDENTIAL_VM_RUNTIME_CLASS,
    DATA_CLASSIFICATIONS,
    DNS_PORTS,
    KUBE_DNS_PEER,
    LABEL_CLASSIFICATION,
    RBAC_GROUP,
    DataClassification,
    check_choice,
    kube,
    labels,
    slug,
    to_props,
)
from modules.cloud import (
    BACKENDS,
    CONFIDENTIAL_POOL_LABEL,
    CONFIDENTIAL_TAINT,
    AksSettings,
    Backend,
    CloudNodePool,
    GkeSettings,
)

TYPE = "phistack:cluster:ConfidentialGpuCluster"
COMPONENT = "ConfidentialGpuCluster"

# Least privilege for people: read workload state, never secrets, exec or logs (logs can carry PHI).
_VIEWER_RULES: list[dict[str, list[str]]] = [
    {
        "apiGroups": [""],
        "resources": ["pods", "services", "events", "persistentvolumeclaims"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]},
]
# Operators may also restart and scale workloads; still no secrets, exec or logs.
_OPERATOR_RULES: list[dict[str, list[str]]] = [
    *_VIEWER_RULES,
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale"], "verbs": ["patch", "update"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "delete"]},
]


@dataclass(kw_only=True)
class NamespaceSpec:
    """A workload namespace and the classification of the data in it."""

    name: str
    """Namespace name."""
    data_classification: DataClassification
    """``phi``, ``deidentified``, ``genetic`` or ``none``."""


@dataclass(kw_only=True)
class NodePool:
    """A GPU node pool the provider provisions (declared, not created by Kubernetes)."""

    name: str
    """Pool name."""
    gpu_model: str
    """GPU model as the hardware catalogue (``policies/data/gpu_profiles.json``) names it, e.g. ``H100 SXM``;
    stacks/spec.py rejects a model the catalogue does not know."""
    gpu_count: int
    """GPUs per node."""
    node_count: int = 1
    """Nodes in the pool."""
    cc_capable: bool
    """Whether the pool is declared to run its GPUs in NVIDIA CC mode. A declaration, not evidence: the
    gate (PHI-GPU-001) takes CC support from the catalogue's entry for ``gpu_model`` and denies a
    declaration that contradicts it."""


@dataclass(kw_only=True)
class Port:
    """A port a NetworkPolicy allows."""

    port: int
    """Port number."""
    protocol: Literal["TCP", "UDP"] = "TCP"
    """``TCP`` or ``UDP``."""


@dataclass(kw_only=True)
class NetworkAllow:
    """One explicit exception to default-deny."""

    name: str
    """Short name; the policy is ``allow-<name>``."""
    namespace: str
    """Namespace whose pods the policy selects."""
    direction: Literal["ingress", "egress"]
    """Traffic direction."""
    peer_namespace: str | None = None
    """Allow peers in this namespace (by its ``kubernetes.io/metadata.name`` label)."""
    peer_cidr: pulumi.Input[str] | None = None
    """Or allow peers in this CIDR block."""
    ports: list[Port] = field(default_factory=list)
    """Ports allowed; at least one."""


@dataclass(kw_only=True)
class PolicyRule:
    """An RBAC rule (only for ``role: custom`` grants)."""

    api_groups: list[str]
    """API groups."""
    resources: list[str]
    """Resources."""
    verbs: list[str]
    """Verbs."""


@dataclass(kw_only=True)
class AccessGrant:
    """Access for a person or group to one namespace."""

    subject: str
    """User or group name as the cluster's identity provider reports it."""
    subject_kind: Literal["Group", "User"] = "Group"
    """``Group`` or ``User``."""
    namespace: str
    """The namespace the grant applies to (grants are never cluster-wide)."""
    role: Literal["viewer", "operator", "custom"] = "viewer"
    """A predefined least-privilege role, or ``custom`` with ``rules``."""
    rules: list[PolicyRule] = field(default_factory=list)
    """Rules of a ``custom`` role, passed through unchanged (the gate checks them)."""


@dataclass(kw_only=True)
class Quota:
    """A ResourceQuota applied to every workload namespace."""

    gpus: int
    """``requests.nvidia.com/gpu``."""
    requests_cpu: str = "64"
    """``requests.cpu``."""
    requests_memory: str = "512Gi"
    """``requests.memory``."""
    limits_cpu: str = "64"
    """``limits.cpu``."""
    limits_memory: str = "512Gi"
    """``limits.memory``."""
    pods: int = 50
    """``pods``."""
    persistent_volume_claims: int = 20
    """``persistentvolumeclaims``."""


@dataclass(kw_only=True)
class IdentityProvider:
    """The OIDC identity provider people sign in to the cluster through."""

    issuer: str
    """OIDC issuer URL (https)."""
    mfa_required: bool = True
    """Whether the provider enforces multi-factor authentication for every sign-in."""


@dataclass(kw_only=True)
class ConfidentialGpuClusterArgs:
    """Settings of :class:`ConfidentialGpuCluster`; every field appears in the plan as a prop."""

    cluster_name: str
    """The cluster's name (used in labels and docs)."""
    namespaces: list[NamespaceSpec]
    """Workload namespaces."""
    node_pools: list[NodePool]
    """GPU node pool declarations."""
    pod_security_level: Literal["restricted", "baseline", "privileged"] = "restricted"
    """Pod Security level enforced, audited and warned on in every workload namespace."""
    cc_mode: Literal["snp", "tdx", "off"] = "snp"
    """CPU TEE under the CC runtime class; ``off`` creates no confidential runtime class (a weakening)."""
    default_deny_network: bool = True
    """Create default-deny NetworkPolicies; ``False`` leaves namespaces open (a weakening)."""
    network_allows: list[NetworkAllow] = field(default_factory=list)
    """Explicit exceptions to default-deny."""
    access_grants: list[AccessGrant] = field(default_factory=list)
    """Namespace-scoped access for people."""
    cluster_admin_subjects: list[str] = field(default_factory=list)
    """Users bound to ``cluster-admin`` (a weakening; empty by default)."""
    quota: Quota | None = None
    """Per-namespace quota; ``None`` sets none (a weakening)."""
    identity_provider: IdentityProvider | None = None
    """How people authenticate (configured on the API server by the provider; declared here)."""
    backend: Backend = "existing"
    """``gke`` or ``aks`` provision the cluster and its GPU pools (``cloud_node_pools``); ``existing`` targets a
    cluster whose GPU nodes the provider manages (``node_pools`` declares them)."""
    gke: GkeSettings | None = None
    """Settings of the ``gke`` backend."""
    aks: AksSettings | None = None
    """Settings of the ``aks`` backend."""
    cloud_node_pools: list[CloudNodePool] = field(default_factory=list)
    """GPU node pools a cloud backend creates."""


class ConfidentialGpuCluster(pulumi.ComponentResource):
    """Namespaces under Pod Security, default-deny networking, a CC RuntimeClass, RBAC and quotas."""

    runtime_class_name: str | None
    """The confidential runtime class workloads should use, or ``None`` when ``cc_mode`` is off."""
    namespace_names: list[str]
    """The workload namespaces."""
    namespace_resources: dict[str, k8s.core.v1.Namespace]
    """Namespace objects by name, for callers whose resources must wait for one namespace only."""
    kubernetes_provider: pulumi.ProviderResource | None
    """Provider for the cluster a cloud backend created (the stack's other components use it), or None."""
    workload_node_selector: dict[str, str]
    """Node selector GPU workloads need to land on a confidential pool (empty for ``existing``)."""
    workload_tolerations: list[dict[str, str]]
    """Tolerations GPU workloads need for the confidential pools' taint (empty for ``existing``)."""
    storage_key: pulumi.Input[str] | None
    """The customer-managed disk key a cloud backend created, for EncryptedStorage's ``kms_key``; None otherwise."""

    def __init__(self, name: str, args: ConfidentialGpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check_choice("pod_security_level", args.pod_security_level, ("restricted", "baseline", "privileged"))
        check_choice("cc_mode", args.cc_mode, ("snp", "tdx", "off"))
        check_choice("backend", args.backend, BACKENDS)
        for ns in args.namespaces:
            check_choice(f"namespaces[{ns.name}].data_classification", ns.data_classification, DATA_CLASSIFICATIONS)
        runtime_class_name = CC_RUNTIME_CLASSES.get(args.cc_mode)
        if args.backend != "existing" and runtime_class_name is not None:
            runtime_class_name = CONFIDENTIAL_VM_RUNTIME_CLASS
        props = to_props(args)
        props["runtime_class_name"] = runtime_class_name
        props["cc_node_selector"] = dict(CC_NODE_SELECTOR) if runtime_class_name else {}
        # Pulumi turns every prop into an Output attribute of the component: set ours after it.
        super().__init__(TYPE, name, props, opts)
        self.runtime_class_name = runtime_class_name
        self.namespace_names = [ns.name for ns in args.namespaces]
        self.kubernetes_provider = None
        self.workload_node_selector = {}
        self.workload_tolerations = []
        self.storage_key = None
        if args.backend != "existing":
            # Imported only when used: the provider SDKs are large and the existing backend never needs them.
            backend = importlib.import_module(f"modules.backends.{args.backend}")
            provisioned = backend.provision(self, name, args)
            self.kubernetes_provider = provisioned.kubernetes_provider
            self.storage_key = provisioned.storage_key
            self.workload_node_selector = {CONFIDENTIAL_POOL_LABEL: "true"}
            self.workload_tolerations = [dict(CONFIDENTIAL_TAINT)]
        base = labels(name)

        # Kubernetes children go through the new cluster's provider when a backend created one.
        own = pulumi.ResourceOptions(parent=self, provider=self.kubernetes_provider)
        namespaces: dict[str, k8s.core.v1.Namespace] = {}
        for ns in args.namespaces:
            level = args.pod_security_level
            namespaces[ns.name] = k8s.core.v1.Namespace(
                f"{name}-ns-{ns.name}",
                metadata={
                    "name": ns.name,
                    "labels": {
                        **base,
                        LABEL_CLASSIFICATION: ns.data_classification,
                        "pod-security.kubernetes.io/enforce": level,
                        "pod-security.kubernetes.io/enforce-version": "latest",
                        "pod-security.kubernetes.io/audit": level,
                        "pod-security.kubernetes.io/audit-version": "latest",
                        "pod-security.kubernetes.io/warn": level,
                        "pod-security.kubernetes.io/warn-version": "latest",
                    },
                },
                opts=own,
            )

        def in_ns(ns_name: str) -> pulumi.ResourceOptions:
            # Namespaced children wait for their namespace when it is ours.
            deps = [namespaces[ns_name]] if ns_name in namespaces else []
            return pulumi.ResourceOptions(parent=self, depends_on=deps, provider=self.kubernetes_provider)

        for ns in args.namespaces:
            if args.default_deny_network:
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-{ns.name}-default-deny",
                    **kube(
                        metadata={"name": "default-deny", "namespace": ns.name, "labels": base},
                        spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
                    ),
                    opts=in_ns(ns.name),
                )
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-{ns.name}-allow-dns",
                    **kube(
                        metadata={"name": "allow-dns", "namespace": ns.name, "labels": base},
                        spec={
                            "podSelector": {},
                            "policyTypes": ["Egress"],
                            "egress": [{"to": [KUBE_DNS_PEER], "ports": DNS_PORTS}],
                        },
                    ),
                    opts=in_ns(ns.name),
                )
            if args.quota is not None:
                q = args.quota
                k8s.core.v1.ResourceQuota(
                    f"{name}-{ns.name}-quota",
                    metadata={"name": "phistack-quota", "namespace": ns.name, "labels": base},
                    spec={
                        "hard": {
                            "requests.nvidia.com/gpu": str(q.gpus),
                            "requests.cpu": q.requests_cpu,
                            "requests.memory": q.requests_memory,
                            "limits.cpu": q.limits_cpu,
                            "limits.memory": q.limits_memory,
                            "pods": str(q.pods),
                            "persistentvolumeclaims": str(q.persistent_volume_claims),
                        }
                    },
                    opts=in_ns(ns.name),
                )
            for role, rules in (("viewer", _VIEWER_RULES), ("operator", _OPERATOR_RULES)):
                k8s.rbac.v1.Role(
                    f"{name}-{ns.name}-{role}",
                    **kube(
                        metadata={"name": f"phistack-{role}", "namespace": ns.name, "labels": base},
                        rules=rules,
                    ),
                    opts=in_ns(ns.name),
                )

        for allow in args.network_allows:
            peer: dict[str, object]
            if allow.peer_cidr is not None:
                peer = {"ipBlock": {"cidr": allow.peer_cidr}}
            elif allow.peer_namespace is not None:
                peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": allow.peer_namespace}}}
            else:
                raise ValueError(f"network_allows[{allow.name}]: set peer_namespace or peer_cidr")
            ports = [{"port": p.port, "protocol": p.protocol} for p in allow.ports]
            rule = {"from" if allow.direction == "ingress" else "to": [peer], "ports": ports}
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{allow.namespace}-allow-{allow.name}",
                **kube(
                    metadata={"name": f"allow-{allow.name}", "namespace": allow.namespace, "labels": base},
                    spec={
                        "podSelector": {},
                        "policyTypes": ["Ingress" if allow.direction == "ingress" else "Egress"],
                        allow.direction: [rule],
                    },
                ),
                opts=in_ns(allow.namespace),
            )

        for grant in args.access_grants:
            subject = slug(grant.subject)
            role_name = f"phistack-{grant.role}"
            if grant.role == "custom":
                role_name = f"phistack-custom-{subject}"
                k8s.rbac.v1.Role(
                    f"{name}-{grant.namespace}-role-{subject}",
                    **kube(
                        metadata={"name": role_name, "namespace": grant.namespace, "labels": base},
                        rules=[
                            {"apiGroups": r.api_groups, "resources": r.resources, "verbs": r.verbs} for r in grant.rules
                        ],
                    ),
                    opts=in_ns(grant.namespace),
                )
            k8s.rbac.v1.RoleBinding(
                f"{name}-{grant.namespace}-binding-{grant.role}-{subject}",
                **kube(
                    metadata={"name": f"phistack-{grant.role}-{subject}", "namespace": grant.namespace, "labels": base},
                    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
                    subjects=[
                        {"apiGroup": "rbac.authorization.k8s.io", "kind": grant.subject_kind, "name": grant.subject}
                    ],
                ),
                opts=in_ns(grant.namespace),
            )

        if runtime_class_name == CONFIDENTIAL_VM_RUNTIME_CLASS:
            # The node is the confidential VM: runc, no per-pod VM overhead; pods go to the confidential pools.
            k8s.node.v1.RuntimeClass(
                f"{name}-runtime-class",
                **kube(
                    metadata={"name": runtime_class_name, "labels": base},
                    handler="runc",
                    scheduling={
                        "nodeSelector": {**CC_NODE_SELECTOR, **self.workload_node_selector},
                        "tolerations": [{"operator": "Equal", **t} for t in self.workload_tolerations],
                    },
                ),
                opts=own,
            )
        elif runtime_class_name is not None:
            k8s.node.v1.RuntimeClass(
                f"{name}-runtime-class",
                **kube(
                    metadata={"name": runtime_class_name, "labels": base},
                    handler=runtime_class_name,
                    overhead={"podFixed": {"cpu": "250m", "memory": "2Gi"}},
                    scheduling={"nodeSelector": dict(CC_NODE_SELECTOR)},
                ),
                opts=own,
            )

        if args.cluster_admin_subjects:
            k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-cluster-admin",
                **kube(
                    metadata={"name": "phistack-cluster-admin", "labels": base},
                    role_ref={"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "cluster-admin"},
                    subjects=[{"apiGroup": RBAC_GROUP, "kind": "User", "name": s} for s in args.cluster_admin_subjects],
                ),
                opts=own,
            )

        self.namespace_resources = namespaces
        self.register_outputs({"runtime_class_name": self.runtime_class_name, "namespaces": self.namespace_names})
