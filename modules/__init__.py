"""Pulumi components for HIPAA-grade GPU workloads; each is secure by default (docs/MODULES.md)."""

from modules.attested_workload import (
    AttestedWorkload,
    AttestedWorkloadArgs,
    KeyBroker,
    ModelProvenance,
    Probes,
    SecuritySettings,
    WorkloadVolume,
)
from modules.audit_log_shipping import AuditLogShipping, AuditLogShippingArgs
from modules.cloud import AksSettings, AuthorizedNetwork, CloudNodePool, GkeSettings
from modules.confidential_gpu_cluster import (
    AccessGrant,
    ConfidentialGpuCluster,
    ConfidentialGpuClusterArgs,
    IdentityProvider,
    NamespaceSpec,
    NetworkAllow,
    NodePool,
    PolicyRule,
    Port,
    Quota,
)
from modules.encrypted_storage import EncryptedStorage, EncryptedStorageArgs, VolumeClaim
from modules.provider_profile import BaaRecord, ProviderProfile, ProviderProfileArgs
from modules.tls_endpoint import Issuer, TlsEndpoint, TlsEndpointArgs

__all__ = [
    "AccessGrant",
    "AksSettings",
    "AttestedWorkload",
    "AttestedWorkloadArgs",
    "AuditLogShipping",
    "AuditLogShippingArgs",
    "AuthorizedNetwork",
    "BaaRecord",
    "CloudNodePool",
    "ConfidentialGpuCluster",
    "ConfidentialGpuClusterArgs",
    "EncryptedStorage",
    "EncryptedStorageArgs",
    "GkeSettings",
    "IdentityProvider",
    "Issuer",
    "KeyBroker",
    "ModelProvenance",
    "NamespaceSpec",
    "NetworkAllow",
    "NodePool",
    "PolicyRule",
    "Port",
    "Probes",
    "ProviderProfile",
    "ProviderProfileArgs",
    "Quota",
    "SecuritySettings",
    "TlsEndpoint",
    "TlsEndpointArgs",
    "VolumeClaim",
    "WorkloadVolume",
]
