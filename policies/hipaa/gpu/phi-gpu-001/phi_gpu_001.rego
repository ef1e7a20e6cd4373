# METADATA
# title: PHI runs only where the hardware catalogue proves a confidential-computing GPU
# description: 'Every PHI or genetic AttestedWorkload, and every PHI or genetic pod workload that requests
#   GPUs, can be scheduled on a node pool whose GPU model the hardware catalogue (policies/data/gpu_profiles.json:
#   Hopper and Blackwell data-centre GPUs) lists with NVIDIA Confidential Computing and which has at least
#   the GPUs per node the workload requests. The catalogue decides, never the pool''s declared cc_capable:
#   a pool that declares CC for a GPU without it, or declares no CC for a CC GPU that PHI workloads can land
#   on, denies; a GPU model the catalogue does not know is unknown hardware and denies. A pod''s eligible
#   pools are its cluster''s pools that its nodeSelector, required node affinity and tolerations admit when
#   pools declare labels or taints; a pod pinned to a node by nodeName cannot be verified and denies.
#   On a cloud backend (a plan with GKE NodePools or Clusters, AKS AgentPools or ManagedClusters) the pools
#   the plan creates decide instead, parented under a component or not, and the components'' declared
#   node_pools, cloud_node_pools and cc_capable count for nothing there: each GKE pool (a NodePool, a
#   Cluster''s inline pools, its default pool unless removed) and AKS pool (an AgentPool, a ManagedCluster''s
#   agentPoolProfiles) takes its GPU model and GPUs per node from the machine catalogue
#   (policies/data/cloud_machine_types.json) by machine type or VM size, its node labels (with the pool-name
#   and instance-type labels the platform adds) and its taints in Kubernetes form. A GKE pool is confidential
#   only with confidentialNodes enabled, a confidentialInstanceType equal to the catalogue''s TEE for the
#   machine type and a GPU the catalogue lists in CC mode; an AKS pool only when the catalogue lists its VM
#   size with a CC GPU. A PHI workload (an AttestedWorkload placed by its node_selector and tolerations props)
#   must be able to land on a confidential pool with enough GPUs per node, and denies for every pool that is
#   not confidential that its selector, affinity and tolerations may admit: GPU and CPU-only pools alike
#   (fail closed: a CPU pool would leave the pod pending, but admitting it shows the steering is wrong), and
#   GKE Autopilot or node auto-provisioning and AKS node auto-provisioning, whose nodes the plan does not
#   show. Only labels whose value the plan fixes count against a pool (its own, the platform''s, phistack.io/);
#   a selector term on any other label may match every pool. In a stack handling PHI a machine type the
#   catalogue does not know, a missing catalogue and a machine type, confidentialNodes, labels, taints or
#   pool list unknown at plan time deny.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(2)(iv)
#   description: '45 CFR 164.312(a)(2)(iv) Encryption and decryption (Addressable): Implement a mechanism
#     to encrypt and decrypt electronic protected health information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(B)
#   description: '45 CFR 164.308(a)(1)(ii)(B) Risk management (Required): Implement security measures sufficient
#     to reduce risks and vulnerabilities to a reasonable and appropriate level to comply with § 164.306(a).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(7)(ii)(E)
#   description: '45 CFR 164.308(a)(7)(ii)(E) Applications and data criticality analysis (Addressable):
#     Assess the relative criticality of specific applications and data in support of other contingency
#     plan components.'
# custom:
#   id: PHI-GPU-001
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(a)(2)(iv)
#     title: Encryption and decryption
#     type: addressable
#   - cfr: 45 CFR 164.308(a)(1)(ii)(B)
#     title: Risk management
#     type: required
#   - cfr: 45 CFR 164.308(a)(7)(ii)(E)
#     title: Applications and data criticality analysis
#     type: addressable
#   remediation: Give PHI workloads a node pool whose gpu_model the catalogue lists with confidential computing
#     (H100, H200, B200, ...) and enough GPUs per node, that their scheduling constraints admit; make
#     cc_capable agree with the catalogue; add a new GPU model to policies/data/gpu_profiles.json with its
#     vendor source before using it; or run only de-identified data on GPUs without confidential computing.
#     On GKE or AKS, create the PHI pools on a confidential machine type from policies/data/cloud_machine_types.json
#     (GKE with confidentialNodes and the catalogue's confidentialInstanceType), keep the confidential label and
#     taint on those pools only, and give PHI workloads the node selector and toleration
#     (ConfidentialGpuCluster.workload_node_selector and workload_tolerations).
package phistack.rules.gpu.phi_gpu_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := findings_with(ctx, _machine_types)

