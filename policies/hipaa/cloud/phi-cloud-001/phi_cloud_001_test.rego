package phistack.rules.cloud.phi_cloud_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.rules.cloud.fixtures_test as cf
import data.phistack.rules.cloud.phi_cloud_001

_deny(resources) := phi_cloud_001.findings(fx.ctx(resources))

_denied(type, name, msg) := {{"id": "PHI-CLOUD-001", "urn": fx.urn(type, name), "msg": concat("", ["PHI-CLOUD-001: ", msg])}}

_cluster := "gcp:container/cluster:Cluster"

_aks := "azure-native:containerservice:ManagedCluster"

_gke_with(key, value) := cf.gke_plan(cf.with_input(cf.gke_cluster_inputs, key, value), cf.gke_node_config, cf.audit_topic_inputs, cf.audit_sink_inputs)

_aks_with(key, value) := cf.aks_plan(cf.with_input(cf.aks_cluster_inputs, key, value), cf.agent_pool_inputs, cf.des_inputs, cf.diagnostic_inputs)

_des_with(key, value) := cf.aks_plan(cf.aks_cluster_inputs, cf.agent_pool_inputs, cf.with_input(cf.des_inputs, key, value), cf.diagnostic_inputs)

# Replaces the resource at `urn` of `plan` with `r`.
_replace(plan, r) := [x |
	some y in plan
	x := _pick(y, r)
]

_pick(y, r) := r if y.urn == r.urn

else := y

test_allowed_gke_secure if {
	_deny(cf.gke_secure) == set()
}

test_allowed_aks_secure if {
	_deny(cf.aks_secure) == set()
}

test_allowed_no_phi if {
	_deny([cf.gke_cluster({"name": "lab"}), cf.crypto_key("etcd", "31536000s")]) == set()
}

test_allowed_des_type_absent if {
	_deny(cf.aks_plan(cf.aks_cluster_inputs, cf.agent_pool_inputs, cf.without_input(cf.des_inputs, "encryptionType"), cf.diagnostic_inputs)) == set()
}

test_allowed_autoprovisioning_with_key if {
	_deny(_gke_with("clusterAutoscaling", {"enabled": true, "autoProvisioningDefaults": {"bootDiskKmsKey": cf.gcp_key_id("boot-disk")}})) == set()
}

# --- GKE ---

test_denied_key_with_365_day_rotation if {
	_deny(_replace(cf.gke_secure, cf.crypto_key("etcd", "31536000s"))) == _denied("gcp:kms/cryptoKey:CryptoKey", "gpu-etcd-key", "Cloud KMS key gpu-etcd-key: rotationPeriod is 31536000s, longer than the 90 days allowed (7776000s)")
}

test_denied_rotation_not_seconds if {
	_deny(_replace(cf.gke_secure, cf.crypto_key("etcd", "90d"))) == _denied("gcp:kms/cryptoKey:CryptoKey", "gpu-etcd-key", "Cloud KMS key gpu-etcd-key: rotationPeriod is 90d, not a duration in seconds (such as 7776000s)")
}

test_missing_rotation_period if {
	_deny(_replace(cf.gke_secure, cf.crypto_key_inputs("etcd", {"name": "etcd", "keyRing": cf.gcp_ring}))) == _denied("gcp:kms/cryptoKey:CryptoKey", "gpu-etcd-key", "Cloud KMS key gpu-etcd-key: rotationPeriod is not set")
}

test_denied_second_node_pool_without_cmek if {
	plan := array.concat(cf.gke_secure, [cf.gke_node_pool("a100", object.remove(cf.gke_node_config, ["bootDiskKmsKey"]))])
	_deny(plan) == _denied("gcp:container/nodePool:NodePool", "gpu-a100", "GKE node pool gpu-a100: nodeConfig.bootDiskKmsKey is not set")
}

test_denied_database_encryption_decrypted if {
	_deny(_gke_with("databaseEncryption", {"state": "DECRYPTED", "keyName": cf.gcp_key_id("etcd")})) == _denied(_cluster, "gpu-gke", "GKE cluster gpu-gke: databaseEncryption.state is not ENCRYPTED")
}

