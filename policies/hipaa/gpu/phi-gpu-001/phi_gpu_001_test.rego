package phistack.rules.gpu.phi_gpu_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.rules.gpu.phi_gpu_001

_g1t_findings(resources) := phi_gpu_001.findings(fx.ctx(resources))

_g1t_cluster(pools) := fx.component("phistack:cluster:ConfidentialGpuCluster", "gpu", {"cluster_name": "clinical", "namespaces": [], "node_pools": pools})

_g1t_cluster_urn := fx.urn("phistack:cluster:ConfidentialGpuCluster", "gpu")

_g1t_workload_urn := fx.urn("phistack:workload:AttestedWorkload", "nlp")

_g1t_pod_urn := fx.urn("kubernetes:apps/v1:Deployment", "nlp")

_g1t_pool(name, model, gpus, cc) := {"name": name, "gpu_model": model, "gpu_count": gpus, "node_count": 1, "cc_capable": cc}

_g1t_h100 := _g1t_pool("h100", "H100 SXM", 8, true)

_g1t_a100 := _g1t_pool("a100", "A100 80GB", 8, false)

_g1t_phi := fx.attested("nlp", fx.attested_props)

# A container that requests `gpus` of `resource` as limits and requests, the way AttestedWorkload writes it.
_g1t_gpu_container(resource, gpus) := {"name": "runtime", "image": fx.image, "resources": {"limits": {resource: gpus}, "requests": {resource: gpus}}}

# A PHI Deployment (no AttestedWorkload around it) whose pod spec is the CC pod with `spec` on top.
_g1t_gpu_pod(spec) := fx.deployment("nlp", "phi", object.union({"runtimeClassName": "kata-qemu-nvidia-gpu-snp", "containers": [_g1t_gpu_container("nvidia.com/gpu", "1")]}, spec))

_g1t_tolerate_gpu := [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]

_g1t_gpu_taint := [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]

_g1t_no_cc(urn, what, n, pools) := {
	"id": "PHI-GPU-001",
	"urn": urn,
	"msg": concat("", ["PHI-GPU-001: ", what, " can be scheduled on no node pool whose GPU the hardware catalogue lists with NVIDIA Confidential Computing and that has at least ", n, " GPUs per node (", pools, ")"]),
}

_g1t_a100_text := "eligible pools: a100 (NVIDIA A100 80GB, no CC, 8 per node)"

_g1t_unknown(urn, what, paths) := {
	"id": "PHI-GPU-001",
	"urn": urn,
	"msg": concat("", ["PHI-GPU-001: ", what, " is unknown at plan time; the control cannot be verified, so it fails closed"]),
	"unknown": paths,
}

_g1t_finding(urn, msg) := {"id": "PHI-GPU-001", "urn": urn, "msg": concat("", ["PHI-GPU-001: ", msg])}

# --- allowed ----------------------------------------------------------------------------------------

test_allowed_phi_workload_on_h100 if {
	_g1t_findings([_g1t_phi, _g1t_cluster([_g1t_h100])]) == set()
}

test_allowed_phi_pod_on_h100 if {
	_g1t_findings([_g1t_gpu_pod({}), _g1t_cluster([_g1t_h100])]) == set()
}

test_allowed_attested_workload_and_its_pod_on_h100 if {
	_g1t_findings([_g1t_phi, fx.child(_g1t_gpu_pod({}), _g1t_phi), _g1t_cluster([_g1t_h100])]) == set()
}

test_allowed_deidentified_on_rtx if {
	props := object.union(fx.attested_props, {"data_classification": "deidentified"})
	_g1t_findings([fx.attested("xray", props), _g1t_cluster([_g1t_pool("rtx", "RTX 4090", 1, false)])]) == set()
}

# drug-discovery: no PHI on an H100 run without CC mode.
test_allowed_no_phi_on_h100_without_cc if {
	props := object.union(fx.attested_props, {"data_classification": "none"})
	_g1t_findings([fx.attested("md", props), _g1t_cluster([_g1t_pool("h100", "H100 SXM", 1, false)])]) == set()
}

# Names normalise: case, spaces, dashes and the vendor prefix do not matter.
test_allowed_model_name_normalised if {
	_g1t_findings([_g1t_phi, _g1t_cluster([_g1t_pool("h100", "nvidia h100-sxm", 1, true)])]) == set()
}

test_allowed_pod_tolerates_the_tainted_cc_pool if {
	pools := [object.union(_g1t_h100, {"taints": _g1t_gpu_taint})]
	_g1t_findings([_g1t_gpu_pod({"tolerations": _g1t_tolerate_gpu}), _g1t_cluster(pools)]) == set()
}

test_allowed_selector_picks_the_cc_pool if {
	pools := [object.union(_g1t_h100, {"labels": {"pool": "h100"}}), object.union(_g1t_a100, {"labels": {"pool": "a100"}})]
	_g1t_findings([_g1t_gpu_pod({"nodeSelector": {"pool": "h100"}}), _g1t_cluster(pools)]) == set()
}

test_allowed_affinity_picks_the_cc_pool if {
	pools := [object.union(_g1t_h100, {"labels": {"pool": "h100"}}), object.union(_g1t_a100, {"labels": {"pool": "a100"}})]
	affinity := {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "NotIn", "values": ["a100"]}]}]}}}
	_g1t_findings([_g1t_gpu_pod({"affinity": affinity}), _g1t_cluster(pools)]) == set()
}

# A non-CC H100 pool that PHI pods cannot land on (a taint they do not tolerate) may run without CC.
test_allowed_non_cc_pool_phi_cannot_reach if {
	batch := object.union(_g1t_pool("batch", "H100 SXM", 8, false), {"taints": [{"key": "batch", "value": "true", "effect": "NoSchedule"}]})
	_g1t_findings([_g1t_gpu_pod({}), _g1t_cluster([_g1t_h100, batch])]) == set()
}

test_allowed_phi_pod_without_gpus if {
	pod := fx.deployment("api", "phi", fx.cc_pod)
	_g1t_findings([pod, _g1t_cluster([_g1t_a100])]) == set()
}

# --- denied -----------------------------------------------------------------------------------------

# The reviewer's case: a PHI stack whose only GPU pool is an A100.
test_denied_phi_on_a100_only if {
	_g1t_findings([_g1t_phi, _g1t_cluster([_g1t_a100])]) == {_g1t_no_cc(_g1t_workload_urn, "PHI workload nlp", "1", _g1t_a100_text)}
}

test_denied_phi_pod_on_a100_only if {
	_g1t_findings([_g1t_phi, fx.child(_g1t_gpu_pod({}), _g1t_phi), _g1t_cluster([_g1t_a100])]) == {
		_g1t_no_cc(_g1t_workload_urn, "PHI workload nlp", "1", _g1t_a100_text),
		_g1t_no_cc(fx.child(_g1t_gpu_pod({}), _g1t_phi).urn, "PHI Deployment nlp", "1", _g1t_a100_text),
	}
}

