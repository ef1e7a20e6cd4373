"""The ``gke`` backend of ConfidentialGpuCluster: a private, regional GKE Standard cluster with CMEK everywhere,
a least-privilege node identity, Confidential GKE Nodes (Intel TDX) GPU pools and audit logs routed to a
CMEK-encrypted Pub/Sub topic.

Every resource is a child of the component, so the plan shows each setting under the component that asked for
it; the weakenings (``private_endpoint=False``, a pool with ``confidential=False``, ``audit_log_topic=None``)
appear as explicit inputs of the cloud resources, where the gate reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from modules._common import slug
from modules.cloud import (
    CONFIDENTIAL_TAINT,
    CloudNodePool,
    GkeSettings,
    ProvisionedCluster,
    confidential_pool_labels,
    plain_pool_labels,
)

if TYPE_CHECKING:
    from modules.confidential_gpu_cluster import ConfidentialGpuClusterArgs

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
KMS_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
# The minimum GKE documents for a node service account (it replaces the older logWriter/metricWriter/viewer/
# resourceMetadata.writer set); image pulls from Artifact Registry are a use case of their own.
# https://cloud.google.com/kubernetes-engine/docs/how-to/service-accounts (Grant the minimum required role for GKE)
NODE_ROLES: tuple[str, ...] = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")
# GKE sends the API server, control plane and workload logs only for the components listed here.
LOGGING_COMPONENTS: tuple[str, ...] = ("SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS")
# Buffer for the SIEM: messages stay a week if it falls behind (Pub/Sub allows 10 minutes to 31 days).
AUDIT_MESSAGE_RETENTION = "604800s"
# Kubernetes taint effects as the GKE API spells them.
GKE_TAINT_EFFECTS: dict[str, str] = {
    "NoSchedule": "NO_SCHEDULE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
}
# Kubernetes names the TEE of a confidential GPU node; GKE names its confidential instance type.
CC_MODE_INSTANCE_TYPE: dict[str, str] = {"tdx": "TDX", "snp": "SEV_SNP"}


@dataclass(frozen=True)
class GpuMachine:
    """What a GCE GPU machine type carries and how GKE must provision it."""

    accelerator: str
    """GKE accelerator type of its GPUs."""
    count: int
    """GPUs per machine."""
    confidential_type: str | None
    """Confidential instance type GKE offers GPU nodes of this type in, or None where it offers none."""
    spot_only: bool
    """Compute Engine sells it only as Spot or Flex-start VMs."""


# The GPU machine types this backend knows (a later machine catalogue replaces this table).
# - a3-highgpu-1g carries one nvidia-h100-80gb; it is the only shape GKE runs as a confidential GPU node, and then
#   with Intel TDX: https://cloud.google.com/kubernetes-engine/docs/how-to/gpus-confidential-nodes
#   (Requirements: "one NVIDIA H100 80GB GPU and the a3-highgpu-1g machine type", "Intel TDX").
# - a3-highgpu-1g/-2g/-4g are sold only as Spot or Flex-start VMs, a3-highgpu-8g on demand as well:
#   https://cloud.google.com/compute/docs/accelerator-optimized-machines (A3 High).
GPU_MACHINES: dict[str, GpuMachine] = {
    "a3-highgpu-1g": GpuMachine(accelerator="nvidia-h100-80gb", count=1, confidential_type="TDX", spot_only=True),
    "a3-highgpu-8g": GpuMachine(accelerator="nvidia-h100-80gb", count=8, confidential_type=None, spot_only=False),
}


@dataclass(frozen=True)
class Keys:
    """The cluster's key ring, its customer-managed keys and the grants that let Google's service agents use them."""

    ring: gcp.kms.KeyRing
    secrets: gcp.kms.CryptoKey
    disks: gcp.kms.CryptoKey
    secrets_grant: gcp.kms.CryptoKeyIAMMember
    disks_grant: gcp.kms.CryptoKeyIAMMember


def provision(component: pulumi.ComponentResource, name: str, args: ConfidentialGpuClusterArgs) -> ProvisionedCluster:
    """Create the cluster, its keys, node identity, pools and audit routing as children of ``component``."""
    settings = _require_settings(args)
    machines = {pool.name: gpu_machine(pool, args.cc_mode) for pool in args.cloud_node_pools}
    number = gcp.organizations.get_project_output(project_id=settings.project).number
    keys = _keys(component, name, args.cluster_name, settings, number)
    account, account_grants = _node_service_account(component, name, args.cluster_name, settings)
    cluster = _cluster(component, name, args.cluster_name, settings, keys)
    # Nodes boot only once Compute Engine may use the disk key and the node account holds its roles.
    pool_deps: list[pulumi.Resource] = [keys.disks_grant, *account_grants]
    system = _system_pool(component, name, settings, cluster, keys.disks, account, pool_deps)
    gpu_pools = [
        _gpu_pool(component, name, settings, cluster, keys.disks, account, pool, machines[pool.name], pool_deps)
        for pool in args.cloud_node_pools
    ]
    if settings.audit_log_topic is not None:
        _audit_routing(component, name, args.cluster_name, settings, settings.audit_log_topic, keys.ring, number)
    provider = k8s.Provider(
        f"{name}-kubernetes",
        kubeconfig=_kubeconfig(args.cluster_name, cluster),
        opts=pulumi.ResourceOptions(parent=component, depends_on=[system]),
    )
    return ProvisionedCluster(kubernetes_provider=provider, node_pools=list(gpu_pools), storage_key=keys.disks.id)


def _require_settings(args: ConfidentialGpuClusterArgs) -> GkeSettings:
    if args.gke is None:
        raise ValueError(
            "backend 'gke' needs gke settings (GkeSettings: project, region, node_locations, network, ...)"
        )
    if not args.cloud_node_pools:
        raise ValueError("backend 'gke' needs at least one entry in cloud_node_pools (the GPU pools it creates)")
    return args.gke


def gpu_machine(pool: CloudNodePool, cc_mode: str) -> GpuMachine:
    """The table entry for ``pool``'s machine type; raises ValueError where the pool cannot be built as asked."""
    machine = GPU_MACHINES.get(pool.machine_type)
    if machine is None:
        known = ", ".join(sorted(GPU_MACHINES))
        raise ValueError(
            f"cloud_node_pools[{pool.name}].machine_type {pool.machine_type!r} is not a GKE GPU machine type "
            f"this backend knows ({known})"
        )
    if pool.confidential and machine.confidential_type is None:
        raise ValueError(
            f"cloud_node_pools[{pool.name}]: GKE offers no confidential GPU node on {pool.machine_type!r}; "
            "use a3-highgpu-1g or set confidential: false (a weakening)"
        )
    wanted, offered = CC_MODE_INSTANCE_TYPE.get(cc_mode), machine.confidential_type or ""
    if pool.confidential and wanted is not None and wanted != offered:
        raise ValueError(
            f"cloud_node_pools[{pool.name}]: cc_mode {cc_mode!r} asks for {wanted}, but GKE runs "
            f"{pool.machine_type!r} confidential nodes only as {offered}; set cc_mode to {offered.lower()!r}"
        )
    return machine