# The same for a given machine catalogue (policies/data/cloud_machine_types.json's machine_types, null when
# missing): tests pass theirs, since regopy does not apply `with data... as`.
findings_with(ctx, catalogue) := _hardware_findings(ctx) | _placement_findings(ctx, catalogue)

# On a cloud stack the pools it creates decide (cloud_pools.rego); else the clusters' declared node pools.
# A stack that provisions cloud pools runs on them: they alone decide placement.
_placement_findings(ctx, catalogue) := _cloud_findings(ctx, catalogue) if lib.provisions_cloud_pools(ctx)

else := _declared_findings(_subjects(ctx))

# The subjects are computed once and handed on: regorus and regopy do not memoise function calls, and
# building them is most of this rule's cost on a large plan.
_declared_findings(subjects) := _subject_findings(subjects) | _reliance_findings(subjects)

# --- the hardware catalogue -----------------------------------------------------------------------

_catalogue := data.gpu_profiles.gpus if is_object(data.gpu_profiles.gpus)

else := {}

# Catalogue key of a model name: lower case, no spaces or dashes, no vendor prefix ("NVIDIA H100-SXM"
# -> "h100sxm"). phistack/hardware.py gpu_key() is the same function.
_key(model) := trim_prefix(replace(replace(lower(model), " ", ""), "-", ""), "nvidia")

_entry(model) := e if {
	is_string(model)
	e := _catalogue[_key(model)]
	is_object(e)
}

# The catalogue, not the pool's cc_capable, says whether a GPU model has a CC mode.
_cc(model) if _entry(model).confidential_computing == true

# --- clusters and node pools ----------------------------------------------------------------------

_clusters(ctx) := lib.components(ctx, "ConfidentialGpuCluster")

# Each cluster as the subjects read it, worked out once per evaluation (neither engine memoises a
# function): its urn and inputs, its pools (each with the paths of its labels or taints that are unknown
# where they decide placement) and whether any pool declares labels or taints.
_cluster_views(ctx) := [_cluster_view(c, _pools(c)) | some c in _clusters(ctx)]

_cluster_view(c, pools) := {
	"urn": c.urn,
	"inputs": c.inputs,
	"declares": declares,
	"pools": [object.union(p, {"placement_unknowns": _placement_unknowns_of(declares, p)}) | some p in pools],
} if {
	declares := {key: _any_declares(pools, key) | some key in ["labels", "taints"]}
}

_any_declares(pools, key) := true if {
	some p in pools
	object.get(p.spec, key, null) != null
} else := false

# The node pools of a cluster: the raw entry, the entry as an object ({} when it is not one) and its path.
_pools(c) := [p |
	pools := object.get(c.inputs, "node_pools", [])
	is_array(pools)
	some i
	raw := pools[i]
	p := {"cluster": c.urn, "path": concat("", ["node_pools[", format_int(i, 10), "]"]), "raw": raw, "spec": _object(raw)}
]

_object(x) := x if {
	is_object(x)
	not lib.is_unknown(x)
} else := {}

_array(x) := x if is_array(x)

else := []

_pool_name(p) := p.spec.name if is_string(p.spec.name)

else := p.path

_model(p) := object.get(p.spec, "gpu_model", null)

_model_text(p) := _entry(_model(p)).name if is_string(_entry(_model(p)).name)

else := _model(p)

# Whether any pool of the cluster view declares labels (then a pod's node selection decides which pools
# it can land on; a pool without labels then has none) or taints.
_pools_declare(c, key) if c.declares[key] == true

