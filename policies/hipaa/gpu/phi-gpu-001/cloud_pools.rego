# PHI-GPU-001 on a cloud backend: the GKE and AKS node pools the plan creates, normalised into one
# shape, and where the PHI workloads can land among them.
#
# The pools are the real resources (gcp NodePool, the inline and default pools of a gcp Cluster,
# azure-native AgentPool and a ManagedCluster's agentPoolProfiles), never the component's declared
# node_pools or cloud_node_pools. The machine catalogue (policies/data/cloud_machine_types.json) says
# which GPU a machine type carries, how many per node, and whether it runs as a confidential VM with
# the GPU in CC mode.
package phistack.rules.gpu.phi_gpu_001

import rego.v1

import data.phistack.lib.hipaa as lib

_catalogue_file := "policies/data/cloud_machine_types.json"

# The machine catalogue by "<cloud>/<lower-case machine type>"; null when it is missing.
_machine_types := data.cloud_machine_types.machine_types if is_object(data.cloud_machine_types.machine_types)

else := null

_gke_pool_type := "gcp:container/nodePool:NodePool"

_gke_cluster_type := "gcp:container/cluster:Cluster"

_aks_pool_type := "azure-native:containerservice:AgentPool"

_aks_cluster_type := "azure-native:containerservice:ManagedCluster"

# A stack with any of these resources runs on cloud pools: they alone decide placement.
_cloud_stack(ctx) if {
	some t in [_gke_pool_type, _gke_cluster_type, _aks_pool_type, _aks_cluster_type]
	count(object.get(ctx.types, t, set())) > 0
}

# Labels the platform puts on every node of a pool (their values follow from the pool).
_platform_keys := {
	"gcp": {"cloud.google.com/gke-nodepool", "node.kubernetes.io/instance-type"},
	"azure": {"agentpool", "kubernetes.azure.com/agentpool", "kubernetes.azure.com/mode", "node.kubernetes.io/instance-type"},
}

# A dotted path under a prefix ("" for the resource's own inputs).
_at(prefix, rel) := rel if prefix == ""

else := concat(".", [prefix, rel])

# --- the pools as the plan writes them ------------------------------------------------------------

# Each pool: {"urn", "prefix" (its path in the resource's inputs), "cloud", "name", "spec" (the pool
# object: a NodePool's inputs, an inline pool, an agent pool profile)}; {"open": ...} entries for
# node provisioning that creates pools the plan does not declare; {"unknown": ...} entries for a
# list of pools unknown at plan time.
_cloud_raw(ctx) := array.concat(array.concat(_gke_raw(ctx), _gke_cluster_raw(ctx)), array.concat(_aks_raw(ctx), _aks_cluster_raw(ctx)))

_gke_raw(ctx) := [{"urn": r.urn, "prefix": "", "cloud": "gcp", "name": _raw_name(r.inputs, "name", r.name), "spec": r.inputs} |
	some r in lib.of_type(ctx, _gke_pool_type)
]

_gke_cluster_raw(ctx) := [p |
	some r in lib.of_type(ctx, _gke_cluster_type)
	some p in _gke_cluster_pools(r)
]

_gke_cluster_pools(r) := array.concat(
	array.concat(_listed_pools(r, "gcp", "nodePools", "name"), _gke_default_pool(r)),
	array.concat(
		_open_pool(r, "gcp", "enableAutopilot", "GKE Autopilot provisions nodes for pods that the plan does not declare"),
		_open_pool(r, "gcp", "clusterAutoscaling.enabled", "GKE node auto-provisioning creates node pools that the plan does not declare"),
	),
)

# The default pool exists unless the cluster removes it; its nodeConfig is the cluster's.
_gke_default_pool(r) := [] if r.inputs.removeDefaultNodePool == true

else := [{"urn": r.urn, "prefix": "", "cloud": "gcp", "name": "default-pool", "spec": {"nodeConfig": object.get(r.inputs, "nodeConfig", {})}}]

_aks_raw(ctx) := [{"urn": r.urn, "prefix": "", "cloud": "azure", "name": _raw_name(r.inputs, "agentPoolName", r.name), "spec": r.inputs} |
	some r in lib.of_type(ctx, _aks_pool_type)
]

_aks_cluster_raw(ctx) := [p |
	some r in lib.of_type(ctx, _aks_cluster_type)
	some p in array.concat(
		_listed_pools(r, "azure", "agentPoolProfiles", "name"),
		_open_pool(r, "azure", "nodeProvisioningProfile.mode", "AKS node auto-provisioning creates nodes that the plan does not declare"),
	)
]

