package phistack.rules.cloud.phi_cloud_003_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.rules.access.phi_iam_003
import data.phistack.rules.cloud.fixtures_test as cf
import data.phistack.rules.cloud.phi_cloud_003

_deny(resources) := phi_cloud_003.findings(fx.ctx(resources))

_gke_urn := fx.urn("gcp:container/cluster:Cluster", "gpu-gke")

_aks_urn := fx.urn("azure-native:containerservice:ManagedCluster", "gpu-aks")

_gke_denied(msg) := {{"id": "PHI-CLOUD-003", "urn": _gke_urn, "msg": concat("", ["PHI-CLOUD-003: GKE cluster gpu-gke: ", msg])}}

_aks_denied(msg) := {{"id": "PHI-CLOUD-003", "urn": _aks_urn, "msg": concat("", ["PHI-CLOUD-003: AKS cluster gpu-aks: ", msg])}}

_gke_with(key, value) := cf.gke_plan(cf.with_input(cf.gke_cluster_inputs, key, value), cf.gke_node_config, cf.audit_topic_inputs, cf.audit_sink_inputs)

_aks_with(key, value) := cf.aks_plan(cf.with_input(cf.aks_cluster_inputs, key, value), cf.agent_pool_inputs, cf.des_inputs, cf.diagnostic_inputs)

_aad := {"managed": true, "enableAzureRBAC": true, "adminGroupObjectIDs": ["00000000-0000-0000-0000-0000000000ad"], "tenantID": cf.aks_tenant}

test_allowed_gke_secure if {
	_deny(cf.gke_secure) == set()
}

test_allowed_aks_secure if {
	_deny(cf.aks_secure) == set()
}

test_allowed_no_phi if {
	_deny([cf.gke_cluster({"name": "lab", "enableLegacyAbac": true}), cf.aks_cluster({"resourceName": "lab"})]) == set()
}

test_denied_basic_auth_username if {
	_deny(_gke_with("masterAuth", {"username": "admin", "clientCertificateConfig": {"issueClientCertificate": false}})) == _gke_denied("masterAuth.username is set")
}

test_denied_basic_auth_secret_password if {
	_deny(_gke_with("masterAuth", {"password": {"__secret__": true}})) == _gke_denied("masterAuth.password is set")
}

test_denied_client_certificate if {
	_deny(_gke_with("masterAuth", {"clientCertificateConfig": {"issueClientCertificate": true}})) == _gke_denied("masterAuth.clientCertificateConfig.issueClientCertificate is true")
}

test_denied_legacy_abac if {
	_deny(_gke_with("enableLegacyAbac", true)) == _gke_denied("enableLegacyAbac is true")
}

test_missing_workload_identity if {
	_deny(cf.gke_plan(cf.without_input(cf.gke_cluster_inputs, "workloadIdentityConfig"), cf.gke_node_config, cf.audit_topic_inputs, cf.audit_sink_inputs)) == _gke_denied("workloadIdentityConfig.workloadPool does not end in .svc.id.goog")
}

test_denied_node_pool_exposes_node_metadata if {
	config := cf.with_input(cf.gke_node_config, "workloadMetadataConfig", {"mode": "GCE_METADATA"})
	_deny(cf.gke_plan(cf.gke_cluster_inputs, config, cf.audit_topic_inputs, cf.audit_sink_inputs)) == {{"id": "PHI-CLOUD-003", "urn": fx.urn("gcp:container/nodePool:NodePool", "gpu-h100"), "msg": "PHI-CLOUD-003: GKE node pool gpu-h100: nodeConfig.workloadMetadataConfig.mode is not GKE_METADATA"}}
}

test_denied_second_node_pool_without_metadata_mode if {
	plan := array.concat(cf.gke_secure, [cf.gke_node_pool("a100", cf.without_input(cf.gke_node_config, "workloadMetadataConfig"))])
	_deny(plan) == {{"id": "PHI-CLOUD-003", "urn": fx.urn("gcp:container/nodePool:NodePool", "gpu-a100"), "msg": "PHI-CLOUD-003: GKE node pool gpu-a100: nodeConfig.workloadMetadataConfig.mode is not GKE_METADATA"}}
}

test_denied_inline_pool_without_metadata_mode if {
	_deny(_gke_with("nodePools", [{"name": "inline", "nodeConfig": {"machineType": "e2-standard-4"}}])) == _gke_denied("nodePools[0].nodeConfig.workloadMetadataConfig.mode is not GKE_METADATA")
}

test_unknown_basic_auth_username if {
	_deny(_gke_with("masterAuth", {"username": fx.unknown})) == {{
		"id": "PHI-CLOUD-003",
		"urn": _gke_urn,
		"msg": "PHI-CLOUD-003: the masterAuth.username of GKE cluster gpu-gke is unknown at plan time; the control cannot be verified, so it fails closed",
		"unknown": ["masterAuth.username"],
	}}
}

test_denied_aks_local_accounts if {
	_deny(_aks_with("disableLocalAccounts", false)) == _aks_denied("disableLocalAccounts is not true")
}

test_denied_aks_kubernetes_rbac_off if {
	_deny(_aks_with("enableRBAC", false)) == _aks_denied("enableRBAC is false")
}

test_denied_aks_without_azure_rbac if {
	_deny(_aks_with("aadProfile", object.union(_aad, {"enableAzureRBAC": false}))) == _aks_denied("aadProfile.enableAzureRBAC is not true")
}

