"""Azure Resource Manager outputs for the offline planner's mock monitor.

Each ``azure-native:`` resource the ``aks`` backend creates comes back shaped as ARM returns it: its inputs plus
the ARM resource id, its name and what Azure computes (a vault's URI, a key's versioned URI, an identity's
principal and client ids, a cluster's FQDNs and OIDC issuer). Values are deterministic from the resource's name
and inputs, so two plans of the same program are identical. No Pulumi import: this runs inside the mock monitor.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

#: The subscription of every mock resource id (a fixed GUID: the provider's subscription never reaches inputs).
MOCK_SUBSCRIPTION = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
#: The tenant of mock identities and kubeconfigs.
MOCK_TENANT = "7d1e4b2a-9c3f-4a5e-8b6d-0f1e2d3c4b5a"
#: The Entra ID application of the AKS API server and the Azure CLI client that kubelogin asks tokens for.
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
AKS_CLIENT_APP_ID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"

Outputs = tuple[str, dict[str, Any]]


def _guid(*parts: str) -> str:
    """A GUID derived from ``parts`` (the same parts give the same GUID)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "phistack-mock/" + "/".join(parts)))


def _hex(*parts: str, length: int = 32) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _group_id(group: str) -> str:
    return f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/{group}"


def _arm_id(inputs: dict[str, Any], provider: str, name: str) -> str:
    """``/subscriptions/…/resourceGroups/<rg>/providers/<provider>/<name>``."""
    return f"{_group_id(str(inputs.get('resourceGroupName', 'unknown')))}/providers/{provider}/{name}"


def _identity_block(identity: dict[str, Any], owner: str) -> dict[str, Any]:
    """An ``identity`` as ARM returns it: user-assigned ids become a map of id → principal and client ids (the
    input is a list), and a system-assigned identity gets the principal ARM creates for ``owner``."""
    out = dict(identity)
    assigned = identity.get("userAssignedIdentities")
    if isinstance(assigned, list):
        out["userAssignedIdentities"] = {
            str(ref): {"principalId": _guid("principal", str(ref)), "clientId": _guid("client", str(ref))}
            for ref in assigned
        }
    if "SystemAssigned" in str(identity.get("type", "")):
        out.update(principalId=_guid("principal", owner), tenantId=MOCK_TENANT)
    return out


def _resource_group(name: str, inputs: dict[str, Any]) -> Outputs:
    group = str(inputs.get("resourceGroupName") or name)
    return _group_id(group), {**inputs, "name": group, "properties": {"provisioningState": "Succeeded"}}


def _identity(name: str, inputs: dict[str, Any]) -> Outputs:
    identity = str(inputs.get("resourceName") or name)
    arm = _arm_id(inputs, "Microsoft.ManagedIdentity/userAssignedIdentities", identity)
    return arm, {
        **inputs,
        "name": identity,
        "principalId": _guid("principal", arm),
        "clientId": _guid("client", arm),
        "tenantId": MOCK_TENANT,
    }


def _vault(name: str, inputs: dict[str, Any]) -> Outputs:
    vault = str(inputs.get("vaultName") or name)
    properties = {**inputs.get("properties", {}), "vaultUri": f"https://{vault}.vault.azure.net/"}
    return _arm_id(inputs, "Microsoft.KeyVault/vaults", vault), {**inputs, "name": vault, "properties": properties}


def _key(name: str, inputs: dict[str, Any]) -> Outputs:
    key, vault = str(inputs.get("keyName") or name), str(inputs.get("vaultName", "unknown"))
    uri = f"https://{vault}.vault.azure.net/keys/{key}"
    # ARM returns a key's properties at the top level, next to its URIs.
    return _arm_id(inputs, "Microsoft.KeyVault/vaults", f"{vault}/keys/{key}"), {
        **inputs,
        **inputs.get("properties", {}),
        "name": key,
        "keyUri": uri,
        "keyUriWithVersion": f"{uri}/{_hex('key-version', vault, key)}",
    }


def _disk_encryption_set(name: str, inputs: dict[str, Any]) -> Outputs:
    des = str(inputs.get("diskEncryptionSetName") or name)
    arm = _arm_id(inputs, "Microsoft.Compute/diskEncryptionSets", des)
    identity = _identity_block(dict(inputs.get("identity", {})), arm)
    return arm, {**inputs, "name": des, "identity": identity, "provisioningState": "Succeeded"}


def _role_assignment(name: str, inputs: dict[str, Any]) -> Outputs:
    assignment = str(inputs.get("roleAssignmentName") or _guid("role-assignment", name))
    scope = str(inputs.get("scope", f"/subscriptions/{MOCK_SUBSCRIPTION}"))
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}", {**inputs, "name": assignment}


def _fqdn(group: str, cluster: str, location: str, private: bool) -> str:
    """``<prefix>-<hash>.hcp.<region>.azmk8s.io``, or its privatelink form for a private cluster."""
    label = f"{cluster}-{_hex('fqdn', group, cluster, length=8)}"
    if private:
        return f"{label}.{_guid('private-dns', group, cluster)}.privatelink.{location}.azmk8s.io"
    return f"{label}.hcp.{location}.azmk8s.io"