_raw_name(spec, key, fallback) := spec[key] if is_string(spec[key])

else := fallback

# The pools of a list in a cluster's inputs (an unknown list is one unknown entry).
_listed_pools(r, cloud, field, key) := [{"urn": r.urn, "what": "the node pools", "unknown": [field]}] if {
	lib.is_unknown(object.get(r.inputs, field, []))
} else := [p |
	listed := object.get(r.inputs, field, [])
	is_array(listed)
	some i
	spec := listed[i]
	prefix := concat("", [field, "[", format_int(i, 10), "]"])
	p := {"urn": r.urn, "prefix": prefix, "cloud": cloud, "name": _raw_name(_object(spec), key, prefix), "spec": spec}
]

# Node provisioning switched on (true, or "Auto" for AKS), or unknown at plan time.
_open_pool(r, cloud, dotted, why) := [{"urn": r.urn, "what": concat("", ["whether the cluster provisions nodes itself (", dotted, ")"]), "unknown": [dotted]}] if {
	lib.is_unknown(object.get(r.inputs, split(dotted, "."), null))
} else := [{"urn": r.urn, "prefix": "", "cloud": cloud, "name": dotted, "open": why}] if {
	object.get(r.inputs, split(dotted, "."), null) in {true, "Auto"}
} else := []

# --- the pools normalised -------------------------------------------------------------------------

# Every cloud pool: {"urn", "name", "cloud", "machine", "labels", "taints" (Kubernetes form), "gpu_model",
# "gpu_count", "confidential", "why" (why not), "open", "unknown" (paths), "problem" (why the catalogue
# cannot decide)}. A pool with unknown paths or a problem is undecided: it is reported on its own.
# (The argument is read in the body: regopy drops comprehension heads that read a function argument.)
_cloud_pools(raws, catalogue) := [p |
	some raw in raws
	p := _normalise(raw, catalogue)
]

_normalise(raw, catalogue) := object.union(_undecided_shape, {"urn": raw.urn, "what": raw.what, "unknown": raw.unknown}) if {
	raw.unknown
} else := object.union(_undecided_shape, {"urn": raw.urn, "name": raw.name, "cloud": raw.cloud, "open": true, "why": raw.open}) if {
	raw.open
} else := object.union(_undecided_shape, {"urn": raw.urn, "what": "a node pool", "unknown": [raw.prefix]}) if {
	lib.is_unknown(raw.spec)
} else := _gke_pool(raw, catalogue) if {
	raw.cloud == "gcp"
} else := _aks_pool(raw, catalogue)

_undecided_shape := {
	"name": "",
	"what": "",
	"cloud": "",
	"machine": null,
	"labels": {},
	"taints": [],
	"gpu_model": null,
	"gpu_count": 0,
	"confidential": false,
	"why": "",
	"open": false,
	"unknown": [],
	"problem": null,
}

_gke_pool(raw, catalogue) := p if {
	config := object.get(_object(raw.spec), "nodeConfig", {})
	node_config := _object(config)
	machine := object.get(node_config, "machineType", "e2-medium")
	confidential_nodes := object.get(node_config, "confidentialNodes", null)
	labels := object.get(node_config, "labels", {})
	taints := object.get(node_config, "taints", [])
	entry := _machine_entry(catalogue, "gcp", machine)
	p := {
		"urn": raw.urn,
		"name": raw.name,
		"cloud": "gcp",
		"machine": machine,
		"labels": object.union(_string_object(labels), {"cloud.google.com/gke-nodepool": raw.name, "node.kubernetes.io/instance-type": _text(machine)}),
		"taints": [_gke_taint(t) | some t in _array(taints)],
		"gpu_model": object.get(_object(entry), "gpu_model", null),
		"gpu_count": _gpu_count(entry),
		"confidential": _gke_why(machine, entry, confidential_nodes) == "",
		"why": _gke_why(machine, entry, confidential_nodes),
		"open": false,
		"what": concat("", ["the hardware or placement of node pool ", raw.name]),
		"unknown": _pool_unknown_paths(raw.prefix, [
			["nodeConfig", _whole_unknown(config)],
			["nodeConfig.machineType", machine],
			["nodeConfig.confidentialNodes", confidential_nodes],
			["nodeConfig.labels", labels],
			["nodeConfig.taints", taints],
		]),
		"problem": _hardware_problem(catalogue, "gcp", "machine type", machine, entry),
	}
}

