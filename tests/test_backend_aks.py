"""The ``aks`` backend of ConfidentialGpuCluster: every secure default in the plan, each weakening visible.

The SDK's mock monitor records every registration with the outputs phistack.plan.mock_outputs shapes as ARM
returns them; a resource's recorded state is its inputs plus what Azure computes.
"""

from __future__ import annotations

import base64
from typing import Any

import pulumi
import pytest

from phistack.plan import mock_azure
from tests.support.cloud_mocks import CloudMocks, Registered, declare, every, only

pulumi.runtime.set_mocks(CloudMocks(), preview=True)

import modules as m  # noqa: E402  (mocks must be registered before the components are imported)

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
ADMINS = "99999999-8888-7777-6666-555555555555"
EVENT_HUB_RULE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/siem/providers/Microsoft.EventHub/namespaces/siem"
    "/authorizationRules/send"
)
TAINT = "phistack.io/confidential-gpu=true:NoSchedule"


def named(resources: list[Registered], suffix: str) -> Registered:
    found = [r for r in resources if r.urn.endswith(f"::{suffix}")]
    assert len(found) == 1, f"expected one resource named {suffix}, got {[r.urn for r in found]}"
    return found[0]


def _settings(**overrides: Any) -> m.AksSettings:
    values: dict[str, Any] = dict(
        subscription_id=SUBSCRIPTION,
        tenant_id=TENANT,
        resource_group="phi-aks",
        location="eastus2",
        admin_group_object_ids=[ADMINS],
        audit_event_hub_rule_id=EVENT_HUB_RULE,
        audit_event_hub_name="aks-audit",
    )
    values.update(overrides)
    return m.AksSettings(**values)


def _cluster(aks: m.AksSettings | None = None, pools: list[m.CloudNodePool] | None = None) -> m.ConfidentialGpuCluster:
    args = m.ConfidentialGpuClusterArgs(
        cluster_name="phi-gpu",
        namespaces=[m.NamespaceSpec(name="clinical", data_classification="phi")],
        node_pools=[],
        backend="aks",
        aks=aks if aks is not None else _settings(),
        cloud_node_pools=pools
        if pools is not None
        else [m.CloudNodePool(name="h100", machine_type="Standard_NCC40ads_H100_v5", node_count=2)],
    )
    return m.ConfidentialGpuCluster("c", args)


def _aks(res: list[Registered]) -> Registered:
    return only(res, "azure-native:containerservice:ManagedCluster")


# --- secure defaults ----------------------------------------------------------------------------------------


def test_cluster_is_private_entra_only_with_azure_rbac() -> None:
    aks = _aks(declare(_cluster))
    state = aks.state
    assert state["apiServerAccessProfile"]["enablePrivateCluster"] is True, aks.urn
    assert state["apiServerAccessProfile"]["enableVnetIntegration"] is True, aks.urn
    assert state["aadProfile"] == {
        "managed": True,
        "enableAzureRBAC": True,
        "adminGroupObjectIDs": [ADMINS],
        "tenantID": TENANT,
    }, aks.urn
    assert state["disableLocalAccounts"] is True, aks.urn
    assert state["enableRBAC"] is True, aks.urn
    assert state["oidcIssuerProfile"]["enabled"] is True, aks.urn
    assert state["oidcIssuerProfile"]["issuerURL"].startswith("https://eastus2.oic.prod-aks.azure.com/"), aks.urn
    assert state["securityProfile"]["workloadIdentity"] == {"enabled": True}, aks.urn
    assert "privateFQDN" in state, aks.urn


def test_cluster_disks_use_the_disk_encryption_set_with_a_rotating_hsm_key() -> None:
    res = declare(_cluster)
    des = only(res, "azure-native:compute:DiskEncryptionSet")
    disk_key = named(res, "c-disk-key")
    assert _aks(res).state["diskEncryptionSetID"] == des.id, des.urn
    assert des.id.endswith("/providers/Microsoft.Compute/diskEncryptionSets/phi-gpu-des"), des.urn
    assert des.state["encryptionType"] == "EncryptionAtRestWithCustomerKey", des.urn
    assert des.state["rotationToLatestKeyVersionEnabled"] is True, des.urn
    # Versionless, so every rotation reaches the disks.
    assert des.state["activeKey"]["keyUrl"] == "https://phistack-kv.vault.azure.net/keys/phi-gpu-disks", des.urn
    assert des.state["activeKey"]["sourceVault"]["id"] == only(res, "azure-native:keyvault:Vault").id, des.urn
    assert disk_key.state["properties"]["kty"] == "RSA-HSM", disk_key.urn