# A lying cc_capable: true does not make an A100 confidential.
test_denied_a100_claims_cc if {
	_g1t_findings([_g1t_phi, _g1t_cluster([_g1t_pool("a100", "A100 80GB", 8, true)])]) == {
		_g1t_finding(_g1t_cluster_urn, "node pool a100 declares cc_capable: true but its GPU NVIDIA A100 80GB has no NVIDIA Confidential Computing mode (policies/data/gpu_profiles.json)"),
		_g1t_no_cc(_g1t_workload_urn, "PHI workload nlp", "1", _g1t_a100_text),
	}
}

# The lie denies even without PHI: the declaration is false.
test_denied_l40s_claims_cc_without_phi if {
	_g1t_findings([_g1t_cluster([_g1t_h100, _g1t_pool("l40s", "L40S", 8, true)])]) == {_g1t_finding(_g1t_cluster_urn, "node pool l40s declares cc_capable: true but its GPU NVIDIA L40S has no NVIDIA Confidential Computing mode (policies/data/gpu_profiles.json)")}
}

# cc_capable: false on a CC GPU that PHI can land on: the pool says it runs without CC mode.
test_denied_cc_gpu_declared_without_cc_for_phi if {
	_g1t_findings([_g1t_phi, _g1t_cluster([_g1t_pool("h100", "H100 SXM", 8, false)])]) == {_g1t_finding(_g1t_cluster_urn, "node pool h100 declares cc_capable: false for its NVIDIA H100 SXM, a confidential-computing GPU, while PHI workloads can be scheduled on it: declare the pool in CC mode, or keep PHI off it with labels or taints")}
}

# A typo is unknown hardware: denied, with or without PHI.
test_denied_unknown_model if {
	pool := _g1t_pool("h100", "H100-SMX", 8, true)
	_g1t_findings([_g1t_phi, _g1t_cluster([pool])]) == {
		_g1t_finding(_g1t_cluster_urn, "node pool h100: GPU model 'H100-SMX' is not in the hardware catalogue policies/data/gpu_profiles.json: unknown hardware cannot be trusted"),
		_g1t_no_cc(_g1t_workload_urn, "PHI workload nlp", "1", "eligible pools: h100 (H100-SMX, no CC, 8 per node)"),
	}
}

test_denied_unknown_model_without_phi if {
	_g1t_findings([_g1t_cluster([_g1t_pool("mi300", "MI300X", 8, false)])]) == {_g1t_finding(_g1t_cluster_urn, "node pool mi300: GPU model 'MI300X' is not in the hardware catalogue policies/data/gpu_profiles.json: unknown hardware cannot be trusted")}
}

test_denied_not_enough_gpus if {
	w := fx.attested("nlp", object.union(fx.attested_props, {"gpus": 16}))
	_g1t_findings([w, _g1t_cluster([_g1t_h100])]) == {_g1t_no_cc(_g1t_workload_urn, "PHI workload nlp", "16", "eligible pools: h100 (NVIDIA H100 SXM, CC, 8 per node)")}
}

# The deployed pod asks for more GPUs than its AttestedWorkload declares.
test_denied_pod_requests_more_than_declared if {
	pod := fx.child(_g1t_gpu_pod({"containers": [_g1t_gpu_container("nvidia.com/gpu", "2")]}), _g1t_phi)
	_g1t_findings([_g1t_phi, pod, _g1t_cluster([_g1t_pool("h100", "H100 SXM", 1, true)])]) == {_g1t_no_cc(pod.urn, "PHI Deployment nlp", "2", "eligible pools: h100 (NVIDIA H100 SXM, CC, 1 per node)")}
}

# Containers add up; an init container counts when it needs more than they do; MIG slices are GPUs.
test_denied_containers_add_up if {
	spec := {"containers": [_g1t_gpu_container("nvidia.com/gpu", "1"), _g1t_gpu_container("nvidia.com/mig-1g.10gb", 1)]}
	_g1t_findings([_g1t_gpu_pod(spec), _g1t_cluster([_g1t_pool("h100", "H100 SXM", 1, true)])]) == {_g1t_no_cc(_g1t_pod_urn, "PHI Deployment nlp", "2", "eligible pools: h100 (NVIDIA H100 SXM, CC, 1 per node)")}
}

test_denied_init_container_needs_more if {
	spec := {"initContainers": [_g1t_gpu_container("nvidia.com/gpu", "4")]}
	_g1t_findings([_g1t_gpu_pod(spec), _g1t_cluster([_g1t_pool("h100", "H100 SXM", 2, true)])]) == {_g1t_no_cc(_g1t_pod_urn, "PHI Deployment nlp", "4", "eligible pools: h100 (NVIDIA H100 SXM, CC, 2 per node)")}
}

test_denied_phi_pod_on_a100 if {
	_g1t_findings([_g1t_gpu_pod({}), _g1t_cluster([_g1t_a100])]) == {_g1t_no_cc(_g1t_pod_urn, "PHI Deployment nlp", "1", _g1t_a100_text)}
}

# Labelled pools: the PHI pod's nodeSelector picks the A100 although the cluster has an H100.
test_denied_selector_picks_the_a100 if {
	pools := [object.union(_g1t_h100, {"labels": {"pool": "h100"}}), object.union(_g1t_a100, {"labels": {"pool": "a100"}})]
	_g1t_findings([_g1t_gpu_pod({"nodeSelector": {"pool": "a100"}}), _g1t_cluster(pools)]) == {_g1t_no_cc(_g1t_pod_urn, "PHI Deployment nlp", "1", _g1t_a100_text)}
}

# Once pools declare labels, a pool without labels matches no selector.
test_denied_selector_matches_no_labelled_cc_pool if {
	pools := [_g1t_h100, object.union(_g1t_a100, {"labels": {"pool": "a100"}})]
	_g1t_findings([_g1t_gpu_pod({"nodeSelector": {"pool": "a100"}}), _g1t_cluster(pools)]) == {_g1t_no_cc(_g1t_pod_urn, "PHI Deployment nlp", "1", _g1t_a100_text)}
}

test_denied_affinity_picks_the_a100 if {
	pools := [object.union(_g1t_h100, {"labels": {"pool": "h100"}}), object.union(_g1t_a100, {"labels": {"pool": "a100"}})]
	affinity := {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["a100"]}]}]}}}
	_g1t_findings([_g1t_gpu_pod({"affinity": affinity}), _g1t_cluster(pools)]) == {_g1t_no_cc(_g1t_pod_urn, "PHI Deployment nlp", "1", _g1t_a100_text)}
}

# A term that selects nodes by field names nodes, not pools: it proves nothing.
test_denied_affinity_by_node_field if {
	pools := [object.union(_g1t_h100, {"labels": {"pool": "h100"}})]
	term := {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-7"]}], "matchExpressions": [{"key": "pool", "operator": "Exists"}]}
	affinity := {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}
	_g1t_findings([_g1t_gpu_pod({"affinity": affinity}), _g1t_cluster(pools)]) == {_g1t_no_cc(_g1t_pod_urn, "PHI Deployment nlp", "1", "no eligible node pool")}
}

# The CC pool is tainted and the PHI pod does not tolerate it: it can only land on the A100.
test_denied_cc_pool_taint_not_tolerated if {
	pools := [object.union(_g1t_h100, {"taints": _g1t_gpu_taint}), _g1t_a100]
	_g1t_findings([_g1t_gpu_pod({}), _g1t_cluster(pools)]) == {_g1t_no_cc(_g1t_pod_urn, "PHI Deployment nlp", "1", _g1t_a100_text)}
}

test_denied_toleration_for_another_value if {
	pools := [object.union(_g1t_h100, {"taints": _g1t_gpu_taint})]
	tolerations := [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "absent", "effect": "NoSchedule"}]
	_g1t_findings([_g1t_gpu_pod({"tolerations": tolerations}), _g1t_cluster(pools)]) == {_g1t_no_cc(_g1t_pod_urn, "PHI Deployment nlp", "1", "no eligible node pool")}
}

