# Plan fragments of the cloud backends of ConfidentialGpuCluster for the PHI-CLOUD rule tests: a compliant
# GKE stack and a compliant AKS stack, shaped as the providers' plans show them (camelCase inputs, ids as
# the mock planner computes them), and builders that take the fields a test varies. No deep merging: a
# varied input replaces the whole top-level value (`with_input`).
package phistack.rules.cloud.fixtures_test

import rego.v1

import data.phistack.lib.fixtures_test as fx

# A PHI cluster component with an MFA identity provider: the stack handles PHI.
cluster_component(backend, idp) := fx.component("phistack:cluster:ConfidentialGpuCluster", "gpu", {
	"cluster_name": "clinical",
	"backend": backend,
	"namespaces": [{"name": "clinical", "data_classification": "phi"}],
	"identity_provider": idp,
})

mfa_idp := {"issuer": "https://login.example-hospital.org", "mfa_required": true}

# The clouds' own identity providers, which their clusters trust (PHI-CLOUD-003 matches the declared one).
aks_tenant := "6f1c2b7e-3d4a-4c1b-9e7f-2a8d5c0b1e93"

google_idp := {"issuer": "https://accounts.google.com", "mfa_required": true}

entra_idp := {"issuer": concat("", ["https://login.microsoftonline.com/", aks_tenant, "/v2.0"]), "mfa_required": true}

# `inputs` with `key` set to `value` (the whole value replaced, never merged).
with_input(inputs, key, value) := object.union(object.remove(inputs, [key]), {key: value})

# `inputs` without `key`.
without_input(inputs, key) := object.remove(inputs, [key])

# --- GKE ---

gcp_project := "clinical-prj"

gcp_ring := "projects/clinical-prj/locations/us-central1/keyRings/phistack"

gcp_key_id(name) := concat("", [gcp_ring, "/cryptoKeys/", name])

key_ring := fx.resource("gcp:kms/keyRing:KeyRing", "gpu-keyring", {"name": "phistack", "location": "us-central1", "project": gcp_project})

crypto_key(name, rotation) := fx.resource("gcp:kms/cryptoKey:CryptoKey", concat("-", ["gpu", name, "key"]), {
	"name": name,
	"keyRing": gcp_ring,
	"purpose": "ENCRYPT_DECRYPT",
	"rotationPeriod": rotation,
})

crypto_key_inputs(name, inputs) := fx.resource("gcp:kms/cryptoKey:CryptoKey", concat("-", ["gpu", name, "key"]), inputs)