def _child(
    component: pulumi.Resource, *, protect: bool = False, deps: list[pulumi.Resource] | None = None
) -> pulumi.ResourceOptions:
    """Options of every child: parented to the component, nothing else of the caller's."""
    return pulumi.ResourceOptions(parent=component, protect=protect, depends_on=deps or [])


def _agent(number: pulumi.Output[str], domain: str) -> pulumi.Output[str]:
    """IAM member of a Google service agent of the project (``service-<number>@<domain>``)."""
    return number.apply(lambda n: f"serviceAccount:service-{n}@{domain}")


def _keys(
    component: pulumi.Resource, name: str, cluster_name: str, settings: GkeSettings, number: pulumi.Output[str]
) -> Keys:
    # Key ring and keys live in the cluster's region: GKE asks for the secrets key "in the same location as the
    # cluster" (https://cloud.google.com/kubernetes-engine/docs/how-to/encrypting-secrets), and the audit
    # topic keeps its messages in that region (message storage policy below).
    ring = gcp.kms.KeyRing(
        f"{name}-keyring",
        name=settings.key_ring,
        location=settings.region,
        project=settings.project,
        # Cloud KMS never deletes a key ring; protect it so a destroy cannot drop it from state silently.
        opts=_child(component, protect=True),
    )
    secrets = _key(component, f"{name}-key-secrets", f"{cluster_name}-secrets", ring, settings)
    disks = _key(component, f"{name}-key-disks", f"{cluster_name}-disks", ring, settings)
    # Service agents that wrap data keys with ours:
    # GKE (secrets): https://cloud.google.com/kubernetes-engine/docs/how-to/encrypting-secrets
    # Compute Engine (boot disks): https://cloud.google.com/kubernetes-engine/docs/how-to/using-cmek
    return Keys(
        ring=ring,
        secrets=secrets,
        disks=disks,
        secrets_grant=_grant(
            component,
            f"{name}-key-secrets-gke",
            secrets,
            _agent(number, "container-engine-robot.iam.gserviceaccount.com"),
        ),
        disks_grant=_grant(
            component, f"{name}-key-disks-compute", disks, _agent(number, "compute-system.iam.gserviceaccount.com")
        ),
    )