test_denied_node_name if {
	_g1t_findings([_g1t_gpu_pod({"nodeName": "a100-node-1"}), _g1t_cluster([_g1t_h100, _g1t_a100])]) == {_g1t_finding(_g1t_pod_urn, "PHI Deployment nlp is pinned to node a100-node-1 by nodeName, which bypasses the scheduler: the gate cannot tell the node's pool, so it cannot verify a confidential-computing GPU")}
}

test_denied_unreadable_gpu_request if {
	spec := {"containers": [_g1t_gpu_container("nvidia.com/gpu", "lots")]}
	_g1t_findings([_g1t_gpu_pod(spec), _g1t_cluster([_g1t_h100])]) == {_g1t_finding(_g1t_pod_urn, "PHI Deployment nlp requests GPUs in a form the gate cannot read (spec.template.spec.containers[0].resources.limits[\"nvidia.com/gpu\"], spec.template.spec.containers[0].resources.requests[\"nvidia.com/gpu\"])")}
}

# Two clusters: the workload's namespace is declared by the A100 one, so the other's H100 does not count.
test_denied_h100_in_another_cluster if {
	a100_cluster := fx.component("phistack:cluster:ConfidentialGpuCluster", "cheap", {"namespaces": [{"name": "clinical", "data_classification": "phi"}], "node_pools": [_g1t_a100]})
	h100_cluster := fx.component("phistack:cluster:ConfidentialGpuCluster", "cc", {"namespaces": [{"name": "research", "data_classification": "none"}], "node_pools": [_g1t_h100]})
	_g1t_findings([_g1t_phi, a100_cluster, h100_cluster]) == {_g1t_no_cc(_g1t_workload_urn, "PHI workload nlp", "1", _g1t_a100_text)}
}

# --- missing ----------------------------------------------------------------------------------------

test_missing_cluster if {
	_g1t_findings([_g1t_phi]) == {_g1t_no_cc(_g1t_workload_urn, "PHI workload nlp", "1", "no eligible node pool")}
}

test_missing_node_pools if {
	cluster := fx.component("phistack:cluster:ConfidentialGpuCluster", "gpu", {"namespaces": []})
	_g1t_findings([_g1t_phi, cluster]) == {_g1t_no_cc(_g1t_workload_urn, "PHI workload nlp", "1", "no eligible node pool")}
}

test_missing_gpu_model if {
	_g1t_findings([_g1t_cluster([{"name": "mystery", "gpu_count": 8, "cc_capable": true}])]) == {_g1t_finding(_g1t_cluster_urn, "node pool mystery declares no GPU model: unknown hardware cannot be trusted")}
}

test_missing_gpu_model_with_phi if {
	_g1t_findings([_g1t_phi, _g1t_cluster([{"name": "mystery", "gpu_count": 8, "cc_capable": true}])]) == {
		_g1t_finding(_g1t_cluster_urn, "node pool mystery declares no GPU model: unknown hardware cannot be trusted"),
		_g1t_no_cc(_g1t_workload_urn, "PHI workload nlp", "1", "eligible pools: mystery (GPU model unknown)"),
	}
}

test_missing_gpu_count if {
	_g1t_findings([_g1t_phi, _g1t_cluster([{"name": "h100", "gpu_model": "H100", "cc_capable": true}])]) == {_g1t_no_cc(_g1t_workload_urn, "PHI workload nlp", "1", "eligible pools: h100 (NVIDIA H100, CC, GPUs per node unknown)")}
}

# A missing gpus prop is one GPU, as the module's default.
test_missing_gpus_prop if {
	_g1t_findings([fx.attested("nlp", object.remove(fx.attested_props, ["gpus"])), _g1t_cluster([_g1t_a100])]) == {_g1t_no_cc(_g1t_workload_urn, "PHI workload nlp", "1", _g1t_a100_text)}
}

# --- unknown at plan time ---------------------------------------------------------------------------

test_unknown_gpu_model if {
	_g1t_findings([_g1t_phi, _g1t_cluster([object.union(_g1t_h100, {"gpu_model": fx.unknown})])]) == {_g1t_unknown(_g1t_cluster_urn, "the GPU model of node pool h100", ["node_pools[0].gpu_model"])}
}

test_unknown_gpu_count if {
	_g1t_findings([_g1t_phi, _g1t_cluster([object.union(_g1t_h100, {"gpu_count": fx.unknown})])]) == {_g1t_unknown(_g1t_cluster_urn, "the GPUs per node of node pool h100", ["node_pools[0].gpu_count"])}
}

# An unknown size of a non-CC pool changes nothing: it is not a CC GPU either way.
test_unknown_gpu_count_of_a100 if {
	_g1t_findings([_g1t_phi, _g1t_cluster([object.union(_g1t_a100, {"gpu_count": fx.unknown}), _g1t_h100])]) == set()
}

test_unknown_cc_capable if {
	_g1t_findings([_g1t_phi, _g1t_cluster([object.union(_g1t_h100, {"cc_capable": fx.unknown})])]) == {_g1t_unknown(_g1t_cluster_urn, "whether node pool h100 runs in confidential-computing mode", ["node_pools[0].cc_capable"])}
}

test_unknown_node_pools if {
	cluster := fx.component("phistack:cluster:ConfidentialGpuCluster", "gpu", {"namespaces": [], "node_pools": fx.unknown})
	_g1t_findings([_g1t_phi, cluster]) == {_g1t_unknown(_g1t_cluster_urn, "the node pools", ["node_pools"])}
}

test_unknown_pool if {
	_g1t_findings([_g1t_phi, _g1t_cluster([fx.unknown])]) == {_g1t_unknown(_g1t_cluster_urn, "a node pool", ["node_pools[0]"])}
}

test_unknown_gpus_prop if {
	_g1t_findings([fx.attested("nlp", object.union(fx.attested_props, {"gpus": fx.unknown})), _g1t_cluster([_g1t_h100])]) == {_g1t_unknown(_g1t_workload_urn, "the GPUs PHI workload nlp requests", ["gpus"])}
}

test_unknown_gpu_request if {
	spec := {"containers": [_g1t_gpu_container("nvidia.com/gpu", fx.unknown)]}
	_g1t_findings([_g1t_gpu_pod(spec), _g1t_cluster([_g1t_h100])]) == {_g1t_unknown(_g1t_pod_urn, "the GPUs PHI Deployment nlp requests", [
		"spec.template.spec.containers[0].resources.limits[\"nvidia.com/gpu\"]",
		"spec.template.spec.containers[0].resources.requests[\"nvidia.com/gpu\"]",
	])}
}