test_missing_database_encryption if {
	_deny(cf.gke_plan(cf.without_input(cf.gke_cluster_inputs, "databaseEncryption"), cf.gke_node_config, cf.audit_topic_inputs, cf.audit_sink_inputs)) == {
		{"id": "PHI-CLOUD-001", "urn": fx.urn(_cluster, "gpu-gke"), "msg": "PHI-CLOUD-001: GKE cluster gpu-gke: databaseEncryption.state is not ENCRYPTED"},
		{"id": "PHI-CLOUD-001", "urn": fx.urn(_cluster, "gpu-gke"), "msg": "PHI-CLOUD-001: GKE cluster gpu-gke: databaseEncryption.keyName is not set"},
	}
}

test_denied_key_outside_stack if {
	other := "projects/shared-kms/locations/us/keyRings/central/cryptoKeys/etcd"
	_deny(_gke_with("databaseEncryption", {"state": "ENCRYPTED", "keyName": other})) == _denied(_cluster, "gpu-gke", concat("", ["GKE cluster gpu-gke: databaseEncryption.keyName names the Cloud KMS key ", other, ", which the stack does not create, so its rotation cannot be verified"]))
}

test_denied_key_reference_not_an_id if {
	_deny(_gke_with("databaseEncryption", {"state": "ENCRYPTED", "keyName": "etcd"})) == _denied(_cluster, "gpu-gke", "GKE cluster gpu-gke: databaseEncryption.keyName is etcd, not the id of a Cloud KMS key (projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>)")
}

test_denied_default_pool_kept_without_key if {
	_deny(_gke_with("removeDefaultNodePool", false)) == _denied(_cluster, "gpu-gke", "GKE cluster gpu-gke: nodeConfig.bootDiskKmsKey is not set")
}

test_denied_inline_pool_without_key if {
	_deny(_gke_with("nodePools", [{"name": "inline", "nodeConfig": {"machineType": "a3-highgpu-1g"}}])) == _denied(_cluster, "gpu-gke", "GKE cluster gpu-gke: nodePools[0].nodeConfig.bootDiskKmsKey is not set")
}

test_denied_cluster_node_config_without_key if {
	_deny(_gke_with("nodeConfig", {"machineType": "e2-standard-4"})) == _denied(_cluster, "gpu-gke", "GKE cluster gpu-gke: nodeConfig.bootDiskKmsKey is not set")
}

test_denied_autoprovisioning_without_key if {
	_deny(_gke_with("clusterAutoscaling", {"enabled": true})) == _denied(_cluster, "gpu-gke", "GKE cluster gpu-gke: clusterAutoscaling.autoProvisioningDefaults.bootDiskKmsKey is not set")
}

test_missing_topic_key if {
	_deny(cf.gke_plan(cf.gke_cluster_inputs, cf.gke_node_config, cf.without_input(cf.audit_topic_inputs, "kmsKeyName"), cf.audit_sink_inputs)) == _denied("gcp:pubsub/topic:Topic", "gpu-audit-topic", "Pub/Sub topic gpu-audit-topic: kmsKeyName is not set")
}

test_unknown_boot_disk_key if {
	_deny(cf.gke_plan(cf.gke_cluster_inputs, cf.with_input(cf.gke_node_config, "bootDiskKmsKey", fx.unknown), cf.audit_topic_inputs, cf.audit_sink_inputs)) == {{
		"id": "PHI-CLOUD-001",
		"urn": fx.urn("gcp:container/nodePool:NodePool", "gpu-h100"),
		"msg": "PHI-CLOUD-001: the nodeConfig.bootDiskKmsKey of GKE node pool gpu-h100 is unknown at plan time; the control cannot be verified, so it fails closed",
		"unknown": ["nodeConfig.bootDiskKmsKey"],
	}}
}

test_unknown_inline_pool if {
	_deny(_gke_with("nodePools", [fx.unknown])) == {{
		"id": "PHI-CLOUD-001",
		"urn": fx.urn(_cluster, "gpu-gke"),
		"msg": "PHI-CLOUD-001: the nodePools[0].nodeConfig of GKE cluster gpu-gke is unknown at plan time; the control cannot be verified, so it fails closed",
		"unknown": ["nodePools[0].nodeConfig"],
	}}
}

# --- AKS ---

