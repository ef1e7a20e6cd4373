"""What the cloud backends of ConfidentialGpuCluster share: their settings and the node labels and taint that
steer PHI pods onto confidential GPU pools.

A backend (``modules/backends/gke.py``, ``modules/backends/aks.py``) provisions the cluster, its key
material and its GPU node pools as children of the ConfidentialGpuCluster component, and hands back a
Kubernetes provider for the cluster it created; every Kubernetes object of the stack is then created
through that provider. The ``existing`` backend provisions nothing and uses the ambient provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi

Backend = Literal["existing", "gke", "aks"]
BACKENDS: tuple[str, ...] = ("existing", "gke", "aks")

#: Label every confidential GPU pool carries; PHI workloads select it (``nodeSelector``).
CONFIDENTIAL_POOL_LABEL = "phistack.io/confidential-gpu"
#: Label naming the pool a node belongs to (for people and for the gate's messages).
POOL_NAME_LABEL = "phistack.io/node-pool"
#: Taint on every confidential GPU pool so that only pods that tolerate it (the attested workloads) land there.
CONFIDENTIAL_TAINT: dict[str, str] = {"key": CONFIDENTIAL_POOL_LABEL, "value": "true", "effect": "NoSchedule"}


def confidential_pool_labels(pool: str) -> dict[str, str]:
    """Kubernetes labels of the nodes of a confidential GPU pool named ``pool``."""
    return {CONFIDENTIAL_POOL_LABEL: "true", POOL_NAME_LABEL: pool}


def plain_pool_labels(pool: str) -> dict[str, str]:
    """Labels of a pool that is not confidential (``confidential: false``, a weakening): no CC label."""
    return {POOL_NAME_LABEL: pool}


@dataclass(kw_only=True)
class CloudNodePool:
    """A GPU node pool the cloud backend creates."""

    name: str
    """Pool name (a DNS label)."""
    machine_type: str
    """GCE machine type (``a3-highgpu-1g``) or Azure VM size (``Standard_NCC40ads_H100_v5``); the machine
    catalogue (``policies/data/cloud_machine_types.json``) says which GPU it carries and whether it runs as a
    confidential VM with the GPU in CC mode."""
    node_count: int = 1
    """Nodes in the pool; on GKE per zone of ``node_locations`` (GKE's nodeCount), on AKS in all."""
    confidential: bool = True
    """Confidential VM with the GPU in CC mode; ``False`` creates an ordinary VM pool (a weakening the gate
    denies for PHI) without the confidential label and taint."""


@dataclass(kw_only=True)
class AuthorizedNetwork:
    """A CIDR allowed to reach the (private) control plane."""

    cidr: str
    """CIDR block."""
    name: str = ""
    """Display name."""


@dataclass(kw_only=True)
class GkeSettings:
    """Where and how the ``gke`` backend provisions a private GKE cluster."""

    project: str
    """Google Cloud project id."""
    region: str
    """Region of the (regional) cluster, its key ring and keys (``us-central1``)."""
    node_locations: list[str]
    """Zones of the GPU pools: zones where the machine type is offered as a confidential VM."""
    network: str
    """VPC network (name or self link)."""
    subnetwork: str
    """Subnetwork of the nodes (name or self link)."""
    master_ipv4_cidr_block: str = "172.16.0.0/28"
    """The /28 of the private control plane."""
    master_authorized_networks: list[AuthorizedNetwork] = field(default_factory=list)
    """Networks allowed to reach the control plane's private endpoint."""
    private_endpoint: bool = True
    """Control plane reachable only on its private endpoint; ``False`` exposes a public one (a weakening)."""
    key_ring: str = "phistack"
    """Cloud KMS key ring created for the cluster's keys."""
    key_rotation_days: int = 90
    """Rotation period of every key created."""
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    """GKE release channel."""
    system_machine_type: str = "e2-standard-4"
    """Machine type of the small system pool (kube-system, the log forwarder)."""
    audit_log_topic: str | None = "phistack-audit"
    """Pub/Sub topic (created, under a customer-managed key) the cluster's audit logs are routed to for the
    SIEM to pull; ``None`` routes none (a weakening)."""


@dataclass(kw_only=True)
class AksSettings:
    """Where and how the ``aks`` backend provisions a private AKS cluster."""

    subscription_id: str
    """Azure subscription id."""
    tenant_id: str
    """Entra ID tenant id."""
    resource_group: str
    """Resource group (created) for the cluster, key vault and disk encryption set."""
    location: str
    """Azure region (``eastus2``): one where the VM size is offered."""
    admin_group_object_ids: list[str]
    """Entra ID groups that administer the cluster (Azure RBAC for Kubernetes)."""
    subnet_id: str | None = None
    """Subnet of the nodes (resource id); ``None`` lets AKS create a virtual network."""
    private_cluster: bool = True
    """API server reachable only on a private endpoint; ``False`` exposes a public one (a weakening)."""
    disable_local_accounts: bool = True
    """No local (certificate) admin accounts, Entra ID only; ``False`` is a weakening."""
    key_vault_name: str = "phistack-kv"
    """Key Vault (created, purge-protected, RBAC) holding the customer-managed keys."""
    key_rotation_days: int = 90
    """Rotation period of every key created."""
    system_vm_size: str = "Standard_D4ds_v5"
    """VM size of the system pool."""
    audit_event_hub_rule_id: str | None = None
    """Event Hub namespace authorization rule the cluster's audit logs are sent to for the SIEM
    (a diagnostic setting); ``None`` sends none (a weakening)."""
    audit_event_hub_name: str | None = None
    """Event Hub name inside that namespace."""


@dataclass
class ProvisionedCluster:
    """What a cloud backend hands back to the component."""

    kubernetes_provider: pulumi.ProviderResource
    """Provider for the new cluster: every Kubernetes object of the stack is created through it."""
    node_pools: list[pulumi.Resource]
    """The GPU node pool resources (workloads wait for them)."""
    storage_key: pulumi.Input[str] | None = None
    """The customer-managed key persistent volumes default to: the node disk CryptoKey (GKE) or the disk
    encryption set (AKS)."""
