package phistack.rules.cloud.phi_cloud_004_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.rules.cloud.fixtures_test as cf
import data.phistack.rules.cloud.phi_cloud_004

_deny(resources) := phi_cloud_004.findings(fx.ctx(resources))

_gke_urn := fx.urn("gcp:container/cluster:Cluster", "gpu-gke")

_aks_urn := fx.urn("azure-native:containerservice:ManagedCluster", "gpu-aks")

_gke_denied := {{"id": "PHI-CLOUD-004", "urn": _gke_urn, "msg": "PHI-CLOUD-004: GKE cluster gpu-gke: name is clinical, and no log sink of the stack routes that cluster's audit logs (filter resource.type=\"k8s_cluster\" AND resource.labels.cluster_name=\"clinical\") to a Pub/Sub topic of the stack"}}

_aks_denied := {{"id": "PHI-CLOUD-004", "urn": _aks_urn, "msg": "PHI-CLOUD-004: AKS cluster gpu-aks: resourceName is clinical, and no diagnostic setting on that cluster sends its kube-audit log to an Event Hub or a Log Analytics workspace"}}

_sink_with(key, value) := cf.gke_plan(cf.gke_cluster_inputs, cf.gke_node_config, cf.audit_topic_inputs, cf.with_input(cf.audit_sink_inputs, key, value))

_setting_with(key, value) := cf.aks_plan(cf.aks_cluster_inputs, cf.agent_pool_inputs, cf.des_inputs, cf.with_input(cf.diagnostic_inputs, key, value))

_without_type(plan, type) := [r | some r in plan; r.type != type]

test_allowed_gke_secure if {
	_deny(cf.gke_secure) == set()
}

test_allowed_aks_secure if {
	_deny(cf.aks_secure) == set()
}

test_allowed_no_phi if {
	_deny([cf.gke_cluster({"name": "lab"}), cf.aks_cluster({"resourceName": "lab", "resourceGroupName": "lab"})]) == set()
}

test_allowed_filter_on_lines_with_location if {
	filter := cf.quoted("resource.type='k8s_cluster'\n  AND resource.labels.cluster_name='clinical'\n\tAND resource.labels.location='us-central1'")
	_deny(_sink_with("filter", filter)) == set()
}

test_denied_sink_filter_implicit_and if {
	_deny(_sink_with("filter", cf.quoted(`resource.type='k8s_cluster' resource.labels.cluster_name='clinical'`))) == _gke_denied
}

test_denied_sink_filter_negated if {
	_deny(_sink_with("filter", cf.quoted(`resource.type='k8s_cluster' AND NOT resource.labels.cluster_name='clinical'`))) == _gke_denied
}

test_allowed_category_group_to_workspace if {
	inputs := {
		"name": "phistack-audit",
		"resourceUri": "/subscriptions/1/resourcegroups/PHISTACK-RG/providers/Microsoft.ContainerService/managedClusters/Clinical",
		"logs": [{"categoryGroup": "audit", "enabled": true}],
		"workspaceId": "/subscriptions/1/resourceGroups/siem/providers/Microsoft.OperationalInsights/workspaces/siem",
	}
	plan := _without_type(cf.aks_secure, "azure-native:monitor:DiagnosticSetting")
	_deny(array.concat(plan, [fx.resource("azure-native:insights:DiagnosticSetting", "gpu-aks-audit", inputs)])) == set()
}

test_denied_sink_filter_names_another_cluster if {
	_deny(_sink_with("filter", cf.quoted(`resource.type='k8s_cluster' AND resource.labels.cluster_name='research'`))) == _gke_denied
}

test_denied_sink_filter_contradicts_itself if {
	_deny(_sink_with("filter", cf.quoted(`resource.type='k8s_cluster' AND resource.labels.cluster_name='clinical' AND resource.labels.cluster_name='research'`))) == _gke_denied
}

test_denied_sink_filter_drops_audit_entries if {
	_deny(_sink_with("filter", cf.quoted(`resource.type='k8s_cluster' AND resource.labels.cluster_name='clinical' AND severity>=ERROR`))) == _gke_denied
}