_aks_pool(raw, catalogue) := p if {
	spec := _object(raw.spec)
	machine := object.get(spec, "vmSize", null)
	labels := object.get(spec, "nodeLabels", {})
	taints := object.get(spec, "nodeTaints", [])
	mode := object.get(spec, "mode", "User")
	entry := _machine_entry(catalogue, "azure", machine)
	p := {
		"urn": raw.urn,
		"name": raw.name,
		"cloud": "azure",
		"machine": machine,
		"labels": object.union(_string_object(labels), {
			"agentpool": raw.name,
			"kubernetes.azure.com/agentpool": raw.name,
			"kubernetes.azure.com/mode": lower(_text(mode)),
			"node.kubernetes.io/instance-type": _text(machine),
		}),
		"taints": [_aks_taint(t) | some t in _array(taints)],
		"gpu_model": object.get(_object(entry), "gpu_model", null),
		"gpu_count": _gpu_count(entry),
		"confidential": _aks_why(machine, entry) == "",
		"why": _aks_why(machine, entry),
		"open": false,
		"what": concat("", ["the hardware or placement of node pool ", raw.name]),
		"unknown": _pool_unknown_paths(raw.prefix, [
			["vmSize", machine],
			["mode", mode],
			["nodeLabels", labels],
			["nodeTaints", taints],
		]),
		"problem": _hardware_problem(catalogue, "azure", "VM size", machine, entry),
	}
}

# A value that is unknown as a whole (null when it is not: parts of it are checked on their own).
_whole_unknown(x) := x if lib.is_unknown(x)

else := null

_pool_unknown_paths(prefix, pairs) := [path |
	some pair in pairs
	lib.holds_unknown(pair[1])
	path := _at(prefix, pair[0])
]

# The catalogue entry of a machine type (null when there is none).
_machine_entry(catalogue, cloud, machine) := entry if {
	is_object(catalogue)
	is_string(machine)
	entry := catalogue[concat("/", [cloud, lower(machine)])]
	is_object(entry)
} else := null

_gpu_count(entry) := entry.gpu_count if is_number(entry.gpu_count)

else := 0

# Why the catalogue cannot judge the pool's hardware (null when it can).
_hardware_problem(catalogue, cloud, what, machine, entry) := concat("", [": the machine catalogue ", _catalogue_file, " is missing"]) if {
	not is_object(catalogue)
} else := concat("", [" declares no ", what, ": unknown hardware cannot be trusted"]) if {
	not is_string(machine)
} else := concat("", [": ", cloud, " ", what, " '", machine, "' is not in the machine catalogue ", _catalogue_file, ": unknown hardware cannot be trusted"]) if {
	entry == null
} else := null

_gpu_cc(entry) if entry.confidential.gpu_cc == true

_no_cc_gpu(what, machine) := concat("", [what, " ", _text(machine), " has no confidential GPU in ", _catalogue_file])

# "" when the GKE pool is confidential, else why not.
_gke_why(machine, entry, confidential_nodes) := _no_cc_gpu("machine type", machine) if {
	not _gpu_cc(entry)
} else := "confidentialNodes disabled" if {
	object.get(_object(confidential_nodes), "enabled", false) != true
} else := concat("", ["no confidentialInstanceType (", _text(machine), " needs the catalogue's ", _text(_tee(entry)), ")"]) if {
	not is_string(object.get(_object(confidential_nodes), "confidentialInstanceType", null))
} else := concat("", ["confidentialInstanceType ", _text(object.get(_object(confidential_nodes), "confidentialInstanceType", null)), " is not the catalogue's ", _text(_tee(entry)), " for ", _text(machine)]) if {
	not _tee_matches(object.get(_object(confidential_nodes), "confidentialInstanceType", null), _tee(entry))
} else := ""

_tee(entry) := entry.confidential.cpu_tee if is_string(entry.confidential.cpu_tee)

else := null

# GKE writes SEV_SNP and TDX, the catalogue sev-snp and tdx.
_tee_matches(instance_type, tee) if {
	is_string(instance_type)
	is_string(tee)
	replace(lower(instance_type), "_", "-") == replace(lower(tee), "_", "-")
}

# On Azure the VM size alone makes a confidential VM (the NCC sizes).
_aks_why(machine, entry) := _no_cc_gpu("VM size", machine) if not _gpu_cc(entry)

else := ""

_text(x) := x if is_string(x)

else := "unknown"

