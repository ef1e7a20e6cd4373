package phistack.rules.cloud.phi_cloud_002_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.rules.cloud.fixtures_test as cf
import data.phistack.rules.cloud.phi_cloud_002

_deny(resources) := phi_cloud_002.findings(fx.ctx(resources))

_gke_urn := fx.urn("gcp:container/cluster:Cluster", "gpu-gke")

_aks_urn := fx.urn("azure-native:containerservice:ManagedCluster", "gpu-aks")

_gke_denied(msg) := {{"id": "PHI-CLOUD-002", "urn": _gke_urn, "msg": concat("", ["PHI-CLOUD-002: GKE cluster gpu-gke: ", msg])}}

_aks_denied(msg) := {{"id": "PHI-CLOUD-002", "urn": _aks_urn, "msg": concat("", ["PHI-CLOUD-002: AKS cluster gpu-aks: ", msg])}}

_gke_with(key, value) := cf.gke_plan(cf.with_input(cf.gke_cluster_inputs, key, value), cf.gke_node_config, cf.audit_topic_inputs, cf.audit_sink_inputs)

_aks_with(key, value) := cf.aks_plan(cf.with_input(cf.aks_cluster_inputs, key, value), cf.agent_pool_inputs, cf.des_inputs, cf.diagnostic_inputs)

_private := {"enablePrivateNodes": true, "enablePrivateEndpoint": true, "masterIpv4CidrBlock": "172.16.0.0/28"}

_networks(blocks) := {"cidrBlocks": [{"cidrBlock": b, "displayName": "n"} | some b in blocks]}

test_allowed_gke_secure if {
	_deny(cf.gke_secure) == set()
}

test_allowed_aks_secure if {
	_deny(cf.aks_secure) == set()
}

test_allowed_no_phi if {
	_deny([cf.gke_cluster({"name": "lab"}), cf.aks_cluster({"resourceName": "lab"})]) == set()
}

test_allowed_private_ipv6_range if {
	_deny(_gke_with("masterAuthorizedNetworksConfig", _networks(["fd00:10::/48"]))) == set()
}

test_denied_public_endpoint if {
	_deny(_gke_with("privateClusterConfig", object.union(_private, {"enablePrivateEndpoint": false}))) == _gke_denied("privateClusterConfig.enablePrivateEndpoint is not true")
}

test_denied_public_nodes if {
	_deny(_gke_with("privateClusterConfig", {"enablePrivateNodes": false, "enablePrivateEndpoint": true})) == _gke_denied("privateClusterConfig.enablePrivateNodes is not true")
}

test_missing_private_cluster_config if {
	_deny(cf.gke_plan(cf.without_input(cf.gke_cluster_inputs, "privateClusterConfig"), cf.gke_node_config, cf.audit_topic_inputs, cf.audit_sink_inputs)) == {
		{"id": "PHI-CLOUD-002", "urn": _gke_urn, "msg": "PHI-CLOUD-002: GKE cluster gpu-gke: privateClusterConfig.enablePrivateNodes is not true"},
		{"id": "PHI-CLOUD-002", "urn": _gke_urn, "msg": "PHI-CLOUD-002: GKE cluster gpu-gke: privateClusterConfig.enablePrivateEndpoint is not true"},
	}
}

test_denied_private_cluster_open_to_the_internet if {
	_deny(_gke_with("masterAuthorizedNetworksConfig", _networks(["10.20.0.0/16", "0.0.0.0/0"]))) == _gke_denied("masterAuthorizedNetworksConfig.cidrBlocks[1].cidrBlock is 0.0.0.0/0, wider than the largest private block (/8 for IPv4, /7 for IPv6), so it lets the internet reach the API server")
}

test_denied_internet_in_two_halves if {
	_deny(_gke_with("masterAuthorizedNetworksConfig", _networks(["0.0.0.0/1", "128.0.0.0/1"]))) == {
		{"id": "PHI-CLOUD-002", "urn": _gke_urn, "msg": "PHI-CLOUD-002: GKE cluster gpu-gke: masterAuthorizedNetworksConfig.cidrBlocks[0].cidrBlock is 0.0.0.0/1, wider than the largest private block (/8 for IPv4, /7 for IPv6), so it lets the internet reach the API server"},
		{"id": "PHI-CLOUD-002", "urn": _gke_urn, "msg": "PHI-CLOUD-002: GKE cluster gpu-gke: masterAuthorizedNetworksConfig.cidrBlocks[1].cidrBlock is 128.0.0.0/1, wider than the largest private block (/8 for IPv4, /7 for IPv6), so it lets the internet reach the API server"},
	}
}