test_denied_sink_filter_with_or if {
	_deny(_sink_with("filter", cf.quoted(`resource.type='k8s_cluster' AND resource.labels.cluster_name='clinical' OR resource.type='gce_instance'`))) == _gke_denied
}

test_denied_sink_to_topic_outside_stack if {
	_deny(_sink_with("destination", "pubsub.googleapis.com/projects/elsewhere/topics/phistack-audit")) == _gke_denied
}

test_denied_sink_to_storage if {
	_deny(_sink_with("destination", "storage.googleapis.com/phistack-audit")) == _gke_denied
}

test_denied_sink_disabled if {
	_deny(_sink_with("disabled", true)) == _gke_denied
}

test_denied_sink_with_exclusion if {
	_deny(_sink_with("exclusions", [{"name": "quiet", "filter": cf.quoted(`protoPayload.methodName:'get'`)}])) == _gke_denied
}

test_missing_sink if {
	_deny(_without_type(cf.gke_secure, "gcp:logging/projectSink:ProjectSink")) == _gke_denied
}

test_missing_cluster_name if {
	plan := cf.gke_plan(cf.without_input(cf.gke_cluster_inputs, "name"), cf.gke_node_config, cf.audit_topic_inputs, cf.audit_sink_inputs)
	_deny(plan) == {{"id": "PHI-CLOUD-004", "urn": _gke_urn, "msg": "PHI-CLOUD-004: GKE cluster gpu-gke: name is not set"}}
}

test_unknown_sink_filter if {
	_deny(_sink_with("filter", fx.unknown)) == {{
		"id": "PHI-CLOUD-004",
		"urn": fx.urn("gcp:logging/projectSink:ProjectSink", "gpu-audit-sink"),
		"msg": "PHI-CLOUD-004: the filter of log sink gpu-audit-sink is unknown at plan time; the control cannot be verified, so it fails closed",
		"unknown": ["filter"],
	}}
}

test_denied_kube_audit_disabled if {
	_deny(_setting_with("logs", [{"category": "kube-audit", "enabled": false}, {"category": "kube-apiserver", "enabled": true}])) == _aks_denied
}

test_denied_diagnostic_setting_on_another_cluster if {
	_deny(_setting_with("resourceUri", concat("", [cf.azure_rg_id, "/providers/Microsoft.ContainerService/managedClusters/research"]))) == _aks_denied
}

test_denied_diagnostic_setting_to_storage_only if {
	inputs := cf.with_input(cf.without_input(cf.without_input(cf.diagnostic_inputs, "eventHubAuthorizationRuleId"), "eventHubName"), "storageAccountId", "/subscriptions/1/resourceGroups/x/providers/Microsoft.Storage/storageAccounts/logs")
	_deny(cf.aks_plan(cf.aks_cluster_inputs, cf.agent_pool_inputs, cf.des_inputs, inputs)) == _aks_denied
}

test_missing_diagnostic_setting if {
	_deny(_without_type(cf.aks_secure, "azure-native:monitor:DiagnosticSetting")) == _aks_denied
}

test_unknown_diagnostic_resource_uri if {
	_deny(_setting_with("resourceUri", fx.unknown)) == {{
		"id": "PHI-CLOUD-004",
		"urn": fx.urn("azure-native:monitor:DiagnosticSetting", "gpu-aks-audit"),
		"msg": "PHI-CLOUD-004: the resourceUri of diagnostic setting gpu-aks-audit is unknown at plan time; the control cannot be verified, so it fails closed",
		"unknown": ["resourceUri"],
	}}
}

test_denied_sink_filter_two_locations if {
	_deny(_sink_with("filter", cf.quoted(`resource.type='k8s_cluster' AND resource.labels.cluster_name='clinical' AND resource.labels.location='us-central1' AND resource.labels.location='europe-west4'`))) == _gke_denied
}

# kube-audit-admin leaves out get and list: reads of Secrets or PHI through the API would not reach the SIEM.
test_denied_aks_only_kube_audit_admin if {
	_deny(_setting_with("logs", [{"category": "kube-audit", "enabled": false}, {"category": "kube-audit-admin", "enabled": true}])) == _aks_denied
}
