package phistack.rules.phi_gpu_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.phi_gpu_001

_warn(resources) := phi_gpu_001.findings(fx.ctx(resources))

_cluster(pools) := fx.component("phistack:cluster:ConfidentialGpuCluster", "gpu", {"cluster_name": "clinical", "namespaces": [], "node_pools": pools})

_cluster_urn := fx.urn("phistack:cluster:ConfidentialGpuCluster", "gpu")

_workload_urn := fx.urn("phistack:workload:AttestedWorkload", "nlp")

_h100 := {"name": "h100", "gpu_model": "H100", "gpu_count": 8, "node_count": 1, "cc_capable": true}

test_allowed_h100 if {
	_warn([fx.attested("nlp", fx.attested_props), _cluster([_h100])]) == set()
}

test_allowed_deidentified_on_rtx if {
	props := object.union(fx.attested_props, {"data_classification": "deidentified"})
	_warn([fx.attested("xray", props), _cluster([{"name": "rtx", "gpu_model": "RTX 4090", "gpu_count": 1, "node_count": 2, "cc_capable": false}])]) == set()
}

test_denied_a100_claims_cc if {
	_warn([fx.attested("nlp", fx.attested_props), _cluster([{"name": "a100", "gpu_model": "A100 80GB", "gpu_count": 1, "node_count": 1, "cc_capable": true}])]) == {
		{"id": "PHI-GPU-001", "urn": _cluster_urn, "msg": "PHI-GPU-001: node pool a100 declares confidential computing but its GPU A100 80GB has no NVIDIA CC support in policies/data/gpu_profiles.json"},
		{"id": "PHI-GPU-001", "urn": _workload_urn, "msg": "PHI-GPU-001: PHI workload nlp has no node pool with a confidential-computing GPU and at least 1 GPUs per node"},
	}
}

test_denied_not_enough_gpus if {
	_warn([fx.attested("nlp", object.union(fx.attested_props, {"gpus": 16})), _cluster([_h100])]) == {{"id": "PHI-GPU-001", "urn": _workload_urn, "msg": "PHI-GPU-001: PHI workload nlp has no node pool with a confidential-computing GPU and at least 16 GPUs per node"}}
}

test_missing_node_pools if {
	_warn([fx.attested("nlp", fx.attested_props)]) == {{"id": "PHI-GPU-001", "urn": _workload_urn, "msg": "PHI-GPU-001: PHI workload nlp has no node pool with a confidential-computing GPU and at least 1 GPUs per node"}}
}

test_missing_gpu_model if {
	_warn([_cluster([{"name": "mystery", "cc_capable": true}])]) == {{"id": "PHI-GPU-001", "urn": _cluster_urn, "msg": "PHI-GPU-001: node pool mystery declares confidential computing but its GPU (unknown) has no NVIDIA CC support in policies/data/gpu_profiles.json"}}
}