test_unknown_containers if {
	_g1t_findings([_g1t_gpu_pod({"containers": fx.unknown}), _g1t_cluster([_g1t_h100])]) == {_g1t_unknown(_g1t_pod_urn, "the GPUs PHI Deployment nlp requests", ["spec.template.spec.containers"])}
}

test_unknown_resources if {
	spec := {"containers": [{"name": "runtime", "image": fx.image, "resources": fx.unknown}]}
	_g1t_findings([_g1t_gpu_pod(spec), _g1t_cluster([_g1t_h100])]) == {_g1t_unknown(_g1t_pod_urn, "the GPUs PHI Deployment nlp requests", ["spec.template.spec.containers[0].resources"])}
}

test_unknown_pod_spec if {
	pod := fx.resource("kubernetes:apps/v1:Deployment", "nlp", {"metadata": {"name": "nlp", "namespace": "clinical", "labels": {"phistack.io/data-classification": "phi"}}, "spec": {"template": fx.unknown}})
	_g1t_findings([pod, _g1t_cluster([_g1t_h100])]) == {_g1t_unknown(_g1t_pod_urn, "the GPUs PHI Deployment nlp requests", ["spec.template"])}
}

test_unknown_node_selector if {
	pools := [object.union(_g1t_h100, {"labels": {"pool": "h100"}})]
	_g1t_findings([_g1t_gpu_pod({"nodeSelector": {"pool": fx.unknown}}), _g1t_cluster(pools)]) == {_g1t_unknown(_g1t_pod_urn, "where PHI Deployment nlp can be scheduled", ["spec.template.spec.nodeSelector"])}
}

# Without labels on the pools the selector does not decide: its unknown value does not matter.
test_unknown_node_selector_unlabelled_pools if {
	_g1t_findings([_g1t_gpu_pod({"nodeSelector": fx.unknown}), _g1t_cluster([_g1t_h100])]) == set()
}

test_unknown_tolerations if {
	pools := [object.union(_g1t_h100, {"taints": _g1t_gpu_taint})]
	_g1t_findings([_g1t_gpu_pod({"tolerations": fx.unknown}), _g1t_cluster(pools)]) == {_g1t_unknown(_g1t_pod_urn, "where PHI Deployment nlp can be scheduled", ["spec.template.spec.tolerations"])}
}

test_unknown_node_name if {
	_g1t_findings([_g1t_gpu_pod({"nodeName": fx.unknown}), _g1t_cluster([_g1t_h100])]) == {_g1t_unknown(_g1t_pod_urn, "where PHI Deployment nlp can be scheduled", ["spec.template.spec.nodeName"])}
}

test_unknown_pool_labels if {
	pools := [object.union(_g1t_h100, {"labels": fx.unknown}), object.union(_g1t_a100, {"labels": {"pool": "a100"}})]
	_g1t_findings([_g1t_gpu_pod({"nodeSelector": {"pool": "h100"}}), _g1t_cluster(pools)]) == {_g1t_unknown(_g1t_cluster_urn, "where node pool h100 admits PHI workloads", ["node_pools[0].labels"])}
}

test_unknown_pool_taints if {
	pools := [object.union(_g1t_h100, {"taints": [{"key": "nvidia.com/gpu", "value": fx.unknown, "effect": "NoSchedule"}]})]
	_g1t_findings([_g1t_gpu_pod({}), _g1t_cluster(pools)]) == {_g1t_unknown(_g1t_cluster_urn, "where node pool h100 admits PHI workloads", ["node_pools[0].taints"])}
}

# A limit alone sets the request (extended resources): it counts.
test_denied_limit_without_request if {
	container := {"name": "runtime", "image": fx.image, "resources": {"limits": {"nvidia.com/gpu": "4"}}}
	_g1t_findings([_g1t_gpu_pod({"containers": [container]}), _g1t_cluster([_g1t_pool("h100", "H100 SXM", 2, true)])]) == {_g1t_no_cc(_g1t_pod_urn, "PHI Deployment nlp", "4", "eligible pools: h100 (NVIDIA H100 SXM, CC, 2 per node)")}
}

# The larger of limits and requests counts, whichever it is (16 > 8 also where numbers sort as text).
test_denied_limit_above_request if {
	container := {"name": "runtime", "image": fx.image, "resources": {"limits": {"nvidia.com/gpu": "16"}, "requests": {"nvidia.com/gpu": "8"}}}
	_g1t_findings([_g1t_gpu_pod({"containers": [container]}), _g1t_cluster([_g1t_h100])]) == {_g1t_no_cc(_g1t_pod_urn, "PHI Deployment nlp", "16", "eligible pools: h100 (NVIDIA H100 SXM, CC, 8 per node)")}
}

