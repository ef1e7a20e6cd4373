"""The cloud infrastructure a plan declares when ConfidentialGpuCluster provisions its cluster (``gke``, ``aks``):
clusters, GPU node pools, their keys, and what the machine catalogue (``policies/data/cloud_machine_types.json``)
says about each pool's machine type.

One reader of the provider resources (inputs camelCase, as the providers serialize them) for the cost model and
the evidence pack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phistack.evidence.facts import components, show
from phistack.hardware import MachineType, machine_catalogue

GKE_CLUSTER = "gcp:container/cluster:Cluster"
GKE_POOL = "gcp:container/nodePool:NodePool"
AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"
AKS_POOL = "azure-native:containerservice:AgentPool"

BAA_PROVIDERS = {"gcp": "google-cloud", "azure": "microsoft-azure"}
"""The BAA registry's provider id of each cloud."""
BAA_PLANS = {"gcp": "gke", "azure": "aks"}
"""The registry plan a cluster of each cloud runs on."""


def _dict(value: Any) -> dict[str, Any]:
    """A nested plan object, or empty when absent or not an object (unknown at plan time, say)."""
    return value if isinstance(value, dict) else {}


def _inputs(resource: Mapping[str, Any]) -> dict[str, Any]:
    return _dict(resource.get("inputs"))


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


@dataclass(frozen=True)
class CloudCluster:
    """A GKE or AKS cluster and the keys that protect it."""

    cloud: str
    name: str
    location: str
    secrets_key: str
    """Key encrypting Kubernetes secrets (GKE databaseEncryption, AKS Key Vault KMS)."""
    disk_key: str
    """AKS disk encryption set; GKE sets a boot disk key per pool instead."""


@dataclass(frozen=True)
class CloudPool:
    """A node pool of a cloud cluster, as the plan declares it."""

    cloud: str
    cluster: str
    name: str
    location: str
    machine_type: str
    nodes: int | None
    declared_tee: str | None
    """GKE: the confidentialInstanceType asked for ("" when enabled without one, None when off); AKS: None, the
    VM size alone decides."""
    boot_disk_key: str

    @property
    def machine(self) -> MachineType | None:
        """The catalogue entry of the pool's machine type, or None for unknown hardware."""
        return machine_catalogue().lookup(self.cloud, self.machine_type)


def cloud_clusters(plan: Mapping[str, Any]) -> list[CloudCluster]:
    """Every GKE and AKS cluster of ``plan``."""
    out = []
    for r in components(dict(plan), GKE_CLUSTER):
        inputs = _inputs(r)
        encryption = _dict(inputs.get("databaseEncryption"))
        out.append(
            CloudCluster(
                "gcp",
                show(inputs.get("name"), r.get("name", "")),
                show(inputs.get("location")),
                show(encryption.get("keyName"), "none"),
                "per node pool",
            )
        )
    for r in components(dict(plan), AKS_CLUSTER):
        inputs = _inputs(r)
        kms = _dict(_dict(inputs.get("securityProfile")).get("azureKeyVaultKms"))
        out.append(
            CloudCluster(
                "azure",
                show(inputs.get("resourceName"), r.get("name", "")),
                show(inputs.get("location")),
                show(kms.get("keyId"), "none"),
                show(inputs.get("diskEncryptionSetID"), "none"),
            )
        )
    return out


def _gke_pool(r: Mapping[str, Any]) -> CloudPool:
    inputs = _inputs(r)
    config = _dict(inputs.get("nodeConfig"))
    confidential = _dict(config.get("confidentialNodes"))
    tee = str(confidential.get("confidentialInstanceType") or "") if confidential.get("enabled") is True else None
    zones = inputs.get("nodeLocations")
    location = show(inputs.get("location"))
    if isinstance(zones, list) and zones:
        location = f"{location} ({', '.join(show(z) for z in zones)})"
    return CloudPool(
        "gcp",
        show(inputs.get("cluster")),
        show(inputs.get("name"), r.get("name", "")),
        location,
        show(config.get("machineType")),
        _gke_nodes(inputs.get("nodeCount"), zones),
        tee,
        show(config.get("bootDiskKmsKey"), "none"),
    )


def _gke_nodes(per_zone: Any, zones: Any) -> int | None:
    """GKE's nodeCount is per zone: a pool spread over two node locations has twice as many nodes. Without
    nodeLocations the pool takes the cluster's zones, which the plan may not say: nodeCount is shown as is."""
    count = _count(per_zone)
    if count is not None and isinstance(zones, list) and zones:
        return count * len(zones)
    return count


def _aks_pool(cluster: Mapping[str, Any], pool: Mapping[str, Any], name_key: str, count_key: str) -> CloudPool:
    """An AKS pool: a separate AgentPool or an inline agentPoolProfiles entry; location and disk key are the
    cluster's."""
    return CloudPool(
        "azure",
        show(cluster.get("resourceName")),
        show(pool.get(name_key)),
        show(cluster.get("location")),
        show(pool.get("vmSize")),
        _count(pool.get(count_key)),
        None,
        show(cluster.get("diskEncryptionSetID"), "none"),
    )