def test_kms_encrypts_secrets_with_the_etcd_key_in_the_private_vault() -> None:
    res = declare(_cluster)
    etcd_key = named(res, "c-etcd-key")
    vault = only(res, "azure-native:keyvault:Vault")
    kms = _aks(res).state["securityProfile"]["azureKeyVaultKms"]
    assert kms == {
        "enabled": True,
        "keyId": etcd_key.state["keyUriWithVersion"],
        "keyVaultNetworkAccess": "Private",
        "keyVaultResourceId": vault.id,
    }, etcd_key.urn
    assert kms["keyId"].startswith("https://phistack-kv.vault.azure.net/keys/phi-gpu-etcd/"), etcd_key.urn


def test_vault_is_premium_rbac_purge_protected_and_private() -> None:
    vault = only(declare(_cluster), "azure-native:keyvault:Vault")
    props = vault.state["properties"]
    assert props["sku"] == {"family": "A", "name": "premium"}, vault.urn
    assert props["enableRbacAuthorization"] is True, vault.urn
    assert props["enablePurgeProtection"] is True, vault.urn
    assert props["enableSoftDelete"] is True and props["softDeleteRetentionInDays"] == 90, vault.urn
    assert props["publicNetworkAccess"] == "Disabled", vault.urn
    assert props["networkAcls"]["defaultAction"] == "Deny", vault.urn
    assert props["tenantId"] == TENANT, vault.urn
    assert props["vaultUri"] == "https://phistack-kv.vault.azure.net/", vault.urn


def test_every_key_rotates_on_schedule_and_expires() -> None:
    res = declare(lambda: _cluster(aks=_settings(key_rotation_days=30)))
    keys = every(res, "azure-native:keyvault:Key")
    assert len(keys) == 2
    for key in keys:
        policy = key.state["properties"]["rotationPolicy"]
        assert policy["lifetimeActions"] == [{"trigger": {"timeAfterCreate": "P30D"}, "action": {"type": "rotate"}}]
        assert policy["attributes"] == {"expiryTime": "P60D"}, key.urn
        assert key.state["properties"]["keySize"] >= 3072, key.urn


def test_each_identity_may_use_only_its_own_key() -> None:
    res = declare(_cluster)
    des = only(res, "azure-native:compute:DiskEncryptionSet")
    identity = only(res, "azure-native:managedidentity:UserAssignedIdentity")
    roles = "/providers/Microsoft.Authorization/roleDefinitions/"
    grants = {
        (r.state["principalId"], r.state["roleDefinitionId"].split(roles)[1], r.state["scope"])
        for r in every(res, "azure-native:authorization:RoleAssignment")
    }
    assert grants == {
        (des.state["identity"]["principalId"], "e147488a-f6f5-4113-8e2d-b22465e65bf6", named(res, "c-disk-key").id),
        (identity.state["principalId"], "12338af0-0e69-4776-bea7-57ae8d297424", named(res, "c-etcd-key").id),
        (
            identity.state["principalId"],
            "f25e0fa2-a7c8-4377-a976-54943a77a395",
            only(res, "azure-native:keyvault:Vault").id,
        ),
        (identity.state["principalId"], "acdd72a7-3385-48ef-bd42-f606fba81ae7", des.id),
    }
    assert _aks(res).state["identity"]["type"] == "UserAssigned"
    assert list(_aks(res).state["identity"]["userAssignedIdentities"]) == [identity.id]