test_denied_request_above_limit if {
	container := {"name": "runtime", "image": fx.image, "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "4"}}}
	_g1t_findings([_g1t_gpu_pod({"containers": [container]}), _g1t_cluster([_g1t_pool("h100", "H100 SXM", 2, true)])]) == {_g1t_no_cc(_g1t_pod_urn, "PHI Deployment nlp", "4", "eligible pools: h100 (NVIDIA H100 SXM, CC, 2 per node)")}
}

test_denied_init_container_limit_only if {
	init := {"name": "warmup", "image": fx.image, "resources": {"limits": {"nvidia.com/gpu": "16"}}}
	spec := {"initContainers": [init], "containers": [_g1t_gpu_container("nvidia.com/gpu", "8")]}
	_g1t_findings([_g1t_gpu_pod(spec), _g1t_cluster([_g1t_h100])]) == {_g1t_no_cc(_g1t_pod_urn, "PHI Deployment nlp", "16", "eligible pools: h100 (NVIDIA H100 SXM, CC, 8 per node)")}
}

# --- cloud backends: the pools the plan creates decide ------------------------------------------------

# A copy-shaped excerpt of policies/data/cloud_machine_types.json (passed in: regopy ignores `with data`).
_g1t_catalogue := {
	"gcp/a3-highgpu-1g": {"cloud": "gcp", "name": "a3-highgpu-1g", "gpu_model": "H100", "gpu_count": 1, "confidential": {"cpu_tee": "tdx", "gpu_cc": true, "how": "Confidential GKE node, Intel TDX, H100 in CC mode"}},
	"gcp/a2-highgpu-1g": {"cloud": "gcp", "name": "a2-highgpu-1g", "gpu_model": "A100 40GB", "gpu_count": 1, "confidential": null},
	"gcp/e2-standard-4": {"cloud": "gcp", "name": "e2-standard-4", "gpu_model": null, "gpu_count": 0, "confidential": null},
	"gcp/e2-medium": {"cloud": "gcp", "name": "e2-medium", "gpu_model": null, "gpu_count": 0, "confidential": null},
	"azure/standard_ncc40ads_h100_v5": {"cloud": "azure", "name": "Standard_NCC40ads_H100_v5", "gpu_model": "H100 NVL", "gpu_count": 1, "confidential": {"cpu_tee": "sev-snp", "gpu_cc": true}},
	"azure/standard_nc40ads_h100_v5": {"cloud": "azure", "name": "Standard_NC40ads_H100_v5", "gpu_model": "H100 NVL", "gpu_count": 1, "confidential": null},
	"azure/standard_d4ds_v5": {"cloud": "azure", "name": "Standard_D4ds_v5", "gpu_model": null, "gpu_count": 0, "confidential": null},
}

_g1t_cloud(resources) := phi_gpu_001.findings_with(fx.ctx(resources), _g1t_catalogue)

_g1t_cc_label := {"phistack.io/confidential-gpu": "true"}

_g1t_cc_toleration := {"key": "phistack.io/confidential-gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}

# The component of a cloud backend, declaring (untrusted) an H100 pool.
_g1t_cloud_cluster(backend) := fx.component("phistack:cluster:ConfidentialGpuCluster", "gpu", {
	"cluster_name": "clinical",
	"namespaces": [],
	"backend": backend,
	"node_pools": [_g1t_h100],
	"cloud_node_pools": [{"name": "h100-cc", "machine_type": "a3-highgpu-1g", "node_count": 1, "confidential": true}],
})

_g1t_gke_cluster := fx.child(fx.resource("gcp:container/cluster:Cluster", "gke", {"name": "clinical", "location": "us-central1", "removeDefaultNodePool": true, "initialNodeCount": 1}), _g1t_cloud_cluster("gke"))

_g1t_tdx := {"enabled": true, "confidentialInstanceType": "TDX"}

_g1t_gke_pool(name, machine, confidential_nodes, labels, taints) := fx.child(fx.resource("gcp:container/nodePool:NodePool", name, {
	"name": name,
	"location": "us-central1",
	"nodeLocations": ["us-central1-a"],
	"nodeCount": 1,
	"cluster": "clinical",
	"nodeConfig": {
		"machineType": machine,
		"confidentialNodes": confidential_nodes,
		"guestAccelerators": [{"type": "nvidia-h100-80gb", "count": 1}],
		"labels": object.union(labels, {"phistack.io/node-pool": name}),
		"taints": taints,
		"bootDiskKmsKey": "projects/p/locations/us-central1/keyRings/phistack/cryptoKeys/boot",
	},
}), _g1t_cloud_cluster("gke"))

_g1t_gke_cc_taints := [{"key": "phistack.io/confidential-gpu", "value": "true", "effect": "NO_SCHEDULE"}]

# A pool the backend would make confidential: the confidential label and taint, on `machine`.
_g1t_gke_cc_pool(name, machine, confidential_nodes) := _g1t_gke_pool(name, machine, confidential_nodes, _g1t_cc_label, _g1t_gke_cc_taints)

_g1t_gke_h100 := _g1t_gke_cc_pool("h100-cc", "a3-highgpu-1g", _g1t_tdx)

_g1t_gke_system := _g1t_gke_pool("system", "e2-standard-4", null, {}, [])

_g1t_gke := [_g1t_cloud_cluster("gke"), _g1t_gke_cluster, _g1t_gke_system]

_g1t_aks_cluster(profiles) := fx.child(fx.resource("azure-native:containerservice:ManagedCluster", "aks", {"resourceName": "clinical", "agentPoolProfiles": profiles}), _g1t_cloud_cluster("aks"))

_g1t_aks_system := {"name": "system", "vmSize": "Standard_D4ds_v5", "count": 2, "mode": "System", "nodeLabels": {"phistack.io/node-pool": "system"}}

_g1t_aks_pool(name, size, labels, taints) := fx.child(fx.resource("azure-native:containerservice:AgentPool", name, {
	"agentPoolName": name,
	"vmSize": size,
	"count": 1,
	"mode": "User",
	"nodeLabels": object.union(labels, {"phistack.io/node-pool": name}),
	"nodeTaints": taints,
	"enableEncryptionAtHost": true,
}), _g1t_cloud_cluster("aks"))

_g1t_aks_cc_taints := ["phistack.io/confidential-gpu=true:NoSchedule"]

_g1t_aks_ncc := _g1t_aks_pool("h100cc", "Standard_NCC40ads_H100_v5", _g1t_cc_label, _g1t_aks_cc_taints)

# The PHI AttestedWorkload and its Deployment as a cloud backend writes them.
_g1t_cloud_phi := fx.attested("nlp", object.union(fx.attested_props, {"node_selector": _g1t_cc_label, "tolerations": [{"key": "phistack.io/confidential-gpu", "value": "true", "effect": "NoSchedule"}]}))

# (The selector is an argument: the engines disagree on nested object.union.)
_g1t_cloud_pod(selector) := fx.child(_g1t_gpu_pod({"nodeSelector": selector, "tolerations": array.concat(_g1t_tolerate_gpu, [_g1t_cc_toleration])}), _g1t_cloud_phi)

_g1t_cloud_phi_pod := _g1t_cloud_pod(_g1t_cc_label)

_g1t_cloud_workloads := [_g1t_cloud_phi, _g1t_cloud_phi_pod]

_g1t_cloud_subjects := [[_g1t_workload_urn, "PHI workload nlp"], [_g1t_cloud_phi_pod.urn, "PHI Deployment nlp"]]

# The finding of each cloud subject that it can land on a pool that is not confidential.
_g1t_not_cc(pool, why) := {f |
	some s in _g1t_cloud_subjects
	f := _g1t_finding(s[0], concat("", [s[1], " can be scheduled on ", pool, ", which is not confidential: ", why]))
}

_g1t_no_cloud_cc(n, pools) := {f |
	some s in _g1t_cloud_subjects
	f := _g1t_finding(s[0], concat("", [s[1], " can be scheduled on no confidential cloud node pool with at least ", n, " GPUs per node (", pools, ")"]))
}

_g1t_no_cc_gpu(machine) := concat("", ["machine type ", machine, " has no confidential GPU in policies/data/cloud_machine_types.json"])

test_allowed_cloud_gke_h100_tdx if {
	_g1t_cloud(array.concat(_g1t_gke, array.concat([_g1t_gke_h100], _g1t_cloud_workloads))) == set()
}

test_allowed_cloud_gke_tee_any_case if {
	pool := _g1t_gke_cc_pool("h100-cc", "a3-highgpu-1g", {"enabled": true, "confidentialInstanceType": "tdx"})
	_g1t_cloud(array.concat(_g1t_gke, array.concat([pool], _g1t_cloud_workloads))) == set()
}

test_allowed_cloud_aks_ncc if {
	resources := [_g1t_cloud_cluster("aks"), _g1t_aks_cluster([_g1t_aks_system]), _g1t_aks_ncc]
	_g1t_cloud(array.concat(resources, _g1t_cloud_workloads)) == set()
}

# Machine types are looked up in lower case.
test_allowed_cloud_aks_inline_profile_any_case if {
	ncc := {"name": "h100cc", "vmSize": "standard_ncc40ads_h100_v5", "count": 1, "mode": "User", "nodeLabels": _g1t_cc_label, "nodeTaints": _g1t_aks_cc_taints}
	_g1t_cloud(array.concat([_g1t_cloud_cluster("aks"), _g1t_aks_cluster([_g1t_aks_system, ncc])], _g1t_cloud_workloads)) == set()
}

# Without PHI an ordinary A100 pool is fine.
test_allowed_cloud_no_phi_on_a100 if {
	props := object.union(fx.attested_props, {"data_classification": "none"})
	a100 := _g1t_gke_pool("a100", "a2-highgpu-1g", null, {}, [])
	_g1t_cloud(array.concat(_g1t_gke, [a100, fx.attested("md", props)])) == set()
}

# A pool that PHI pods do not select (no confidential label) may be anything.
test_allowed_cloud_unselected_a100_pool if {
	a100 := _g1t_gke_pool("a100", "a2-highgpu-1g", null, {"team": "batch"}, [])
	_g1t_cloud(array.concat(_g1t_gke, array.concat([_g1t_gke_h100, a100], _g1t_cloud_workloads))) == set()
}

# The attacker's case: declare an H100 CC pool (cc_capable: true) and create an A100 pool with the
# confidential label and taint. The declarations do not count.
test_denied_cloud_declared_h100_but_a100_created if {
	a100 := _g1t_gke_cc_pool("h100-cc", "a2-highgpu-1g", _g1t_tdx)
	_g1t_cloud(array.concat(_g1t_gke, array.concat([a100], _g1t_cloud_workloads))) == _g1t_not_cc("node pool h100-cc (gcp a2-highgpu-1g)", _g1t_no_cc_gpu("a2-highgpu-1g")) | _g1t_no_cloud_cc("1", "eligible pools: h100-cc (gcp a2-highgpu-1g, 1 A100 40GB per node, not confidential)")
}

test_denied_cloud_confidential_nodes_disabled if {
	pool := _g1t_gke_cc_pool("h100-cc", "a3-highgpu-1g", {"enabled": false, "confidentialInstanceType": "TDX"})
	_g1t_cloud(array.concat(_g1t_gke, array.concat([pool], _g1t_cloud_workloads))) == _g1t_not_cc("node pool h100-cc (gcp a3-highgpu-1g)", "confidentialNodes disabled") | _g1t_no_cloud_cc("1", "eligible pools: h100-cc (gcp a3-highgpu-1g, 1 H100 per node, not confidential)")
}

test_denied_cloud_wrong_tee if {
	pool := _g1t_gke_cc_pool("h100-cc", "a3-highgpu-1g", {"enabled": true, "confidentialInstanceType": "SEV_SNP"})
	_g1t_cloud(array.concat(_g1t_gke, array.concat([pool], _g1t_cloud_workloads))) == _g1t_not_cc("node pool h100-cc (gcp a3-highgpu-1g)", "confidentialInstanceType SEV_SNP is not the catalogue's tdx for a3-highgpu-1g") | _g1t_no_cloud_cc("1", "eligible pools: h100-cc (gcp a3-highgpu-1g, 1 H100 per node, not confidential)")
}

test_denied_cloud_aks_vm_size_without_cc if {
	pool := _g1t_aks_pool("h100cc", "Standard_NC40ads_H100_v5", _g1t_cc_label, _g1t_aks_cc_taints)
	resources := [_g1t_cloud_cluster("aks"), _g1t_aks_cluster([_g1t_aks_system]), pool]
	_g1t_cloud(array.concat(resources, _g1t_cloud_workloads)) == _g1t_not_cc("node pool h100cc (azure Standard_NC40ads_H100_v5)", "VM size Standard_NC40ads_H100_v5 has no confidential GPU in policies/data/cloud_machine_types.json") | _g1t_no_cloud_cc("1", "eligible pools: h100cc (azure Standard_NC40ads_H100_v5, 1 H100 NVL per node, not confidential)")
}

# A confidential pool exists, but a second, ordinary pool also admits the PHI pods: it denies alone.
test_denied_cloud_second_pool_not_confidential if {
	a100 := _g1t_gke_pool("spare", "a2-highgpu-1g", null, _g1t_cc_label, [])
	_g1t_cloud(array.concat(_g1t_gke, array.concat([_g1t_gke_h100, a100], _g1t_cloud_workloads))) == _g1t_not_cc("node pool spare (gcp a2-highgpu-1g)", _g1t_no_cc_gpu("a2-highgpu-1g"))
}

# A CPU-only pool that admits PHI pods denies too (fail closed: their steering is wrong).
test_denied_cloud_cpu_pool_admits if {
	system := _g1t_gke_pool("system", "e2-standard-4", null, _g1t_cc_label, [])
	resources := [_g1t_cloud_cluster("gke"), _g1t_gke_cluster, system, _g1t_gke_h100]
	_g1t_cloud(array.concat(resources, _g1t_cloud_workloads)) == _g1t_not_cc("node pool system (gcp e2-standard-4)", _g1t_no_cc_gpu("e2-standard-4"))
}

# A pool outside every component is in the stack too.
test_denied_cloud_unparented_pool if {
	stray := fx.resource("gcp:container/nodePool:NodePool", "stray", {"name": "stray", "cluster": "clinical", "nodeConfig": {"machineType": "a2-highgpu-1g", "labels": _g1t_cc_label}})
	_g1t_cloud(array.concat(_g1t_gke, array.concat([_g1t_gke_h100, stray], _g1t_cloud_workloads))) == {_g1t_finding(_g1t_cloud_phi_pod.urn, concat("", ["PHI Deployment nlp can be scheduled on node pool stray (gcp a2-highgpu-1g), which is not confidential: ", _g1t_no_cc_gpu("a2-highgpu-1g")])), _g1t_finding(_g1t_workload_urn, concat("", ["PHI workload nlp can be scheduled on node pool stray (gcp a2-highgpu-1g), which is not confidential: ", _g1t_no_cc_gpu("a2-highgpu-1g")]))}
}

# A PHI pod without the confidential selector and toleration lands on the system pool, not the CC pool.
test_denied_cloud_pod_without_selector if {
	pod := fx.child(_g1t_gpu_pod({"tolerations": _g1t_tolerate_gpu}), _g1t_cloud_phi)
	_g1t_cloud(array.concat(_g1t_gke, [_g1t_gke_h100, _g1t_cloud_phi, pod])) == {
		_g1t_finding(pod.urn, concat("", ["PHI Deployment nlp can be scheduled on node pool system (gcp e2-standard-4), which is not confidential: ", _g1t_no_cc_gpu("e2-standard-4")])),
		_g1t_finding(pod.urn, "PHI Deployment nlp can be scheduled on no confidential cloud node pool with at least 1 GPUs per node (eligible pools: system (gcp e2-standard-4, no GPU, not confidential))"),
	}
}

# An AttestedWorkload without the cloud node selector: its pods are not steered either.
test_denied_cloud_attested_without_selector if {
	_g1t_cloud(array.concat(_g1t_gke, [_g1t_gke_h100, _g1t_phi])) == {
		_g1t_finding(_g1t_workload_urn, concat("", ["PHI workload nlp can be scheduled on node pool system (gcp e2-standard-4), which is not confidential: ", _g1t_no_cc_gpu("e2-standard-4")])),
		_g1t_finding(_g1t_workload_urn, "PHI workload nlp can be scheduled on no confidential cloud node pool with at least 1 GPUs per node (eligible pools: system (gcp e2-standard-4, no GPU, not confidential))"),
	}
}

# A second affinity term on a label the plan does not fix (every node has a hostname) may match any pool.
test_denied_cloud_affinity_term_on_unfixed_label if {
	terms := [{"matchExpressions": [{"key": "phistack.io/confidential-gpu", "operator": "In", "values": ["true"]}]}, {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "Exists"}]}]
	pod := fx.child(_g1t_gpu_pod({"tolerations": [{"operator": "Exists"}], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}}), _g1t_cloud_phi)
	_g1t_cloud(array.concat(_g1t_gke, [_g1t_gke_h100, _g1t_cloud_phi, pod])) == {_g1t_finding(pod.urn, concat("", ["PHI Deployment nlp can be scheduled on node pool system (gcp e2-standard-4), which is not confidential: ", _g1t_no_cc_gpu("e2-standard-4")]))}
}