_string_object(x) := {k: v | some k; v := _object(x)[k]; is_string(v)}

_gke_effects := {"NO_SCHEDULE": "NoSchedule", "PREFER_NO_SCHEDULE": "PreferNoSchedule", "NO_EXECUTE": "NoExecute"}

_gke_taint(t) := {"key": object.get(t, "key", ""), "value": object.get(t, "value", ""), "effect": object.get(_gke_effects, object.get(t, "effect", ""), object.get(t, "effect", ""))} if {
	is_object(t)
} else := t

# "key=value:Effect" or "key:Effect"; anything else is a taint no toleration but "tolerate all" matches.
_aks_taint(t) := {"key": kv[0], "value": kv[1], "effect": parts[1]} if {
	is_string(t)
	parts := split(t, ":")
	count(parts) == 2
	kv := split(parts[0], "=")
	count(kv) == 2
} else := {"key": parts[0], "value": "", "effect": parts[1]} if {
	is_string(t)
	parts := split(t, ":")
	count(parts) == 2
	not contains(parts[0], "=")
} else := {"key": _text(t), "value": "", "effect": "NoSchedule"}

# --- findings on the pools themselves -------------------------------------------------------------

_undecided_pool_cloud(p) if count(p.unknown) > 0

_undecided_pool_cloud(p) if p.problem != null

_cloud_pool_findings(ctx, raws, pools, catalogue) := {lib.finding("PHI-GPU-001", ctx.stack_urn, concat("", ["the machine catalogue ", _catalogue_file, " is missing: the hardware of no cloud node pool can be verified"]))} if {
	not is_object(catalogue)
} else := {lib.finding("PHI-GPU-001", ctx.stack_urn, "the gate could not read every cloud node pool of the plan, so it fails closed")} if {
	count(pools) != count(raws)
} else := {f |
	some p in pools
	f := _cloud_pool_finding(p)
}

_cloud_pool_finding(p) := lib.unknown_finding("PHI-GPU-001", p.urn, p.what, p.unknown) if {
	count(p.unknown) > 0
} else := lib.finding("PHI-GPU-001", p.urn, concat("", ["node pool ", p.name, p.problem])) if {
	p.problem != null
}

# --- where a subject can land among the cloud pools -----------------------------------------------

# The pod spec that places a subject: a pod workload's own; for an AttestedWorkload, the one the
# module writes from its node_selector and tolerations props beside the GPU toleration.
_placing_spec(ctx, s) := lib.pod_spec(s.pod) if s.pod != null

