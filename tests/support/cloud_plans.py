"""Synthetic plans of cloud-provisioned clusters (GKE, AKS): provider resources with camelCase inputs, as the
providers serialize them."""

from __future__ import annotations

from typing import Any

GKE_KEY = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/"


def gke_pool(name: str = "h100-cc", machine: str = "a3-highgpu-1g", nodes: int = 1, tee: str | None = "TDX") -> dict:
    config: dict[str, Any] = {"machineType": machine, "bootDiskKmsKey": GKE_KEY + "disk"}
    if tee is not None:
        config["confidentialNodes"] = {"enabled": True, "confidentialInstanceType": tee}
    inputs = {
        "location": "us-central1",
        "nodeLocations": ["us-central1-a"],
        "nodeCount": nodes,
        "cluster": "projects/p/locations/us-central1/clusters/gke-phi",
        "name": name,
        "nodeConfig": config,
    }
    return {
        "type": "gcp:container/nodePool:NodePool",
        "urn": f"urn:pulumi:s::p::gcp:container/nodePool:NodePool::{name}",
        "name": name,
        "inputs": inputs,
    }


def gke_cluster() -> dict:
    inputs = {"location": "us-central1", "name": "gke-phi", "databaseEncryption": {"keyName": GKE_KEY + "secrets"}}
    return {
        "type": "gcp:container/cluster:Cluster",
        "urn": "urn:pulumi:s::p::gcp:container/cluster:Cluster::gke",
        "name": "gke",
        "inputs": inputs,
    }


def aks_cluster(system_size: str = "Standard_D4ds_v5", extra_profiles: list[dict] | None = None) -> dict:
    profiles = [{"name": "system", "vmSize": system_size, "count": 2, "mode": "System"}, *(extra_profiles or [])]
    inputs = {
        "location": "eastus2",
        "resourceName": "aks-phi",
        "agentPoolProfiles": profiles,
        "diskEncryptionSetID": "des-1",
        "securityProfile": {"azureKeyVaultKms": {"keyId": "https://kv.vault.azure.net/keys/secrets/1"}},
    }
    return {
        "type": "azure-native:containerservice:ManagedCluster",
        "urn": "urn:pulumi:s::p::azure-native:containerservice:ManagedCluster::aks",
        "name": "aks",
        "inputs": inputs,
    }


def aks_pool(name: str = "h100cc", size: str = "Standard_NCC40ads_H100_v5", count: int = 1) -> dict:
    inputs = {
        "agentPoolName": name,
        "resourceName": "aks-phi",
        "resourceGroupName": "rg",
        "vmSize": size,
        "count": count,
        "mode": "User",
        "enableEncryptionAtHost": True,
    }
    return {
        "type": "azure-native:containerservice:AgentPool",
        "urn": f"urn:pulumi:s::p::azure-native:containerservice:AgentPool::{name}",
        "name": name,
        "inputs": inputs,
    }


def plan_of(*resources: dict) -> dict[str, Any]:
    return {"stack": "cloud", "resources": list(resources)}