# Platform labels are known: selecting the pool by its GKE name works, and a wrong name selects nothing.
test_allowed_cloud_selects_gke_pool_name if {
	pod := _g1t_cloud_pod({"cloud.google.com/gke-nodepool": "h100-cc"})
	_g1t_cloud(array.concat(_g1t_gke, [_g1t_gke_h100, _g1t_cloud_phi, pod])) == set()
}

test_denied_cloud_selects_a100_by_pool_name if {
	a100 := _g1t_gke_pool("a100", "a2-highgpu-1g", null, {}, [])
	pod := _g1t_cloud_pod({"cloud.google.com/gke-nodepool": "a100"})
	_g1t_cloud(array.concat(_g1t_gke, [_g1t_gke_h100, a100, _g1t_cloud_phi, pod])) == {
		_g1t_finding(pod.urn, concat("", ["PHI Deployment nlp can be scheduled on node pool a100 (gcp a2-highgpu-1g), which is not confidential: ", _g1t_no_cc_gpu("a2-highgpu-1g")])),
		_g1t_finding(pod.urn, "PHI Deployment nlp can be scheduled on no confidential cloud node pool with at least 1 GPUs per node (eligible pools: a100 (gcp a2-highgpu-1g, 1 A100 40GB per node, not confidential))"),
	}
}