test_denied_ipv6_everything if {
	_deny(_gke_with("masterAuthorizedNetworksConfig", _networks(["::/0"]))) == _gke_denied("masterAuthorizedNetworksConfig.cidrBlocks[0].cidrBlock is ::/0, wider than the largest private block (/8 for IPv4, /7 for IPv6), so it lets the internet reach the API server")
}

test_denied_malformed_block if {
	_deny(_gke_with("masterAuthorizedNetworksConfig", _networks(["everywhere"]))) == _gke_denied("masterAuthorizedNetworksConfig.cidrBlocks[0].cidrBlock is not a CIDR block")
}

test_denied_google_public_cidrs if {
	_deny(_gke_with("masterAuthorizedNetworksConfig", {"gcpPublicCidrsAccessEnabled": true, "cidrBlocks": []})) == _gke_denied("masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled is true")
}

test_denied_dns_endpoint_open_externally if {
	_deny(_gke_with("controlPlaneEndpointsConfig", {"dnsEndpointConfig": {"allowExternalTraffic": true}})) == _gke_denied("controlPlaneEndpointsConfig.dnsEndpointConfig.allowExternalTraffic is true")
}

test_unknown_private_endpoint if {
	_deny(_gke_with("privateClusterConfig", object.union(_private, {"enablePrivateEndpoint": fx.unknown}))) == {{
		"id": "PHI-CLOUD-002",
		"urn": _gke_urn,
		"msg": "PHI-CLOUD-002: the privateClusterConfig.enablePrivateEndpoint of GKE cluster gpu-gke is unknown at plan time; the control cannot be verified, so it fails closed",
		"unknown": ["privateClusterConfig.enablePrivateEndpoint"],
	}}
}

test_unknown_authorized_block if {
	_deny(_gke_with("masterAuthorizedNetworksConfig", {"cidrBlocks": [{"cidrBlock": fx.unknown}]})) == {{
		"id": "PHI-CLOUD-002",
		"urn": _gke_urn,
		"msg": "PHI-CLOUD-002: the masterAuthorizedNetworksConfig.cidrBlocks[0].cidrBlock of GKE cluster gpu-gke is unknown at plan time; the control cannot be verified, so it fails closed",
		"unknown": ["masterAuthorizedNetworksConfig.cidrBlocks[0].cidrBlock"],
	}}
}

test_denied_aks_public_api_server if {
	_deny(_aks_with("apiServerAccessProfile", {"enablePrivateCluster": false})) == _aks_denied("apiServerAccessProfile.enablePrivateCluster is not true")
}

test_missing_aks_api_server_access_profile if {
	_deny(cf.aks_plan(cf.without_input(cf.aks_cluster_inputs, "apiServerAccessProfile"), cf.agent_pool_inputs, cf.des_inputs, cf.diagnostic_inputs)) == _aks_denied("apiServerAccessProfile.enablePrivateCluster is not true")
}

test_denied_aks_authorized_everything if {
	_deny(_aks_with("apiServerAccessProfile", {"enablePrivateCluster": true, "authorizedIPRanges": ["0.0.0.0/0"]})) == _aks_denied("apiServerAccessProfile.authorizedIPRanges[0] is 0.0.0.0/0, wider than the largest private block (/8 for IPv4, /7 for IPv6), so it lets the internet reach the API server")
}

test_unknown_aks_private_cluster if {
	_deny(_aks_with("apiServerAccessProfile", fx.unknown)) == {{
		"id": "PHI-CLOUD-002",
		"urn": _aks_urn,
		"msg": "PHI-CLOUD-002: the apiServerAccessProfile of AKS cluster gpu-aks is unknown at plan time; the control cannot be verified, so it fails closed",
		"unknown": ["apiServerAccessProfile"],
	}}
}