else := {
	"nodeSelector": object.get(ctx.by_urn[s.urn].inputs, "node_selector", {}),
	"tolerations": array.concat(
		[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
		[object.union({"operator": "Equal"}, t) | some t in _array(object.get(ctx.by_urn[s.urn].inputs, "tolerations", [])); is_object(t)],
	),
}

_attested_unknowns(ctx, s) := [k | some k in ["node_selector", "tolerations"]; lib.holds_unknown(object.get(ctx.by_urn[s.urn].inputs, k, null))]

_cloud_placement_unknowns(ctx, s) := lib.sorted({path |
	spec := lib.pod_spec(s.pod)
	prefix := concat(".", lib.pod_spec_path(s.pod))
	some field in ["nodeName", "nodeSelector", "affinity", "tolerations"]
	_has_unknown(object.get(spec, field, null))
	path := concat("", [prefix, ".", field])
}) if s.pod != null

else := _attested_unknowns(ctx, s)

# Surely admits: every selector term and taint is satisfied by the pool's labels (declared and platform).
_cloud_admits(spec, p) if {
	not p.open
	_selector_admits(spec, p.labels)
	_affinity_admits(spec, p.labels)
	_taints_admit(spec, {"spec": {"taints": p.taints}})
}

# May admit: as above, but a label whose value the plan does not fix (kubernetes.io/hostname, a GPU
# operator's labels) may have any value or none. Only the pool's labels, the platform's and phistack.io/
# ones are known. Taints the platform adds only keep pods off, so leaving them out errs toward admitting.
_cloud_may_admit(spec, p) if p.open

_cloud_may_admit(spec, p) if {
	not p.open
	selector := _object(object.get(spec, "nodeSelector", {}))
	count([k | some k; v := selector[k]; _known_key(p, k); object.get(p.labels, k, null) != v]) == 0
	_may_affine(spec, p)
	_taints_admit(spec, {"spec": {"taints": p.taints}})
}

_may_affine(spec, p) if count(_terms(spec)) == 0

_may_affine(spec, p) if {
	some term in _terms(spec)
	is_object(term)
	exprs := _array(object.get(term, "matchExpressions", []))
	count(exprs) + count(_array(object.get(term, "matchFields", []))) > 0
	count([x | some x in exprs; not _may_express(x, p)]) == 0
}

_may_express(x, p) if not _known_key(p, object.get(_object(x), "key", null))

_may_express(x, p) if _expression_admits(x, p.labels)

_known_key(p, key) if {
	is_string(key)
	_ = p.labels[key]
}

_known_key(p, key) if {
	is_string(key)
	startswith(key, "phistack.io/")
}

_known_key(p, key) if key in _platform_keys[p.cloud]

# --- findings per subject on a cloud stack --------------------------------------------------------

# The pools are read and normalised once here and handed on (no memoisation in either engine).
_cloud_findings(ctx, catalogue) := _cloud_pool_findings(ctx, raws, pools, catalogue) | _cloud_subject_findings(ctx, pools) if {
	ctx.handles_phi
	raws := _cloud_raw(ctx)
	pools := _cloud_pools(raws, catalogue)
} else := set()

_cloud_subject_findings(ctx, pools) := {f |
	some s in _subject_bases(ctx)
	some f in _cloud_subject(ctx, s, pools, _placing_spec(ctx, s))
}

_cloud_subject(ctx, s, pools, spec) := {lib.unknown_finding("PHI-GPU-001", s.urn, concat("", ["the GPUs ", s.what, " requests"]), s.need.unknown)} if {
	s.need.unknown
} else := {lib.finding("PHI-GPU-001", s.urn, concat("", [s.what, " requests GPUs in a form the gate cannot read (", concat(", ", s.need.unreadable), ")"]))} if {
	s.need.unreadable
} else := {lib.unknown_finding("PHI-GPU-001", s.urn, concat("", ["where ", s.what, " can be scheduled"]), paths)} if {
	paths := _cloud_placement_unknowns(ctx, s)
	count(paths) > 0
} else := {lib.finding("PHI-GPU-001", s.urn, concat("", [s.what, " is pinned to node ", _node_name(s), " by nodeName, which bypasses the scheduler: the gate cannot tell the node's pool, so it cannot verify a confidential-computing GPU"]))} if {
	_node_name(s)
} else := _not_confidential_findings(s, pools, spec) | _no_confidential_finding(s, pools, spec)

# Every pool that is not confidential and may admit the subject denies: GPU pools, CPU-only pools (the
# pod's GPU request would keep it pending there, but a pool that admits PHI pods shows their steering
# is wrong) and node provisioning that makes pools the plan does not show.
_not_confidential_findings(s, pools, spec) := {f |
	some p in pools
	not _undecided_pool_cloud(p)
	not p.confidential
	_cloud_may_admit(spec, p)
	f := lib.finding("PHI-GPU-001", s.urn, concat("", [s.what, " can be scheduled on ", _cloud_pool_label(p), ", which is not confidential: ", p.why]))
}

_no_confidential_finding(s, pools, spec) := set() if {
	some p in pools
	_undecided_pool_cloud(p)
} else := set() if {
	some p in pools
	p.confidential
	p.gpu_count >= s.need.value
	_cloud_admits(spec, p)
} else := {lib.finding("PHI-GPU-001", s.urn, concat("", [s.what, " can be scheduled on no confidential cloud node pool with at least ", format_int(s.need.value, 10), " GPUs per node (", _cloud_eligible_text(pools, spec), ")"]))}

_cloud_eligible_text(pools, spec) := concat("", ["eligible pools: ", concat(", ", sort(texts))]) if {
	texts := [_cloud_pool_text(p) | some p in pools; _cloud_admits(spec, p)]
	count(texts) > 0
} else := "no eligible node pool"

_cloud_pool_label(p) := concat("", ["nodes the cluster provisions itself (", p.name, ")"]) if p.open

else := concat("", ["node pool ", p.name, " (", p.cloud, " ", _text(p.machine), ")"])

_cloud_pool_text(p) := concat("", [p.name, " (", p.cloud, " ", _text(p.machine), ", ", _gpu_text(p), ", ", _confidential_text(p), ")"])

_gpu_text(p) := concat("", [format_int(p.gpu_count, 10), " ", p.gpu_model, " per node"]) if is_string(p.gpu_model)

else := "no GPU"

_confidential_text(p) := "confidential" if p.confidential

else := "not confidential"