test_denied_agent_pool_without_encryption_at_host if {
	plan := cf.aks_plan(cf.aks_cluster_inputs, cf.with_input(cf.agent_pool_inputs, "enableEncryptionAtHost", false), cf.des_inputs, cf.diagnostic_inputs)
	_deny(plan) == _denied("azure-native:containerservice:AgentPool", "gpu-h100", "AKS agent pool gpu-h100: enableEncryptionAtHost is not true")
}

test_denied_inline_profile_without_encryption_at_host if {
	_deny(_aks_with("agentPoolProfiles", [{"name": "system", "mode": "System", "vmSize": "Standard_D4ds_v5"}])) == _denied(_aks, "gpu-aks", "AKS cluster gpu-aks: agentPoolProfiles[0].enableEncryptionAtHost is not true")
}

test_missing_disk_encryption_set_id if {
	_deny(cf.aks_plan(cf.without_input(cf.aks_cluster_inputs, "diskEncryptionSetID"), cf.agent_pool_inputs, cf.des_inputs, cf.diagnostic_inputs)) == _denied(_aks, "gpu-aks", "AKS cluster gpu-aks: diskEncryptionSetID is not set")
}

test_denied_disk_encryption_set_outside_stack if {
	other := "/subscriptions/1/resourceGroups/shared/providers/Microsoft.Compute/diskEncryptionSets/central"
	_deny(_aks_with("diskEncryptionSetID", other)) == _denied(_aks, "gpu-aks", concat("", ["AKS cluster gpu-aks: diskEncryptionSetID is ", other, ", not a disk encryption set the stack creates, so its key and rotation cannot be verified"]))
}

test_denied_kms_disabled if {
	_deny(_aks_with("securityProfile", {"azureKeyVaultKms": {"enabled": false, "keyId": cf.vault_key_url("kms", "1")}})) == _denied(_aks, "gpu-aks", "AKS cluster gpu-aks: securityProfile.azureKeyVaultKms.enabled is not true")
}

test_denied_kms_key_outside_stack if {
	other := "https://central-kv.vault.azure.net/keys/kms/1"
	_deny(_aks_with("securityProfile", {"azureKeyVaultKms": {"enabled": true, "keyId": other}})) == _denied(_aks, "gpu-aks", concat("", ["AKS cluster gpu-aks: securityProfile.azureKeyVaultKms.keyId is ", other, ", not a key of a Key Vault the stack creates, so its rotation cannot be verified"]))
}

test_unknown_kms_key_id if {
	_deny(_aks_with("securityProfile", {"azureKeyVaultKms": {"enabled": true, "keyId": fx.unknown}})) == {{
		"id": "PHI-CLOUD-001",
		"urn": fx.urn(_aks, "gpu-aks"),
		"msg": "PHI-CLOUD-001: the securityProfile.azureKeyVaultKms.keyId of AKS cluster gpu-aks is unknown at plan time; the control cannot be verified, so it fails closed",
		"unknown": ["securityProfile.azureKeyVaultKms.keyId"],
	}}
}

test_denied_disk_encryption_set_without_auto_rotation if {
	_deny(_des_with("rotationToLatestKeyVersionEnabled", false)) == _denied("azure-native:compute:DiskEncryptionSet", "gpu-des", "disk encryption set gpu-des: rotationToLatestKeyVersionEnabled is not true")
}

test_denied_disk_encryption_set_platform_key if {
	_deny(_des_with("encryptionType", "EncryptionAtRestWithPlatformKey")) == _denied("azure-native:compute:DiskEncryptionSet", "gpu-des", "disk encryption set gpu-des: encryptionType is not one of EncryptionAtRestWithCustomerKey, EncryptionAtRestWithPlatformAndCustomerKeys, ConfidentialVmEncryptedWithCustomerKey")
}

test_denied_vault_key_yearly_rotation if {
	_deny(_replace(cf.aks_secure, cf.vault_key("disk", cf.vault_key_properties("P1Y")))) == _denied("azure-native:keyvault:Key", "gpu-disk-key", "Key Vault key gpu-disk-key: properties.rotationPolicy.lifetimeActions has no rotate action whose trigger.timeAfterCreate is at most 90 days (P90D)")
}