test_denied_cloud_not_enough_gpus if {
	w := fx.attested("nlp", object.union(fx.attested_props, {"gpus": 2, "node_selector": _g1t_cc_label, "tolerations": [_g1t_cc_toleration]}))
	_g1t_cloud(array.concat(_g1t_gke, [_g1t_gke_h100, w])) == {_g1t_finding(_g1t_workload_urn, "PHI workload nlp can be scheduled on no confidential cloud node pool with at least 2 GPUs per node (eligible pools: h100-cc (gcp a3-highgpu-1g, 1 H100 per node, confidential))")}
}

# The default pool exists unless the cluster removes it: e2-medium unless nodeConfig says otherwise.
test_denied_cloud_gke_default_pool if {
	cluster := fx.resource("gcp:container/cluster:Cluster", "gke", {"name": "clinical", "nodeConfig": {"labels": _g1t_cc_label}})
	_g1t_cloud([_g1t_cloud_cluster("gke"), cluster, _g1t_gke_h100, _g1t_cloud_phi]) == {_g1t_finding(_g1t_workload_urn, concat("", ["PHI workload nlp can be scheduled on node pool default-pool (gcp e2-medium), which is not confidential: ", _g1t_no_cc_gpu("e2-medium")]))}
}

test_denied_cloud_gke_inline_pool if {
	inline := {"name": "inline", "nodeConfig": {"machineType": "a2-highgpu-1g", "labels": _g1t_cc_label}}
	cluster := fx.resource("gcp:container/cluster:Cluster", "gke", {"name": "clinical", "removeDefaultNodePool": true, "nodePools": [inline]})
	_g1t_cloud([_g1t_cloud_cluster("gke"), cluster, _g1t_gke_h100, _g1t_cloud_phi]) == {_g1t_finding(_g1t_workload_urn, concat("", ["PHI workload nlp can be scheduled on node pool inline (gcp a2-highgpu-1g), which is not confidential: ", _g1t_no_cc_gpu("a2-highgpu-1g")]))}
}

test_denied_cloud_gke_autopilot if {
	cluster := fx.resource("gcp:container/cluster:Cluster", "gke", {"name": "clinical", "enableAutopilot": true})
	_g1t_cloud([_g1t_cloud_cluster("gke"), cluster, _g1t_cloud_phi]) == {
		_g1t_finding(_g1t_workload_urn, "PHI workload nlp can be scheduled on nodes the cluster provisions itself (enableAutopilot), which is not confidential: GKE Autopilot provisions nodes for pods that the plan does not declare"),
		_g1t_finding(_g1t_workload_urn, "PHI workload nlp can be scheduled on no confidential cloud node pool with at least 1 GPUs per node (no eligible node pool)"),
	}
}

test_denied_cloud_aks_profile_without_cc if {
	nc := {"name": "gpu", "vmSize": "Standard_NC40ads_H100_v5", "count": 1, "mode": "User", "nodeLabels": _g1t_cc_label}
	resources := [_g1t_cloud_cluster("aks"), _g1t_aks_cluster([_g1t_aks_system, nc]), _g1t_aks_ncc, _g1t_cloud_phi]
	_g1t_cloud(resources) == {_g1t_finding(_g1t_workload_urn, "PHI workload nlp can be scheduled on node pool gpu (azure Standard_NC40ads_H100_v5), which is not confidential: VM size Standard_NC40ads_H100_v5 has no confidential GPU in policies/data/cloud_machine_types.json")}
}

# No pool at all: a cloud stack whose cluster removed its default pool and created none.
test_missing_cloud_pools if {
	_g1t_cloud([_g1t_cloud_cluster("gke"), _g1t_gke_cluster, _g1t_cloud_phi]) == {_g1t_finding(_g1t_workload_urn, "PHI workload nlp can be scheduled on no confidential cloud node pool with at least 1 GPUs per node (no eligible node pool)")}
}

test_missing_cloud_catalogue if {
	phi_gpu_001.findings_with(fx.ctx(array.concat(_g1t_gke, [_g1t_gke_h100, _g1t_cloud_phi])), null) == {_g1t_finding(fx.stack_urn, "the machine catalogue policies/data/cloud_machine_types.json is missing: the hardware of no cloud node pool can be verified")}
}

test_missing_cloud_machine_in_catalogue if {
	pool := _g1t_gke_cc_pool("h100-8", "a3-highgpu-8g", _g1t_tdx)
	_g1t_cloud(array.concat(_g1t_gke, [pool, _g1t_cloud_phi])) == {_g1t_finding(pool.urn, "node pool h100-8: gcp machine type 'a3-highgpu-8g' is not in the machine catalogue policies/data/cloud_machine_types.json: unknown hardware cannot be trusted")}
}