# A JSON value that holds a value unknown at plan time anywhere inside it.
_has_unknown(x) if contains(json.marshal(x), "__unknown__")

# --- hardware: every pool, PHI or not -------------------------------------------------------------

_hardware_findings(ctx) := {f |
	some c in _clusters(ctx)
	some f in _cluster_findings(c)
}

_cluster_findings(c) := {lib.unknown_finding("PHI-GPU-001", c.urn, "the node pools", ["node_pools"])} if {
	lib.is_unknown(object.get(c.inputs, "node_pools", []))
} else := {f |
	some p in _pools(c)
	f := _pool_finding(c, p)
}

_pool_finding(c, p) := lib.unknown_finding("PHI-GPU-001", c.urn, "a node pool", [p.path]) if {
	lib.is_unknown(p.raw)
} else := lib.unknown_finding("PHI-GPU-001", c.urn, concat("", ["the GPU model of node pool ", _pool_name(p)]), [concat("", [p.path, ".gpu_model"])]) if {
	lib.is_unknown(_model(p))
} else := lib.finding("PHI-GPU-001", c.urn, concat("", ["node pool ", _pool_name(p), " declares no GPU model: unknown hardware cannot be trusted"])) if {
	not is_string(_model(p))
} else := lib.finding("PHI-GPU-001", c.urn, concat("", ["node pool ", _pool_name(p), ": GPU model '", _model(p), "' is not in the hardware catalogue policies/data/gpu_profiles.json: unknown hardware cannot be trusted"])) if {
	not _entry(_model(p))
} else := lib.finding("PHI-GPU-001", c.urn, concat("", ["node pool ", _pool_name(p), " declares cc_capable: true but its GPU ", _model_text(p), " has no NVIDIA Confidential Computing mode (policies/data/gpu_profiles.json)"])) if {
	p.spec.cc_capable == true
	not _cc(_model(p))
}

# --- subjects: the PHI workloads that need a CC GPU -----------------------------------------------

# Every PHI or genetic AttestedWorkload (it declares no placement: every pool of its cluster is
# eligible) and every PHI or genetic pod workload that requests GPUs (its pod spec decides).
# Each subject with the pools it may land on ("eligible"), worked out once: several findings read them.
_subjects(ctx) := [s |
	some base in _subject_bases(ctx, _cluster_views(ctx))
	s := object.union(base, {"eligible": _eligible(base)})
]

_subject_bases(ctx, views) := array.concat(
	[s |
		some w in ctx.phi_attested
		s := {
			"urn": w.urn,
			"what": concat("", ["PHI workload ", w.name]),
			"pod": null,
			"need": _prop_need(object.get(w.inputs, "gpus", 1)),
			"clusters": _clusters_for(views, object.get(w.inputs, "namespace", null)),
		}
	],
	[s |
		some r in ctx.phi_workloads
		need := _pod_need(r)
		_requests_gpus(need)
		s := {
			"urn": r.urn,
			"what": concat("", ["PHI ", lib.kind_of(r), " ", lib.name_of(r)]),
			"pod": r,
			"need": need,
			"clusters": _clusters_for(views, lib.namespace_of(r)),
		}
	],
)

# The clusters that declare the namespace; else the plan's only cluster; else none.
_clusters_for(views, ns) := declared if {
	declared := [c | some c in views; _declares(c, ns)]
	count(declared) > 0
} else := views if {
	count(views) == 1
} else := []

_declares(c, ns) if {
	is_string(ns)
	some entry in _array(object.get(c.inputs, "namespaces", []))
	is_object(entry)
	entry.name == ns
}

# GPUs a workload needs on one node: {"value": n}, {"unknown": paths} or {"unreadable": paths}.
_prop_need(n) := {"unknown": ["gpus"]} if lib.is_unknown(n)

else := {"value": q} if {
	q := _quantity(n)
}

else := {"unreadable": ["gpus"]}

_quantity(v) := v if {
	is_number(v)
	v >= 0
} else := to_number(v) if {
	is_string(v)
	regex.match(`^[0-9]+$`, v)
}