test_denied_vault_key_three_months_counts_long if {
	_deny(_replace(cf.aks_secure, cf.vault_key("disk", cf.vault_key_properties("P3M")))) == _denied("azure-native:keyvault:Key", "gpu-disk-key", "Key Vault key gpu-disk-key: properties.rotationPolicy.lifetimeActions has no rotate action whose trigger.timeAfterCreate is at most 90 days (P90D)")
}

test_missing_vault_key_rotation_policy if {
	_deny(_replace(cf.aks_secure, cf.vault_key("disk", {"kty": "RSA-HSM", "keySize": 3072}))) == _denied("azure-native:keyvault:Key", "gpu-disk-key", "Key Vault key gpu-disk-key: properties.rotationPolicy.lifetimeActions has no rotate action whose trigger.timeAfterCreate is at most 90 days (P90D)")
}

test_denied_vault_key_notify_only if {
	props := {"kty": "RSA-HSM", "rotationPolicy": {"lifetimeActions": [{"action": {"type": "notify"}, "trigger": {"timeAfterCreate": "P30D"}}]}}
	_deny(_replace(cf.aks_secure, cf.vault_key("disk", props))) == _denied("azure-native:keyvault:Key", "gpu-disk-key", "Key Vault key gpu-disk-key: properties.rotationPolicy.lifetimeActions has no rotate action whose trigger.timeAfterCreate is at most 90 days (P90D)")
}

test_denied_vault_without_purge_protection if {
	_deny(_replace(cf.aks_secure, cf.vault(cf.without_input(cf.vault_properties, "enablePurgeProtection")))) == _denied("azure-native:keyvault:Vault", "gpu-kv", "Key Vault gpu-kv: properties.enablePurgeProtection is not true")
}

test_denied_vault_soft_delete_off if {
	_deny(_replace(cf.aks_secure, cf.vault(cf.with_input(cf.vault_properties, "enableSoftDelete", false)))) == _denied("azure-native:keyvault:Vault", "gpu-kv", "Key Vault gpu-kv: properties.enableSoftDelete is false")
}

# In a `pulumi preview` the id of a key the stack creates in the same run is unknown; the resource's
# propertyDependencies say which resource it comes from.
_with_deps(r, deps) := object.union(r, {"property_dependencies": deps})

_preview_cluster(deps) := _with_deps(cf.gke_cluster(cf.with_input(cf.gke_cluster_inputs, "databaseEncryption", {"state": "ENCRYPTED", "keyName": fx.unknown})), deps)

_etcd_key_urn := fx.urn("gcp:kms/cryptoKey:CryptoKey", "gpu-etcd-key")

_replace_cluster(plan, cluster) := [r | some x in plan; r := _swap(x, cluster)]

_swap(x, cluster) := cluster if x.type == "gcp:container/cluster:Cluster"

else := x

test_allowed_preview_key_id_traced_to_a_key_of_the_stack if {
	_deny(_replace_cluster(cf.gke_secure, _preview_cluster({"databaseEncryption": [_etcd_key_urn]}))) == set()
}

# Traced to something that is not a key of the stack (here the node service account), it stays unknown.
test_unknown_preview_key_id_traced_elsewhere if {
	account := fx.urn("gcp:serviceaccount/account:Account", "gpu-nodes")
	_deny(_replace_cluster(cf.gke_secure, _preview_cluster({"databaseEncryption": [account]}))) == {{
		"id": "PHI-CLOUD-001",
		"urn": fx.urn(_cluster, "gpu-gke"),
		"msg": "PHI-CLOUD-001: the databaseEncryption.keyName of GKE cluster gpu-gke is unknown at plan time; the control cannot be verified, so it fails closed",
		"unknown": ["databaseEncryption.keyName"],
	}}
}

# The key it is traced to is still judged: a yearly rotation denies.
test_denied_preview_key_traced_to_a_key_rotated_yearly if {
	plan := [r | some x in _replace_cluster(cf.gke_secure, _preview_cluster({"databaseEncryption": [_etcd_key_urn]})); r := _yearly(x)]
	count(_deny(plan)) == 1
}

_yearly(x) := cf.crypto_key("etcd", "31536000s") if x.urn == _etcd_key_urn

else := x