test_missing_cloud_vm_size if {
	pool := fx.resource("azure-native:containerservice:AgentPool", "h100cc", {"agentPoolName": "h100cc", "count": 1, "nodeLabels": _g1t_cc_label})
	_g1t_cloud([_g1t_cloud_cluster("aks"), _g1t_aks_cluster([_g1t_aks_system]), pool, _g1t_cloud_phi]) == {_g1t_finding(pool.urn, "node pool h100cc declares no VM size: unknown hardware cannot be trusted")}
}

test_missing_cloud_confidential_instance_type if {
	pool := _g1t_gke_cc_pool("h100-cc", "a3-highgpu-1g", {"enabled": true})
	_g1t_cloud(array.concat(_g1t_gke, [pool, _g1t_cloud_phi])) == {
		_g1t_finding(_g1t_workload_urn, "PHI workload nlp can be scheduled on node pool h100-cc (gcp a3-highgpu-1g), which is not confidential: no confidentialInstanceType (a3-highgpu-1g needs the catalogue's tdx)"),
		_g1t_finding(_g1t_workload_urn, "PHI workload nlp can be scheduled on no confidential cloud node pool with at least 1 GPUs per node (eligible pools: h100-cc (gcp a3-highgpu-1g, 1 H100 per node, not confidential))"),
	}
}

test_unknown_cloud_machine_type if {
	pool := _g1t_gke_cc_pool("h100-cc", fx.unknown, _g1t_tdx)
	_g1t_cloud(array.concat(_g1t_gke, array.concat([pool], _g1t_cloud_workloads))) == {_g1t_unknown(pool.urn, "the hardware or placement of node pool h100-cc", ["nodeConfig.machineType"])}
}

test_unknown_cloud_confidential_nodes if {
	pool := _g1t_gke_cc_pool("h100-cc", "a3-highgpu-1g", {"enabled": fx.unknown, "confidentialInstanceType": "TDX"})
	_g1t_cloud(array.concat(_g1t_gke, array.concat([pool], _g1t_cloud_workloads))) == {_g1t_unknown(pool.urn, "the hardware or placement of node pool h100-cc", ["nodeConfig.confidentialNodes"])}
}

test_unknown_cloud_labels_and_taints if {
	pool := _g1t_gke_pool("spare", "a2-highgpu-1g", null, {"team": fx.unknown}, [{"key": "k", "value": fx.unknown, "effect": "NO_SCHEDULE"}])
	_g1t_cloud(array.concat(_g1t_gke, array.concat([_g1t_gke_h100, pool], _g1t_cloud_workloads))) == {_g1t_unknown(pool.urn, "the hardware or placement of node pool spare", ["nodeConfig.labels", "nodeConfig.taints"])}
}

test_unknown_cloud_vm_size if {
	pool := _g1t_aks_pool("h100cc", fx.unknown, _g1t_cc_label, _g1t_aks_cc_taints)
	_g1t_cloud([_g1t_cloud_cluster("aks"), _g1t_aks_cluster([_g1t_aks_system]), pool, _g1t_cloud_phi]) == {_g1t_unknown(pool.urn, "the hardware or placement of node pool h100cc", ["vmSize"])}
}

test_unknown_cloud_agent_pool_profiles if {
	cluster := _g1t_aks_cluster(fx.unknown)
	_g1t_cloud([_g1t_cloud_cluster("aks"), cluster, _g1t_aks_ncc, _g1t_cloud_phi]) == {_g1t_unknown(cluster.urn, "the node pools", ["agentPoolProfiles"])}
}

test_unknown_cloud_autopilot if {
	cluster := fx.resource("gcp:container/cluster:Cluster", "gke", {"name": "clinical", "removeDefaultNodePool": true, "enableAutopilot": fx.unknown})
	_g1t_cloud([_g1t_cloud_cluster("gke"), cluster, _g1t_gke_h100, _g1t_cloud_phi]) == {_g1t_unknown(cluster.urn, "whether the cluster provisions nodes itself (enableAutopilot)", ["enableAutopilot"])}
}

test_unknown_cloud_pod_node_selector if {
	pod := _g1t_cloud_pod({"phistack.io/confidential-gpu": fx.unknown})
	_g1t_cloud(array.concat(_g1t_gke, [_g1t_gke_h100, _g1t_cloud_phi, pod])) == {_g1t_unknown(pod.urn, "where PHI Deployment nlp can be scheduled", ["spec.template.spec.nodeSelector"])}
}

test_unknown_cloud_attested_node_selector if {
	w := fx.attested("nlp", object.union(fx.attested_props, {"node_selector": fx.unknown, "tolerations": [_g1t_cc_toleration]}))
	_g1t_cloud(array.concat(_g1t_gke, [_g1t_gke_h100, w])) == {_g1t_unknown(_g1t_workload_urn, "where PHI workload nlp can be scheduled", ["node_selector"])}
}

# The shipped catalogue (policies/data/cloud_machine_types.json) as the gate reads it.
test_allowed_cloud_shipped_catalogue if {
	phi_gpu_001.findings(fx.ctx(array.concat(_g1t_gke, array.concat([_g1t_gke_h100], _g1t_cloud_workloads)))) == set()
}

test_denied_cloud_shipped_catalogue_a3_8g_without_cc if {
	pool := _g1t_gke_cc_pool("h100-8", "a3-highgpu-8g", _g1t_tdx)
	phi_gpu_001.findings(fx.ctx(array.concat(_g1t_gke, [pool, _g1t_cloud_phi]))) == {
		_g1t_finding(_g1t_workload_urn, concat("", ["PHI workload nlp can be scheduled on node pool h100-8 (gcp a3-highgpu-8g), which is not confidential: ", _g1t_no_cc_gpu("a3-highgpu-8g")])),
		_g1t_finding(_g1t_workload_urn, "PHI workload nlp can be scheduled on no confidential cloud node pool with at least 1 GPUs per node (eligible pools: h100-8 (gcp a3-highgpu-8g, 8 H100 per node, not confidential))"),
	}
}

# PREFER_NO_SCHEDULE keeps no pod off: an ordinary pool with the label and only that taint admits PHI pods.
test_denied_cloud_prefer_no_schedule_taint if {
	spare := _g1t_gke_pool("spare", "a2-highgpu-1g", null, _g1t_cc_label, [{"key": "phistack.io/confidential-gpu", "value": "true", "effect": "PREFER_NO_SCHEDULE"}])
	_g1t_cloud(array.concat(_g1t_gke, array.concat([_g1t_gke_h100, spare], _g1t_cloud_workloads))) == _g1t_not_cc("node pool spare (gcp a2-highgpu-1g)", _g1t_no_cc_gpu("a2-highgpu-1g"))
}

# The AKS taint string is a taint: a PHI pod that does not tolerate it cannot use the NCC pool.
test_denied_cloud_aks_taint_not_tolerated if {
	w := fx.attested("nlp", object.union(fx.attested_props, {"node_selector": _g1t_cc_label}))
	_g1t_cloud([_g1t_cloud_cluster("aks"), _g1t_aks_cluster([_g1t_aks_system]), _g1t_aks_ncc, w]) == {_g1t_finding(_g1t_workload_urn, "PHI workload nlp can be scheduled on no confidential cloud node pool with at least 1 GPUs per node (no eligible node pool)")}
}