def test_every_pool_encrypts_at_host() -> None:
    res = declare(_cluster)
    system = _aks(res).state["agentPoolProfiles"]
    assert [p["mode"] for p in system] == ["System"]
    pools = [*system, *(p.state for p in every(res, "azure-native:containerservice:AgentPool"))]
    assert len(pools) == 2
    for pool in pools:
        assert pool["enableEncryptionAtHost"] is True, pool
        assert pool["osDiskType"] == "Managed" and pool["osSKU"] == "Ubuntu", pool
    assert system[0]["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]


def test_gpu_pool_is_confidential_labelled_tainted_and_skips_the_aks_driver() -> None:
    pool = only(declare(_cluster), "azure-native:containerservice:AgentPool")
    state = pool.state
    assert state["vmSize"] == "Standard_NCC40ads_H100_v5", pool.urn
    assert state["count"] == 2 and state["mode"] == "User", pool.urn
    assert state["nodeLabels"] == {"phistack.io/confidential-gpu": "true", "phistack.io/node-pool": "h100"}, pool.urn
    assert state["nodeTaints"] == [TAINT], pool.urn
    assert state["gpuProfile"] == {"driver": "None"}, pool.urn
    assert state["osType"] == "Linux", pool.urn
    assert state["tags"]["phistack.io/cpu-tee"] == "sev-snp", pool.urn


def test_audit_logs_go_to_the_event_hub() -> None:
    res = declare(_cluster)
    setting = only(res, "azure-native:monitor:DiagnosticSetting")
    assert setting.state["resourceUri"] == _aks(res).id, setting.urn
    assert setting.state["eventHubAuthorizationRuleId"] == EVENT_HUB_RULE, setting.urn
    assert setting.state["eventHubName"] == "aks-audit", setting.urn
    categories = {log["category"] for log in setting.state["logs"] if log["enabled"]}
    assert categories == {"kube-audit", "kube-audit-admin", "guard"}, setting.urn
    assert _aks(res).state["tags"] == {"phistack.io/audit-log-export": "event-hub"}


def test_kubernetes_objects_go_through_the_new_cluster_provider_with_kubelogin() -> None:
    res = declare(_cluster)
    provider = only(res, "pulumi:providers:kubernetes")
    secret = provider.state["kubeconfig"]
    assert isinstance(secret, dict) and "value" in secret, f"{provider.urn}: the kubeconfig is not a secret"
    kubeconfig = secret["value"]
    assert "command: kubelogin" in kubeconfig and "clusterAdmin" not in kubeconfig, provider.urn
    assert "clusterUser_phi-aks_phi-gpu" in kubeconfig, provider.urn
    objects = [r for r in res if r.type.startswith("kubernetes:")]
    assert objects, "the component created no Kubernetes objects"
    for obj in objects:
        assert obj.provider.startswith(provider.urn + "::"), obj.urn


def test_azure_resources_are_pinned_to_the_declared_subscription_and_parented() -> None:
    res = declare(_cluster)
    azure = only(res, "pulumi:providers:azure-native")
    assert azure.state["subscriptionId"] == SUBSCRIPTION and azure.state["tenantId"] == TENANT, azure.urn
    cloud = [r for r in res if r.type.startswith("azure-native:")]
    assert len(cloud) == 13, [r.urn for r in cloud]
    for r in cloud:
        assert r.provider.startswith(azure.urn + "::"), r.urn
        assert "phistack:cluster:ConfidentialGpuCluster$" in r.urn, r.urn
    for r in every(res, "azure-native:authorization:RoleAssignment"):
        assert r.state["roleDefinitionId"].startswith(f"/subscriptions/{SUBSCRIPTION}/providers/"), r.urn


# --- weakenings ---------------------------------------------------------------------------------------------


def test_public_api_server_is_visible() -> None:
    aks = _aks(declare(lambda: _cluster(aks=_settings(private_cluster=False))))
    assert aks.state["apiServerAccessProfile"]["enablePrivateCluster"] is False, aks.urn
    assert "privateFQDN" not in aks.state, aks.urn


def test_local_accounts_are_visible() -> None:
    aks = _aks(declare(lambda: _cluster(aks=_settings(disable_local_accounts=False))))
    assert aks.state["disableLocalAccounts"] is False, aks.urn


def test_non_confidential_pool_is_visible_and_unlabelled() -> None:
    pools = [m.CloudNodePool(name="plain", machine_type="Standard_NC40ads_H100_v5", confidential=False)]
    pool = only(declare(lambda: _cluster(pools=pools)), "azure-native:containerservice:AgentPool")
    assert pool.state["vmSize"] == "Standard_NC40ads_H100_v5", pool.urn
    assert pool.state["nodeLabels"] == {"phistack.io/node-pool": "plain"}, pool.urn
    assert pool.state["nodeTaints"] == [], pool.urn
    assert pool.state["gpuProfile"] == {"driver": "Install"}, pool.urn
    assert pool.state["tags"]["phistack.io/cpu-tee"] == "none", pool.urn


def test_confidential_false_on_a_confidential_size_keeps_the_size_the_user_gave() -> None:
    pools = [m.CloudNodePool(name="cc", machine_type="standard_ncc40ads_h100_v5", confidential=False)]
    pool = only(declare(lambda: _cluster(pools=pools)), "azure-native:containerservice:AgentPool")
    assert pool.state["vmSize"] == "standard_ncc40ads_h100_v5", pool.urn
    assert "phistack.io/confidential-gpu" not in pool.state["nodeLabels"], pool.urn


def test_no_audit_event_hub_is_visible() -> None:
    res = declare(lambda: _cluster(aks=_settings(audit_event_hub_rule_id=None, audit_event_hub_name=None)))
    assert every(res, "azure-native:monitor:DiagnosticSetting") == []
    assert _aks(res).state["tags"] == {"phistack.io/audit-log-export": "none"}


# --- refusals -----------------------------------------------------------------------------------------------


def test_unknown_vm_size_is_refused() -> None:
    pools = [m.CloudNodePool(name="big", machine_type="Standard_ND96isr_H100_v5")]
    with pytest.raises(ValueError, match=r"unknown GPU VM size 'Standard_ND96isr_H100_v5'.*standard_ncc40ads_h100_v5"):
        declare(lambda: _cluster(pools=pools))


def test_missing_aks_settings_are_refused() -> None:
    def build() -> m.ConfidentialGpuCluster:
        args = m.ConfidentialGpuClusterArgs(cluster_name="c", namespaces=[], node_pools=[], backend="aks")
        args.cloud_node_pools = [m.CloudNodePool(name="h100", machine_type="Standard_NCC40ads_H100_v5")]
        return m.ConfidentialGpuCluster("c", args)

    with pytest.raises(ValueError, match="backend 'aks' needs aks settings"):
        declare(build)


def test_no_gpu_pools_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one GPU pool"):
        declare(lambda: _cluster(pools=[]))


@pytest.mark.parametrize("pool_name", ["gpu-pool", "system", "averyverylongname", "1gpu"])
def test_pool_names_aks_rejects_are_refused(pool_name: str) -> None:
    pools = [m.CloudNodePool(name=pool_name, machine_type="Standard_NCC40ads_H100_v5")]
    with pytest.raises(ValueError, match="AKS pool name"):
        declare(lambda: _cluster(pools=pools))


def test_event_hub_name_without_its_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="audit_event_hub_rule_id"):
        declare(lambda: _cluster(aks=_settings(audit_event_hub_rule_id=None)))


# --- the mock outputs ---------------------------------------------------------------------------------------


def test_mock_kubeconfig_is_base64_and_uses_kubelogin() -> None:
    result = mock_azure.call_result(
        "azure-native:containerservice:listManagedClusterUserCredentials",
        {"resourceGroupName": "rg", "resourceName": "aks"},
    )
    assert result is not None
    config = base64.b64decode(result["kubeconfigs"][0]["value"]).decode()
    assert "command: kubelogin" in config and "--server-id, 6dae42f8-4368-4678-94ff-3960e28e3630" in config
    assert mock_azure.call_result("azure-native:containerservice:listManagedClusterAdminCredentials", {}) is None


def test_mock_outputs_are_deterministic_and_only_for_azure() -> None:
    inputs = {"resourceGroupName": "rg", "resourceName": "id1", "location": "eastus2"}
    first = mock_azure.outputs("azure-native:managedidentity:UserAssignedIdentity", "x", inputs)
    assert first == mock_azure.outputs("azure-native:managedidentity:UserAssignedIdentity", "x", inputs)
    assert first is not None and first[0].endswith(
        "/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
    )
    assert mock_azure.outputs("gcp:kms/keyRing:KeyRing", "x", {}) is None