_requests_gpus(need) if need.value > 0

_requests_gpus(need) if need.unknown

_requests_gpus(need) if need.unreadable

# A pod needs on one node the sum of its containers' GPUs, or its largest init container's if more.
_pod_need(r) := {"unknown": [path]} if {
	path := lib.unknown_path(r.inputs, lib.pod_spec_path(r))
} else := {"unknown": lib.sorted(paths)} if {
	paths := {e.path | some e in _gpu_entries(r); e.unknown}
	count(paths) > 0
} else := {"unreadable": lib.sorted(paths)} if {
	paths := {e.path | some e in _gpu_entries(r); e.unreadable}
	count(paths) > 0
} else := {"value": _max([
	sum([_container_gpus(r, e.container) | some e in _container_entries(r); e.field == "containers"]),
	_max([_container_gpus(r, e.container) | some e in _container_entries(r); e.field == "initContainers"]),
])}

# Containers and init containers of a pod workload with their paths ({"unknown": true} entries where
# a list or an entry is unknown at plan time).
_container_entries(r) := [e |
	spec := lib.pod_spec(r)
	prefix := concat(".", lib.pod_spec_path(r))
	some field in ["initContainers", "containers"]
	listed := object.get(spec, field, [])
	some e in _list_entries(concat("", [prefix, ".", field]), field, listed)
]

_list_entries(path, field, listed) := [{"path": path, "field": field, "unknown": true}] if lib.is_unknown(listed)

else := [e |
	is_array(listed)
	some i
	c := listed[i]
	e := {"path": concat("", [path, "[", format_int(i, 10), "]"]), "field": field, "container": c, "unknown": _unknown(c)}
]

_unknown(x) if lib.is_unknown(x)

else := false

# Each GPU resource a container names, with its path; {"unknown": true} where the resources, limits,
# requests or the value are unknown, {"unreadable": true} where the value is not a whole number.
_gpu_entries(r) := [g |
	some e in _container_entries(r)
	some g in _container_gpu_entries(e)
]

_container_gpu_entries(e) := [{"path": e.path, "unknown": true}] if e.unknown

else := [{"path": concat("", [e.path, ".resources"]), "unknown": true}] if {
	lib.is_unknown(object.get(_object(e.container), "resources", {}))
} else := [g |
	resources := _object(object.get(_object(e.container), "resources", {}))
	some part in ["limits", "requests"]
	values := object.get(resources, part, {})
	some g in _resource_entries(concat("", [e.path, ".resources.", part]), values)
]

_resource_entries(path, values) := [{"path": path, "unknown": true}] if lib.is_unknown(values)

else := [g |
	is_object(values)
	some key
	v := values[key]
	_gpu_resource(key)
	g := _value_entry(concat("", [path, "[\"", key, "\"]"]), v)
]

_value_entry(path, v) := {"path": path, "unknown": true} if lib.is_unknown(v)

else := {"path": path, "unreadable": true} if not _quantity(v)

else := {"path": path, "value": _quantity(v)}

# NVIDIA devices (whole GPUs, passthrough GPUs, MIG slices) and any other vendor's `<domain>/gpu`.
_gpu_resource(key) if startswith(key, "nvidia.com/")

_gpu_resource(key) if endswith(key, "/gpu")

# GPUs of one container: the larger of its limits and requests (a limit alone sets the request).
_container_gpus(r, c) := _max([_sum_gpus(c, "limits"), _sum_gpus(c, "requests")])

# The largest of some whole numbers, 0 for none. Not the max builtin: regopy's max (and sort) order
# numbers as text (max([17, 8]) is 8 there), while its comparison operators are numeric.
_max(xs) := m if {
	some m in array.concat([0], xs)
	count([x | some x in xs; x > m]) == 0
}

_sum_gpus(c, part) := sum([q |
	values := _object(object.get(_object(object.get(_object(c), "resources", {})), part, {}))
	some key
	v := values[key]
	_gpu_resource(key)
	q := _quantity(v)
])

# --- where a subject can land ---------------------------------------------------------------------