def cloud_pools(plan: Mapping[str, Any]) -> list[CloudPool]:
    """Every GKE node pool and AKS agent pool of ``plan``, the ManagedCluster's inline pools included.

    An inline pool that a separate AgentPool of the same cluster also declares is the same Azure pool: it is
    listed once, as the AgentPool, so it is never counted (or priced) twice.
    """
    resources = dict(plan)
    out = [_gke_pool(r) for r in components(resources, GKE_POOL)]
    clusters = {show(_inputs(c).get("resourceName")): _inputs(c) for c in components(resources, AKS_CLUSTER)}
    separate = []
    for r in components(resources, AKS_POOL):
        inputs = _inputs(r)
        owner = clusters.get(show(inputs.get("resourceName")), {"resourceName": inputs.get("resourceName")})
        separate.append(_aks_pool(owner, inputs, "agentPoolName", "count"))
    declared = {(p.cluster, p.name) for p in separate}
    for cluster in clusters.values():
        for profile in cluster.get("agentPoolProfiles") or []:
            if isinstance(profile, dict):
                pool = _aks_pool(cluster, profile, "name", "count")
                if (pool.cluster, pool.name) not in declared:
                    out.append(pool)
    return out + separate


def confidential_mode(pool: CloudPool) -> str:
    """What the pool runs as: the resource's request judged against the machine catalogue."""
    machine = pool.machine
    if machine is None:
        return f"unknown machine type {pool.machine_type!r}: not trusted"
    offered = machine.confidential
    if pool.cloud == "azure":  # the VM size alone decides
        return "not confidential (VM size)" if offered is None else _offered(offered.cpu_tee, offered.gpu_cc, "VM size")
    if pool.declared_tee is None:
        return "not confidential (confidentialNodes off)"
    if offered is None or pool.declared_tee.lower().replace("_", "-") != offered.cpu_tee:
        return f"confidentialNodes asks for {pool.declared_tee or 'no type'}, which {machine.name} does not offer"
    return _offered(offered.cpu_tee, offered.gpu_cc, "confidentialNodes")


def _offered(tee: str, gpu_cc: bool, how: str) -> str:
    gpu = "GPU in CC mode" if gpu_cc else "GPU not in CC mode"
    return f"{tee.upper()} confidential VM, {gpu} ({how})"


def covering_agreements(cloud: str, agreements: list[Any]) -> list[str]:
    """The BAA registry entries that cover a cloud's clusters, as ``reference (expires date)``."""
    provider, plan = BAA_PROVIDERS.get(cloud), BAA_PLANS.get(cloud)
    return [
        f"{a.get('reference')} ({provider}, expires {a.get('expires')})"
        for a in agreements
        if isinstance(a, dict) and a.get("provider") == provider and plan in (a.get("plans") or [])
    ]


@dataclass(frozen=True)
class CloudInfrastructure:
    """One row of the evidence pack's Cloud infrastructure section: a pool, its cluster's keys and its BAA."""

    cloud: str
    cluster: str
    pool: str
    location: str
    machine_type: str
    gpu: str
    confidential: str
    boot_disk_key: str
    secrets_key: str
    disk_encryption_set: str
    baa: str


def _gpu(machine: MachineType | None) -> str:
    if machine is None:
        return "unknown (not in the machine catalogue)"
    return "none" if machine.gpu_model is None else f"{machine.gpu_count} × {machine.gpu_model}"


def _cluster_of(pool: CloudPool, clusters: list[CloudCluster]) -> CloudCluster | None:
    """The pool's cluster: by name or resource id (``projects/p/locations/l/clusters/NAME``), else the cloud's
    only cluster (a GKE pool names its cluster by an id the plan may not know yet)."""
    same_cloud = [c for c in clusters if c.cloud == pool.cloud]
    named = [c for c in same_cloud if pool.cluster in (c.name,) or pool.cluster.endswith(f"/{c.name}")]
    if named:
        return named[0]
    return same_cloud[0] if len(same_cloud) == 1 else None


def infrastructure(plan: Mapping[str, Any], agreements: list[Any]) -> list[CloudInfrastructure]:
    """The Cloud infrastructure section: every cloud pool of ``plan`` with what protects it and who covers it."""
    clusters = cloud_clusters(plan)
    rows = []
    for pool in cloud_pools(plan):
        cluster = _cluster_of(pool, clusters)
        rows.append(
            CloudInfrastructure(
                cloud=pool.cloud,
                cluster=pool.cluster,
                pool=pool.name,
                location=pool.location,
                machine_type=pool.machine_type,
                gpu=_gpu(pool.machine),
                confidential=confidential_mode(pool),
                boot_disk_key=pool.boot_disk_key,
                secrets_key=cluster.secrets_key if cluster else "—",
                disk_encryption_set=cluster.disk_key if cluster and pool.cloud == "azure" else "—",
                baa="; ".join(covering_agreements(pool.cloud, agreements)) or "none on file",
            )
        )
    return rows