def _managed_cluster(name: str, inputs: dict[str, Any]) -> Outputs:
    cluster, group = str(inputs.get("resourceName") or name), str(inputs.get("resourceGroupName", "unknown"))
    location = str(inputs.get("location", "eastus2"))
    private = bool(inputs.get("apiServerAccessProfile", {}).get("enablePrivateCluster"))
    arm = _arm_id(inputs, "Microsoft.ContainerService/managedClusters", cluster)
    outputs: dict[str, Any] = {
        **inputs,
        "name": cluster,
        "fqdn": _fqdn(group, cluster, location, private=False),
        "azurePortalFQDN": f"{cluster}-{_hex('portal', arm, length=8)}.portal.hcp.{location}.azmk8s.io",
        "nodeResourceGroup": f"MC_{group}_{cluster}_{location}",
        "provisioningState": "Succeeded",
    }
    if "identity" in inputs:
        outputs["identity"] = _identity_block(dict(inputs["identity"]), arm)
    if private:
        outputs["privateFQDN"] = _fqdn(group, cluster, location, private=True)
    if inputs.get("oidcIssuerProfile", {}).get("enabled"):
        issuer = f"https://{location}.oic.prod-aks.azure.com/{MOCK_TENANT}/{_guid('oidc', arm)}/"
        outputs["oidcIssuerProfile"] = {**inputs["oidcIssuerProfile"], "issuerURL": issuer}
    return arm, outputs


def _agent_pool(name: str, inputs: dict[str, Any]) -> Outputs:
    pool, cluster = str(inputs.get("agentPoolName") or name), str(inputs.get("resourceName", "unknown"))
    arm = _arm_id(inputs, "Microsoft.ContainerService/managedClusters", f"{cluster}/agentPools/{pool}")
    return arm, {**inputs, "name": pool, "provisioningState": "Succeeded"}


def _diagnostic_setting(name: str, inputs: dict[str, Any]) -> Outputs:
    setting = str(inputs.get("name") or name)
    target = str(inputs.get("resourceUri", ""))
    return f"{target}/providers/microsoft.insights/diagnosticSettings/{setting}", {**inputs, "name": setting}


_MAKERS: dict[str, Callable[[str, dict[str, Any]], Outputs]] = {
    "azure-native:resources:ResourceGroup": _resource_group,
    "azure-native:managedidentity:UserAssignedIdentity": _identity,
    "azure-native:keyvault:Vault": _vault,
    "azure-native:keyvault:Key": _key,
    "azure-native:compute:DiskEncryptionSet": _disk_encryption_set,
    "azure-native:authorization:RoleAssignment": _role_assignment,
    "azure-native:containerservice:ManagedCluster": _managed_cluster,
    "azure-native:containerservice:AgentPool": _agent_pool,
    "azure-native:monitor:DiagnosticSetting": _diagnostic_setting,
}


def outputs(type_: str, name: str, inputs: dict[str, Any]) -> Outputs | None:
    """The ARM id and outputs of a new ``azure-native:`` resource; None for any other type.

    An Azure type without a shaper here echoes its inputs under an ARM-looking id, so a new resource kind still
    plans (and shows up as unshaped rather than failing).
    """
    if not type_.startswith("azure-native:"):
        return None
    maker = _MAKERS.get(type_)
    if maker is not None:
        return maker(name, dict(inputs))
    kind = type_.split(":")[-1]
    return _arm_id(inputs, f"Microsoft.Unknown/{kind}", name), {**inputs, "name": name}


def user_kubeconfig(group: str, cluster: str) -> str:
    """The kubeconfig AKS returns for a user in exec format: kubelogin fetches an Entra ID token."""
    server = _fqdn(group, cluster, "eastus2", private=True)
    ca = base64.b64encode(f"mock CA of {cluster}".encode()).decode()
    user = f"clusterUser_{group}_{cluster}"
    return "\n".join(
        [
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            "- cluster:",
            f"    certificate-authority-data: {ca}",
            f"    server: https://{server}:443",
            f"  name: {cluster}",
            "contexts:",
            "- context:",
            f"    cluster: {cluster}",
            f"    user: {user}",
            f"  name: {cluster}",
            f"current-context: {cluster}",
            "preferences: {}",
            "users:",
            f"- name: {user}",
            "  user:",
            "    exec:",
            "      apiVersion: client.authentication.k8s.io/v1beta1",
            "      command: kubelogin",
            "      args: [get-token, --login, devicecode, --environment, AzurePublicCloud,"
            f" --server-id, {AKS_SERVER_APP_ID}, --client-id, {AKS_CLIENT_APP_ID}, --tenant-id, {MOCK_TENANT}]",
            "      provideClusterInfo: false",
            "",
        ]
    )


def call_result(token: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """The result of an ``azure-native`` invoke the backends make; None for any other function."""
    if token != "azure-native:containerservice:listManagedClusterUserCredentials":
        return None
    group, cluster = str(args.get("resourceGroupName", "unknown")), str(args.get("resourceName", "unknown"))
    config = base64.b64encode(user_kubeconfig(group, cluster).encode()).decode()
    return {"kubeconfigs": [{"name": "clusterUser", "value": config}]}