# "yes", "no" or "unknown" (the pool's labels or taints are unknown at plan time).
_admits(s, c, p) := "yes" if {
	s.pod == null
} else := "unknown" if {
	count(p.placement_unknowns) > 0
} else := "yes" if {
	_labels_admit(lib.pod_spec(s.pod), c, p)
	_taints_admit(lib.pod_spec(s.pod), p)
} else := "no"

_placement_unknowns_of(declares, p) := {path |
	some key in ["labels", "taints"]
	declares[key] == true
	_has_unknown(object.get(p.spec, key, null))
	path := concat("", [p.path, ".", key])
}

_labels_admit(spec, c, p) if not _pools_declare(c, "labels")

_labels_admit(spec, c, p) if {
	_pools_declare(c, "labels")
	labels := _object(object.get(p.spec, "labels", {}))
	_selector_admits(spec, labels)
	_affinity_admits(spec, labels)
}

_selector_admits(spec, labels) if {
	selector := _object(object.get(spec, "nodeSelector", {}))
	count([k | some k; v := selector[k]; object.get(labels, k, null) != v]) == 0
}

_terms(spec) := _array(object.get(spec, ["affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"], []))

_affinity_admits(spec, labels) if count(_terms(spec)) == 0

# Terms are ORed, expressions ANDed; a term with matchFields names nodes, not pools (fails closed).
_affinity_admits(spec, labels) if {
	some term in _terms(spec)
	is_object(term)
	count(_array(object.get(term, "matchFields", []))) == 0
	exprs := _array(object.get(term, "matchExpressions", []))
	count(exprs) > 0
	count([x | some x in exprs; not _expression_admits(x, labels)]) == 0
}

_expression_admits(x, labels) if {
	is_object(x)
	x.operator == "In"
	labels[x.key] in _array(object.get(x, "values", []))
}

_expression_admits(x, labels) if {
	is_object(x)
	x.operator == "NotIn"
	not labels[x.key] in _array(object.get(x, "values", []))
}

_expression_admits(x, labels) if {
	is_object(x)
	x.operator == "Exists"
	_has_label(labels, x.key)
}

_expression_admits(x, labels) if {
	is_object(x)
	x.operator == "DoesNotExist"
	not _has_label(labels, x.key)
}

_expression_admits(x, labels) if {
	is_object(x)
	x.operator in {"Gt", "Lt"}
	value := _integer(labels[x.key])
	values := _array(object.get(x, "values", []))
	count(values) == 1
	bound := _integer(values[0])
	_compare(x.operator, value, bound)
}

_has_label(labels, key) if {
	is_string(key)
	_ = labels[key]
}

_integer(v) := to_number(v) if {
	is_string(v)
	regex.match(`^-?[0-9]+$`, v)
}

_compare(op, value, bound) if {
	op == "Gt"
	value > bound
}

_compare(op, value, bound) if {
	op == "Lt"
	value < bound
}

# Every NoSchedule / NoExecute taint of the pool (a taint without an effect counts) is tolerated.
_taints_admit(spec, p) if {
	tolerations := _array(object.get(spec, "tolerations", []))
	count([t |
		some t in _array(object.get(p.spec, "taints", []))
		_blocking_taint(t)
		not _tolerated(tolerations, t)
	]) == 0
}

_blocking_taint(t) if not is_object(t)

_blocking_taint(t) if {
	is_object(t)
	object.get(t, "effect", "NoSchedule") in {"NoSchedule", "NoExecute"}
}

_tolerated(tolerations, t) if {
	is_object(t)
	some tol in tolerations
	is_object(tol)
	_toleration_key(tol, t)
	_toleration_effect(tol, t)
}

# Exists with no key tolerates every taint; Exists with a key, any value of that key; Equal (the
# default), that key and value.
_toleration_key(tol, t) if {
	object.get(tol, "operator", "Equal") == "Exists"
	object.get(tol, "key", "") == ""
}

_toleration_key(tol, t) if {
	object.get(tol, "operator", "Equal") == "Exists"
	object.get(tol, "key", "") != ""
	object.get(tol, "key", "") == object.get(t, "key", "")
}

