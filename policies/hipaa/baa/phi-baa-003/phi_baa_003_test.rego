package phistack.rules.baa.phi_baa_003_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.rules.baa.phi_baa_003

_deny(resources) := phi_baa_003.findings(fx.ctx(resources))

_gke(inputs) := fx.resource("gcp:container/cluster:Cluster", "gke", object.union({"name": "clinical"}, inputs))

_aks(inputs) := fx.resource("azure-native:containerservice:ManagedCluster", "aks", object.union({"resourceName": "clinical"}, inputs))

_pool(zones) := fx.resource("gcp:container/nodePool:NodePool", "pool", {"name": "h100-cc", "location": "us-central1", "nodeLocations": zones})

_msg(r, where, why) := {"id": "PHI-BAA-003", "urn": r.urn, "msg": concat("", ["PHI-BAA-003: ", r.name, " (", r.type, ") is in ", where, ": ", why])}

test_allowed_gke_in_a_covered_region if {
	_deny([fx.phi_deployment, _gke({"location": "us-central1"}), _pool(["us-central1-a"])]) == set()
}

test_allowed_aks_in_a_covered_region_any_spelling if {
	_deny([fx.phi_deployment, _aks({"location": "East US 2"})]) == set()
}

test_allowed_no_phi_needs_no_cloud_baa if {
	_deny([fx.deployment("sim", "none", fx.cc_pod), _gke({"location": "asia-east1"})]) == set()
}

test_denied_gke_region_not_listed if {
	r := _gke({"location": "asia-east1"})
	_deny([fx.phi_deployment, r]) == {_msg(r, "asia-east1 (location)", "no agreement with google-cloud lists this region")}
}

# A zone belongs to its region: a pool in a zone of an unlisted region denies even if the cluster's is listed.
test_denied_pool_zone_outside_the_listed_regions if {
	r := _pool(["europe-west4-c"])
	_deny([fx.phi_deployment, r]) == {_msg(r, "europe-west4 (nodeLocations[0])", "no agreement with google-cloud lists this region")}
}

test_denied_topic_storage_region_not_listed if {
	r := fx.resource("gcp:pubsub/topic:Topic", "audit", {"name": "audit", "messageStoragePolicy": {"allowedPersistenceRegions": ["us-central1", "asia-east1"]}})
	_deny([fx.phi_deployment, r]) == {_msg(r, "asia-east1 (messageStoragePolicy.allowedPersistenceRegions[1])", "no agreement with google-cloud lists this region")}
}

test_denied_aks_region_not_listed if {
	r := _aks({"location": "southeastasia"})
	_deny([fx.phi_deployment, r]) == {_msg(r, "southeastasia (location)", "no agreement with microsoft-azure lists this region")}
}

test_denied_cloud_without_agreement if {
	r := fx.resource("aws-native:eks:Cluster", "eks", {"location": "us-east-1"})
	g := fx.resource("gcp:container/cluster:Cluster", "gke", {"location": "us-central1"})
	_deny([fx.phi_deployment, r, g]) == set()
}

test_missing_location_is_not_a_place if {
	# A resource with no location of its own (an IAM grant) is placed by what it grants on.
	_deny([fx.phi_deployment, fx.resource("gcp:projects/iAMMember:IAMMember", "grant", {"role": "roles/viewer"})]) == set()
}

test_denied_unknown_location if {
	r := _gke({"location": {"__unknown__": true}})
	_deny([fx.phi_deployment, r]) == {{"id": "PHI-BAA-003", "urn": r.urn, "msg": "PHI-BAA-003: the location of gke is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["location"]}}
}