def _key(
    component: pulumi.Resource, resource_name: str, key_name: str, ring: gcp.kms.KeyRing, settings: GkeSettings
) -> gcp.kms.CryptoKey:
    return gcp.kms.CryptoKey(
        resource_name,
        name=key_name,
        key_ring=ring.id,
        purpose="ENCRYPT_DECRYPT",
        rotation_period=f"{settings.key_rotation_days * 86400}s",
        # HSM: the key material never leaves FIPS 140-2 Level 3 hardware, which an auditor can verify from the
        # key's own metadata; GKE takes a key of "any of the protection levels supported by Cloud KMS"
        # (https://cloud.google.com/kubernetes-engine/docs/how-to/encrypting-secrets).
        version_template={"algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION", "protection_level": "HSM"},
        # Destroying a key shreds every disk, secret and message under it: make that a deliberate act.
        opts=_child(component, protect=True),
    )


def _grant(
    component: pulumi.Resource, resource_name: str, key: gcp.kms.CryptoKey, member: pulumi.Output[str]
) -> gcp.kms.CryptoKeyIAMMember:
    return gcp.kms.CryptoKeyIAMMember(
        resource_name, crypto_key_id=key.id, role=KMS_ROLE, member=member, opts=_child(component)
    )


def _node_service_account(
    component: pulumi.Resource, name: str, cluster_name: str, settings: GkeSettings
) -> tuple[gcp.serviceaccount.Account, list[gcp.projects.IAMMember]]:
    # Not the Compute Engine default account, which holds Editor on the project.
    account = gcp.serviceaccount.Account(
        f"{name}-nodes",
        account_id=_account_id(cluster_name),
        display_name=f"GKE nodes of {cluster_name}",
        project=settings.project,
        opts=_child(component),
    )
    grants = [
        gcp.projects.IAMMember(
            f"{name}-nodes-{role.split('/')[-1].replace('.', '-').lower()}",
            project=settings.project,
            role=role,
            member=account.email.apply(lambda email: f"serviceAccount:{email}"),
            opts=_child(component),
        )
        for role in NODE_ROLES
    ]
    return account, grants


def _account_id(cluster_name: str) -> str:
    """A service account id (6-30 characters, a letter first) for the cluster's nodes."""
    base = slug(cluster_name)[:24].strip("-")
    if not base[:1].isalpha():
        base = f"gke-{base}"[:24].strip("-")
    return f"{base}-nodes"


def _cluster(
    component: pulumi.Resource, name: str, cluster_name: str, settings: GkeSettings, keys: Keys
) -> gcp.container.Cluster:
    return gcp.container.Cluster(
        f"{name}-cluster",
        name=cluster_name,
        location=settings.region,  # regional: a control plane replica in each zone
        project=settings.project,
        network=settings.network,
        subnetwork=settings.subnetwork,
        networking_mode="VPC_NATIVE",
        ip_allocation_policy={},  # VPC-native with GKE-managed secondary ranges
        # Dataplane V2 enforces the component's NetworkPolicies ("network policy is always on"):
        # https://cloud.google.com/kubernetes-engine/docs/concepts/dataplane-v2
        datapath_provider="ADVANCED_DATAPATH",
        # The default pool would run without our key, identity and shielding: GKE removes it once created.
        remove_default_node_pool=True,
        initial_node_count=1,
        private_cluster_config={
            "enable_private_nodes": True,
            "enable_private_endpoint": settings.private_endpoint,
            "master_ipv4_cidr_block": settings.master_ipv4_cidr_block,
        },
        master_authorized_networks_config={
            "cidr_blocks": [
                {"cidr_block": n.cidr, "display_name": n.name} for n in settings.master_authorized_networks
            ],
            "gcp_public_cidrs_access_enabled": False,
        },
        master_auth={"client_certificate_config": {"issue_client_certificate": False}},
        enable_legacy_abac=False,
        enable_shielded_nodes=True,
        workload_identity_config={"workload_pool": f"{settings.project}.svc.id.goog"},
        database_encryption={"state": "ENCRYPTED", "key_name": keys.secrets.id},
        binary_authorization={"evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE"},
        release_channel={"channel": settings.release_channel},
        logging_config={"enable_components": list(LOGGING_COMPONENTS)},
        deletion_protection=True,
        # confidential_nodes stays unset here: at cluster level it would force every pool, the system pool
        # included, onto confidential machine types.
        opts=_child(component, deps=[keys.secrets_grant]),
    )