_toleration_key(tol, t) if {
	object.get(tol, "operator", "Equal") == "Equal"
	object.get(tol, "key", "") == object.get(t, "key", "")
	object.get(tol, "value", "") == object.get(t, "value", "")
}

_toleration_effect(tol, t) if object.get(tol, "effect", "") == ""

_toleration_effect(tol, t) if object.get(tol, "effect", "") == object.get(t, "effect", "NoSchedule")

# Scheduling fields of a subject's pod spec that are unknown at plan time and matter: nodeName
# always (it bypasses the scheduler), node selection where pools declare labels, tolerations where
# they declare taints.
_placement_unknowns(s) := set() if s.pod == null

else := {path |
	spec := lib.pod_spec(s.pod)
	prefix := concat(".", lib.pod_spec_path(s.pod))
	some field in _placement_fields(s)
	_has_unknown(object.get(spec, field, null))
	path := concat("", [prefix, ".", field])
}

_placement_fields(s) := {"nodeName"} | {field |
	some c in s.clusters
	some key in ["labels", "taints"]
	_pools_declare(c, key)
	some field in _fields_for[key]
}

_fields_for := {"labels": ["nodeSelector", "affinity"], "taints": ["tolerations"]}

_node_name(s) := name if {
	s.pod != null
	name := object.get(lib.pod_spec(s.pod), "nodeName", "")
	is_string(name)
	name != ""
}

# [pool, admission, cluster] for each pool of the subject's clusters that it may land on.
_eligible(s) := [[p, a, c] |
	some c in s.clusters
	some p in c.pools
	a := _admits(s, c, p)
	a != "no"
]

# A pool proven to be a CC GPU with at least n GPUs per node that the subject can land on.
_proven(s, n) if {
	some pa in s.eligible
	pa[1] == "yes"
	p := pa[0]
	_cc(_model(p))
	per_node := object.get(p.spec, "gpu_count", null)
	is_number(per_node)
	per_node >= n
}

# A pool that may be one, but a value the plan does not know decides (reported where it is).
_undecided(s) if {
	some pa in s.eligible
	_undecided_pool(pa[0], pa[1])
}

_undecided(s) if {
	some c in s.clusters
	lib.is_unknown(object.get(c.inputs, "node_pools", []))
}

_undecided_pool(p, a) if a == "unknown"

_undecided_pool(p, a) if lib.is_unknown(p.raw)

_undecided_pool(p, a) if lib.is_unknown(_model(p))

_undecided_pool(p, a) if {
	_cc(_model(p))
	lib.is_unknown(object.get(p.spec, "gpu_count", null))
}

# --- findings per subject -------------------------------------------------------------------------

_subject_findings(subjects) := {f |
	some s in subjects
	f := _subject_finding(s)
}

_subject_finding(s) := lib.unknown_finding("PHI-GPU-001", s.urn, concat("", ["the GPUs ", s.what, " requests"]), s.need.unknown) if {
	s.need.unknown
} else := lib.finding("PHI-GPU-001", s.urn, concat("", [s.what, " requests GPUs in a form the gate cannot read (", concat(", ", s.need.unreadable), ")"])) if {
	s.need.unreadable
} else := lib.unknown_finding("PHI-GPU-001", s.urn, concat("", ["where ", s.what, " can be scheduled"]), lib.sorted(paths)) if {
	paths := _placement_unknowns(s)
	count(paths) > 0
} else := lib.finding("PHI-GPU-001", s.urn, concat("", [s.what, " is pinned to node ", _node_name(s), " by nodeName, which bypasses the scheduler: the gate cannot tell the node's pool, so it cannot verify a confidential-computing GPU"])) if {
	_node_name(s)
} else := lib.finding("PHI-GPU-001", s.urn, concat("", [s.what, " can be scheduled on no node pool whose GPU the hardware catalogue lists with NVIDIA Confidential Computing and that has at least ", format_int(s.need.value, 10), " GPUs per node (", _eligible_text(s), ")"])) if {
	n := s.need.value
	not _proven(s, n)
	not _undecided(s)
}