gke_cluster_inputs := {
	"name": "clinical",
	"project": gcp_project,
	"location": "us-central1",
	"removeDefaultNodePool": true,
	"initialNodeCount": 1,
	"network": "phi-vpc",
	"subnetwork": "phi-nodes",
	"privateClusterConfig": {"enablePrivateNodes": true, "enablePrivateEndpoint": true, "masterIpv4CidrBlock": "172.16.0.0/28"},
	"masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "10.20.0.0/16", "displayName": "hospital-admin"}]},
	"workloadIdentityConfig": {"workloadPool": "clinical-prj.svc.id.goog"},
	"databaseEncryption": {"state": "ENCRYPTED", "keyName": gcp_key_id("etcd")},
	"enableLegacyAbac": false,
	"masterAuth": {"clientCertificateConfig": {"issueClientCertificate": false}},
	"enableShieldedNodes": true,
	"loggingConfig": {"enableComponents": ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"]},
	"releaseChannel": {"channel": "REGULAR"},
}

gke_cluster(inputs) := fx.resource("gcp:container/cluster:Cluster", "gpu-gke", inputs)

gke_node_config := {
	"machineType": "a3-highgpu-1g",
	"bootDiskKmsKey": gcp_key_id("boot-disk"),
	"workloadMetadataConfig": {"mode": "GKE_METADATA"},
	"serviceAccount": "gpu-nodes@clinical-prj.iam.gserviceaccount.com",
	"shieldedInstanceConfig": {"enableSecureBoot": true, "enableIntegrityMonitoring": true},
	"confidentialNodes": {"enabled": true, "confidentialInstanceType": "TDX"},
}

gke_node_pool(name, node_config) := fx.resource("gcp:container/nodePool:NodePool", concat("-", ["gpu", name]), {
	"name": name,
	"cluster": "projects/clinical-prj/locations/us-central1/clusters/clinical",
	"location": "us-central1",
	"nodeCount": 1,
	"nodeConfig": node_config,
})

audit_topic(inputs) := fx.resource("gcp:pubsub/topic:Topic", "gpu-audit-topic", inputs)

audit_topic_inputs := {"name": "phistack-audit", "project": gcp_project, "kmsKeyName": gcp_key_id("audit")}

# A log filter with its quotes: written with ' and turned into " here, because regopy keeps the backslash of
# a quote in a Rego string literal (a plan's JSON strings reach it intact).
quoted(text) := replace(text, "'", base64.decode("Ig=="))

gke_audit_filter := quoted(`resource.type='k8s_cluster' AND resource.labels.cluster_name='clinical' AND logName:'cloudaudit.googleapis.com'`)

audit_sink(inputs) := fx.resource("gcp:logging/projectSink:ProjectSink", "gpu-audit-sink", inputs)

audit_sink_inputs := {
	"name": "phistack-gke-audit",
	"project": gcp_project,
	"destination": "pubsub.googleapis.com/projects/clinical-prj/topics/phistack-audit",
	"filter": gke_audit_filter,
	"uniqueWriterIdentity": true,
}

gke_plumbing := [
	key_ring,
	fx.resource("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "gpu-etcd-key-gke", {"cryptoKeyId": gcp_key_id("etcd"), "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter", "member": "serviceAccount:service-123@container-engine-robot.iam.gserviceaccount.com"}),
	fx.resource("gcp:serviceaccount/account:Account", "gpu-nodes", {"accountId": "gpu-nodes", "project": gcp_project}),
	fx.resource("gcp:projects/iAMMember:IAMMember", "gpu-nodes-logging", {"project": gcp_project, "role": "roles/logging.logWriter", "member": "serviceAccount:gpu-nodes@clinical-prj.iam.gserviceaccount.com"}),
	fx.resource("gcp:pubsub/topicIAMMember:TopicIAMMember", "gpu-audit-publisher", {"topic": "projects/clinical-prj/topics/phistack-audit", "role": "roles/pubsub.publisher", "member": "serviceAccount:sink-writer@gcp-sa-logging.iam.gserviceaccount.com"}),
]

gke_keys := [crypto_key("etcd", "7776000s"), crypto_key("boot-disk", "7776000s"), crypto_key("audit", "2592000s")]

# The compliant GKE stack with the cluster's inputs, the GPU pool's nodeConfig, the topic's and the
# sink's inputs given.
gke_plan(cluster_inputs, pool_config, topic_inputs, sink_inputs) := array.concat(
	array.concat([cluster_component("gke", google_idp), gke_cluster(cluster_inputs)], gke_keys),
	array.concat(gke_plumbing, [
		gke_node_pool("h100", pool_config),
		audit_topic(topic_inputs),
		audit_sink(sink_inputs),
	]),
)

gke_secure := gke_plan(gke_cluster_inputs, gke_node_config, audit_topic_inputs, audit_sink_inputs)

# --- AKS ---

azure_rg := "phistack-rg"

azure_rg_id := "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/phistack-rg"

vault_key_url(key, version) := concat("", ["https://phistack-kv.vault.azure.net/keys/", key, "/", version])

rotation_policy(after) := {
	"lifetimeActions": [
		{"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": after}},
		{"action": {"type": "notify"}, "trigger": {"timeBeforeExpiry": "P30D"}},
	],
	"attributes": {"expiryTime": "P180D"},
}

vault_key(name, properties) := fx.resource("azure-native:keyvault:Key", concat("-", ["gpu", name, "key"]), {
	"keyName": name,
	"vaultName": "phistack-kv",
	"resourceGroupName": azure_rg,
	"properties": properties,
})

vault_key_properties(after) := {"kty": "RSA-HSM", "keySize": 3072, "rotationPolicy": rotation_policy(after)}

vault_properties := {
	"enablePurgeProtection": true,
	"enableSoftDelete": true,
	"enableRbacAuthorization": true,
	"publicNetworkAccess": "Disabled",
	"sku": {"family": "A", "name": "premium"},
	"tenantId": "00000000-0000-0000-0000-0000000000aa",
}

vault(properties) := fx.resource("azure-native:keyvault:Vault", "gpu-kv", {"vaultName": "phistack-kv", "resourceGroupName": azure_rg, "location": "eastus2", "properties": properties})

des_inputs := {
	"diskEncryptionSetName": "phistack-des",
	"resourceGroupName": azure_rg,
	"location": "eastus2",
	"encryptionType": "EncryptionAtRestWithCustomerKey",
	"activeKey": {"keyUrl": vault_key_url("disk", "0123456789abcdef")},
	"rotationToLatestKeyVersionEnabled": true,
	"identity": {"type": "UserAssigned"},
}

disk_encryption_set(inputs) := fx.resource("azure-native:compute:DiskEncryptionSet", "gpu-des", inputs)

aks_cluster_inputs := {
	"resourceName": "clinical",
	"resourceGroupName": azure_rg,
	"location": "eastus2",
	"dnsPrefix": "clinical",
	"enableRBAC": true,
	"disableLocalAccounts": true,
	"apiServerAccessProfile": {"enablePrivateCluster": true},
	"aadProfile": {"managed": true, "enableAzureRBAC": true, "adminGroupObjectIDs": ["00000000-0000-0000-0000-0000000000ad"], "tenantID": aks_tenant},
	"diskEncryptionSetID": concat("", [azure_rg_id, "/providers/Microsoft.Compute/diskEncryptionSets/phistack-des"]),
	"securityProfile": {"azureKeyVaultKms": {
		"enabled": true,
		"keyId": vault_key_url("kms", "fedcba9876543210"),
		"keyVaultNetworkAccess": "Private",
		"keyVaultResourceId": concat("", [azure_rg_id, "/providers/Microsoft.KeyVault/vaults/phistack-kv"]),
	}},
	"agentPoolProfiles": [{"name": "system", "mode": "System", "vmSize": "Standard_D4ds_v5", "count": 1, "enableEncryptionAtHost": true}],
}

aks_cluster(inputs) := fx.resource("azure-native:containerservice:ManagedCluster", "gpu-aks", inputs)

agent_pool(name, inputs) := fx.resource("azure-native:containerservice:AgentPool", concat("-", ["gpu", name]), inputs)

agent_pool_inputs := {
	"agentPoolName": "h100",
	"resourceName": "clinical",
	"resourceGroupName": azure_rg,
	"vmSize": "Standard_NCC40ads_H100_v5",
	"count": 1,
	"enableEncryptionAtHost": true,
}

diagnostic_setting(inputs) := fx.resource("azure-native:monitor:DiagnosticSetting", "gpu-aks-audit", inputs)

diagnostic_inputs := {
	"name": "phistack-audit",
	"resourceUri": concat("", [azure_rg_id, "/providers/Microsoft.ContainerService/managedClusters/clinical"]),
	"logs": [{"category": "kube-audit", "enabled": true}, {"category": "kube-audit-admin", "enabled": true}],
	"eventHubAuthorizationRuleId": concat("", [azure_rg_id, "/providers/Microsoft.EventHub/namespaces/phistack-siem/authorizationRules/send"]),
	"eventHubName": "phistack-audit",
}

aks_plumbing := [
	fx.resource("azure-native:resources:ResourceGroup", "gpu-rg", {"resourceGroupName": azure_rg, "location": "eastus2"}),
	fx.resource("azure-native:managedidentity:UserAssignedIdentity", "gpu-identity", {"resourceName": "phistack-aks", "resourceGroupName": azure_rg}),
	fx.resource("azure-native:authorization:RoleAssignment", "gpu-des-crypto", {"principalType": "ServicePrincipal", "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6", "scope": concat("", [azure_rg_id, "/providers/Microsoft.KeyVault/vaults/phistack-kv"])}),
]

aks_keys := [vault_key("disk", vault_key_properties("P90D")), vault_key("kms", vault_key_properties("P60D"))]

# The compliant AKS stack with the cluster's, the GPU pool's, the disk encryption set's and the
# diagnostic setting's inputs given.
aks_plan(cluster_inputs, pool_inputs, set_inputs, diagnostic) := array.concat(
	array.concat([cluster_component("aks", entra_idp), aks_cluster(cluster_inputs), vault(vault_properties)], aks_keys),
	array.concat(aks_plumbing, [
		agent_pool("h100", pool_inputs),
		disk_encryption_set(set_inputs),
		diagnostic_setting(diagnostic),
	]),
)

aks_secure := aks_plan(aks_cluster_inputs, agent_pool_inputs, des_inputs, diagnostic_inputs)