def _node_config(
    disk_key: gcp.kms.CryptoKey, account: gcp.serviceaccount.Account, **specific: Any
) -> gcp.container.NodePoolNodeConfigArgsDict:
    """What every pool's nodes share: CMEK boot disk, Shielded VM, the node identity, GKE metadata server."""
    config = {
        "boot_disk_kms_key": disk_key.id,
        "service_account": account.email,
        "oauth_scopes": [CLOUD_PLATFORM_SCOPE],  # access is bounded by the account's IAM roles
        "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
        "workload_metadata_config": {"mode": "GKE_METADATA"},
        "image_type": "COS_CONTAINERD",
        "metadata": {"disable-legacy-endpoints": "true"},
        **specific,
    }
    return cast("gcp.container.NodePoolNodeConfigArgsDict", config)


def _system_pool(
    component: pulumi.Resource,
    name: str,
    settings: GkeSettings,
    cluster: gcp.container.Cluster,
    disk_key: gcp.kms.CryptoKey,
    account: gcp.serviceaccount.Account,
    deps: list[pulumi.Resource],
) -> gcp.container.NodePool:
    return gcp.container.NodePool(
        f"{name}-pool-system",
        name="system",
        cluster=cluster.id,
        location=settings.region,
        project=settings.project,
        node_count=1,  # per zone of the region
        node_config=_node_config(disk_key, account, machine_type=settings.system_machine_type),
        management={"auto_repair": True, "auto_upgrade": True},
        opts=_child(component, deps=deps),
    )


def _gpu_pool(
    component: pulumi.Resource,
    name: str,
    settings: GkeSettings,
    cluster: gcp.container.Cluster,
    disk_key: gcp.kms.CryptoKey,
    account: gcp.serviceaccount.Account,
    pool: CloudNodePool,
    machine: GpuMachine,
    deps: list[pulumi.Resource],
) -> gcp.container.NodePool:
    return gcp.container.NodePool(
        f"{name}-pool-{pool.name}",
        name=pool.name,
        cluster=cluster.id,
        location=settings.region,
        project=settings.project,
        node_locations=list(settings.node_locations),
        node_count=pool.node_count,  # GKE counts nodes per zone of node_locations
        node_config=_node_config(disk_key, account, **_gpu_node_config(pool, machine)),
        management={"auto_repair": True, "auto_upgrade": True},
        opts=_child(component, deps=deps),
    )


def _gpu_node_config(pool: CloudNodePool, machine: GpuMachine) -> dict[str, Any]:
    """Machine, GPUs, provisioning model and the confidential settings (or their explicit absence)."""
    config: dict[str, Any] = {
        "machine_type": pool.machine_type,
        "guest_accelerators": [
            {
                "type": machine.accelerator,
                "count": machine.count,
                "gpu_driver_installation_config": {"gpu_driver_version": _driver_version(pool)},
            }
        ],
        "labels": confidential_pool_labels(pool.name) if pool.confidential else plain_pool_labels(pool.name),
        # Explicit either way, so a pool that is not confidential reads as such in the plan.
        "confidential_nodes": (
            {"enabled": True, "confidential_instance_type": machine.confidential_type}
            if pool.confidential
            else {"enabled": False}
        ),
        # Spot: a3-highgpu-1g exists only as Spot or Flex-start VMs
        # (https://cloud.google.com/compute/docs/accelerator-optimized-machines), and confidential GPU nodes on
        # GKE must use Spot, preemptible or Flex-start VMs, all drawing on the preemptible H100 quota
        # (https://cloud.google.com/kubernetes-engine/docs/how-to/gpus-confidential-nodes). Google's own
        # confidential GPU example sets spot = true (terraform-google-modules/terraform-google-kubernetes-engine,
        # examples/confidential_gpu_public/main.tf). Spot nodes can be reclaimed at any time: jobs must resume.
        "spot": machine.spot_only,
    }
    if pool.confidential:
        effect = GKE_TAINT_EFFECTS[CONFIDENTIAL_TAINT["effect"]]
        config["taints"] = [{"key": CONFIDENTIAL_TAINT["key"], "value": CONFIDENTIAL_TAINT["value"], "effect": effect}]
    return config