_eligible_text(s) := concat("", ["eligible pools: ", concat(", ", sort(pools))]) if {
	pools := [_pool_text(pa[0]) | some pa in s.eligible]
	count(pools) > 0
} else := "no eligible node pool"

_pool_text(p) := concat("", [_pool_name(p), " (", _model_text(p), ", ", _cc_text(p), ", ", _count_text(p), ")"]) if {
	is_string(_model_text(p))
} else := concat("", [_pool_name(p), " (GPU model unknown)"])

_cc_text(p) := "CC" if _cc(_model(p))

else := "no CC"

_count_text(p) := concat("", [format_int(p.spec.gpu_count, 10), " per node"]) if is_number(p.spec.gpu_count)

else := "GPUs per node unknown"

# --- pools PHI workloads rely on ------------------------------------------------------------------

# A CC GPU declared without CC mode, or a CC pool whose size or labels the plan does not know, where
# a PHI workload can land (the catalogue says the GPU could protect PHI; the declaration says the pool
# does not run that way, or the plan cannot tell).
_reliance_findings(subjects) := {f |
	some s in subjects
	some pa in s.eligible
	c := pa[2]
	_relies(s, c)
	f := _reliance_finding(c, pa[0], pa[1])
}

# An AttestedWorkload declares no placement: where pools declare labels or taints, its pods' own
# scheduling constraints say which pools PHI relies on.
_relies(s, c) if s.pod != null

_relies(s, c) if {
	s.pod == null
	not _pools_declare(c, "labels")
	not _pools_declare(c, "taints")
}

_reliance_finding(c, p, a) := lib.unknown_finding("PHI-GPU-001", c.urn, concat("", ["where node pool ", _pool_name(p), " admits PHI workloads"]), lib.sorted(p.placement_unknowns)) if {
	a == "unknown"
} else := lib.unknown_finding("PHI-GPU-001", c.urn, concat("", ["the GPUs per node of node pool ", _pool_name(p)]), [concat("", [p.path, ".gpu_count"])]) if {
	_cc(_model(p))
	lib.is_unknown(object.get(p.spec, "gpu_count", null))
} else := lib.unknown_finding("PHI-GPU-001", c.urn, concat("", ["whether node pool ", _pool_name(p), " runs in confidential-computing mode"]), [concat("", [p.path, ".cc_capable"])]) if {
	_cc(_model(p))
	lib.is_unknown(object.get(p.spec, "cc_capable", null))
} else := lib.finding("PHI-GPU-001", c.urn, concat("", ["node pool ", _pool_name(p), " declares cc_capable: false for its ", _model_text(p), ", a confidential-computing GPU, while PHI workloads can be scheduled on it: declare the pool in CC mode, or keep PHI off it with labels or taints"])) if {
	_cc(_model(p))
	p.spec.cc_capable == false
}

# PHI-GPU-001 on a cloud backend: the GKE and AKS node pools the plan creates, normalised into one
# shape, and where the PHI workloads can land among them.
#
# The pools are the real resources (gcp NodePool, the inline and default pools of a gcp Cluster,
# azure-native AgentPool and a ManagedCluster's agentPoolProfiles), never the component's declared
# node_pools or cloud_node_pools. The machine catalogue (policies/data/cloud_machine_types.json) says
# which GPU a machine type carries, how many per node, and whether it runs as a confidential VM with
# the GPU in CC mode.



_catalogue_file := "policies/data/cloud_machine_types.json"

# The machine catalogue by "<cloud>/<lower-case machine type>"; null when it is missing.
_machine_types := data.cloud_machine_types.machine_types if is_object(data.cloud_machine_types.machine_types)

else := null

_gke_pool_type := "gcp:container/nodePool:NodePool"

_gke_cluster_type := "gcp:container/cluster:Cluster"

_aks_pool_type := "azure-native:containerservice:AgentPool"

_aks_cluster_type := "azure-native:containerservice:ManagedCluster"


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
	some s in _subject_bases(ctx, [])
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