test_denied_aks_no_admin_groups if {
	_deny(_aks_with("aadProfile", object.union(_aad, {"adminGroupObjectIDs": []}))) == _aks_denied("aadProfile.adminGroupObjectIDs is not a non-empty list of ids")
}

test_missing_aks_aad_profile if {
	_deny(cf.aks_plan(cf.without_input(cf.aks_cluster_inputs, "aadProfile"), cf.agent_pool_inputs, cf.des_inputs, cf.diagnostic_inputs)) == {
		{"id": "PHI-CLOUD-003", "urn": _aks_urn, "msg": "PHI-CLOUD-003: AKS cluster gpu-aks: aadProfile.managed is not true"},
		{"id": "PHI-CLOUD-003", "urn": _aks_urn, "msg": "PHI-CLOUD-003: AKS cluster gpu-aks: aadProfile.enableAzureRBAC is not true"},
		{"id": "PHI-CLOUD-003", "urn": _aks_urn, "msg": "PHI-CLOUD-003: AKS cluster gpu-aks: aadProfile.adminGroupObjectIDs is not a non-empty list of ids"},
		{"id": "PHI-CLOUD-003", "urn": _aks_urn, "msg": "PHI-CLOUD-003: AKS cluster gpu-aks: aadProfile.tenantID is not set"},
	}
}

test_unknown_aks_admin_group if {
	_deny(_aks_with("aadProfile", object.union(_aad, {"adminGroupObjectIDs": [fx.unknown]}))) == {{
		"id": "PHI-CLOUD-003",
		"urn": _aks_urn,
		"msg": "PHI-CLOUD-003: the aadProfile.adminGroupObjectIDs of AKS cluster gpu-aks is unknown at plan time; the control cannot be verified, so it fails closed",
		"unknown": ["aadProfile.adminGroupObjectIDs"],
	}}
}

# MFA for people is PHI-IAM-003's on every ConfidentialGpuCluster, whatever its backend: a cloud plan
# passes it with the MFA provider and is denied by it without.
test_allowed_cloud_plans_pass_phi_iam_003 if {
	phi_iam_003.findings(fx.ctx(cf.gke_secure)) == set()
	phi_iam_003.findings(fx.ctx(cf.aks_secure)) == set()
}

test_denied_gke_cluster_without_mfa_by_phi_iam_003 if {
	plan := array.concat([cf.cluster_component("gke", {"issuer": "https://login.example-hospital.org", "mfa_required": false})], array.slice(cf.gke_secure, 1, count(cf.gke_secure)))
	phi_iam_003.findings(fx.ctx(plan)) == {{"id": "PHI-IAM-003", "urn": fx.urn("phistack:cluster:ConfidentialGpuCluster", "gpu"), "msg": "PHI-IAM-003: the cluster declares no identity provider with an https issuer and mfa_required: true for human access"}}
}

test_denied_aks_cluster_without_mfa_by_phi_iam_003 if {
	plan := array.concat([cf.cluster_component("aks", null)], array.slice(cf.aks_secure, 1, count(cf.aks_secure)))
	phi_iam_003.findings(fx.ctx(plan)) == {{"id": "PHI-IAM-003", "urn": fx.urn("phistack:cluster:ConfidentialGpuCluster", "gpu"), "msg": "PHI-IAM-003: the cluster declares no identity provider with an https issuer and mfa_required: true for human access"}}
}

_component_urn := fx.urn("phistack:cluster:ConfidentialGpuCluster", "gpu")

# The declared identity provider must be the one the cloud cluster trusts, or its MFA guards nothing there.
test_denied_aks_declares_another_identity_provider if {
	plan := array.concat([cf.cluster_component("aks", cf.mfa_idp)], array.slice(cf.aks_secure, 1, count(cf.aks_secure)))
	_deny(plan) == {{"id": "PHI-CLOUD-003", "urn": _component_urn, "msg": concat("", [
		"PHI-CLOUD-003: ConfidentialGpuCluster gpu declares identity provider https://login.example-hospital.org, ",
		"but people sign in to AKS cluster gpu-aks through https://login.microsoftonline.com/", cf.aks_tenant,
		": the MFA it declares does not guard the cluster",
	])}}
}

test_denied_aks_declares_another_tenant if {
	other := {"issuer": "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0", "mfa_required": true}
	plan := array.concat([cf.cluster_component("aks", other)], array.slice(cf.aks_secure, 1, count(cf.aks_secure)))
	count(_deny(plan)) == 1
}

test_denied_gke_declares_another_identity_provider if {
	plan := array.concat([cf.cluster_component("gke", cf.mfa_idp)], array.slice(cf.gke_secure, 1, count(cf.gke_secure)))
	_deny(plan) == {{"id": "PHI-CLOUD-003", "urn": _component_urn, "msg": "PHI-CLOUD-003: ConfidentialGpuCluster gpu declares identity provider https://login.example-hospital.org, but people sign in to GKE cluster gpu-gke through https://accounts.google.com: the MFA it declares does not guard the cluster"}}
}

test_missing_aks_tenant if {
	inputs := cf.with_input(cf.aks_cluster_inputs, "aadProfile", {"managed": true, "enableAzureRBAC": true, "adminGroupObjectIDs": ["00000000-0000-0000-0000-0000000000ad"]})
	_deny(cf.aks_plan(inputs, cf.agent_pool_inputs, cf.des_inputs, cf.diagnostic_inputs)) == _aks_denied("aadProfile.tenantID is not set")
}