def _driver_version(pool: CloudNodePool) -> str:
    """GKE's automatic driver install does not cover confidential GPU nodes: they take a driver that supports
    NVIDIA CC from Google's confidential installer DaemonSet instead ("using GPUs with Confidential GKE Nodes"
    is listed as a case for manual installation; manifest nvidia-driver-installer/cos/daemonset-confidential.yaml
    of GoogleCloudPlatform/container-engine-accelerators):
    https://cloud.google.com/kubernetes-engine/docs/how-to/gpus (Manually install NVIDIA GPU drivers)."""
    return "INSTALLATION_DISABLED" if pool.confidential else "DEFAULT"


def _audit_routing(
    component: pulumi.Resource,
    name: str,
    cluster_name: str,
    settings: GkeSettings,
    topic_name: str,
    ring: gcp.kms.KeyRing,
    number: pulumi.Output[str],
) -> None:
    key = _key(component, f"{name}-key-audit", f"{cluster_name}-audit", ring, settings)
    # The Pub/Sub service agent wraps the topic's data keys: https://cloud.google.com/pubsub/docs/cmek
    grant = _grant(component, f"{name}-key-audit-pubsub", key, _agent(number, "gcp-sa-pubsub.iam.gserviceaccount.com"))
    topic = gcp.pubsub.Topic(
        f"{name}-audit-topic",
        name=topic_name,
        project=settings.project,
        kms_key_name=key.id,
        message_retention_duration=AUDIT_MESSAGE_RETENTION,
        # Audit records stay in the cluster's region, where their (regional) key is.
        message_storage_policy={"allowed_persistence_regions": [settings.region]},
        opts=_child(component, deps=[grant]),
    )
    sink = gcp.logging.ProjectSink(
        f"{name}-audit-sink",
        name=f"{cluster_name}-audit",
        project=settings.project,
        destination=f"pubsub.googleapis.com/projects/{settings.project}/topics/{topic_name}",
        filter=audit_filter(cluster_name, settings.region),
        unique_writer_identity=True,
        opts=_child(component, deps=[topic]),
    )
    gcp.pubsub.TopicIAMMember(
        f"{name}-audit-publisher",
        project=settings.project,
        topic=topic.name,
        role="roles/pubsub.publisher",
        member=sink.writer_identity,
        opts=_child(component),
    )


def audit_filter(cluster_name: str, region: str) -> str:
    """Cloud Logging filter for the Cloud Audit Logs of one GKE cluster (Kubernetes API and GKE API)."""
    return (
        'resource.type="k8s_cluster"'
        f' AND resource.labels.cluster_name="{cluster_name}"'
        f' AND resource.labels.location="{region}"'
        ' AND logName:"cloudaudit.googleapis.com"'
    )


def _kubeconfig(cluster_name: str, cluster: gcp.container.Cluster) -> pulumi.Output[str]:
    """Kubeconfig for the new cluster; credentials come from gke-gcloud-auth-plugin at each call, so no token or
    client certificate is ever stored in the state."""
    return pulumi.Output.all(cluster.endpoint, cluster.master_auth.cluster_ca_certificate).apply(
        lambda values: kubeconfig_text(cluster_name, values[0], values[1])
    )


def kubeconfig_text(cluster_name: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig (JSON, which is YAML) that authenticates through the gke-gcloud-auth-plugin exec plugin."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca_certificate},
                }
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "gke-gcloud-auth-plugin",
                            "installHint": "Install gke-gcloud-auth-plugin: "
                            "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl",
                            "provideClusterInfo": True,
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )
