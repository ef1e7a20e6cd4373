# Shared vocabulary of the HIPAA rules: the plan's resources, their PHI classification, pod specs,
# unknown values and findings. Rules import it as `data.phistack.lib.hipaa`.
#
# Every rule is written as `findings(ctx)` over a context built once from the gate input by
# `context(doc)`, and its `deny`/`warn` iterates `findings(ctx)` with `ctx` below. Tests call
# `findings(context(fixture))` directly instead of using `with input as`: regopy 1.5.2 crashes on
# `with input as` over rules that pass input values to builtins.
#
# Nothing here joins all resources with all resources, so a rule stays linear in the plan's size. A rule
# that looks up, for each workload, an object the workload names (a ConfigMap, a claim, a Role) goes through
# `named(ctx, type, namespace, name)`, an index lookup: scanning `of_type` per workload made plans with one
# such object per workload quadratic (bench/gate_scale.py watches the time per resource as plans grow).
package phistack.lib.hipaa

import rego.v1

# The context of the current gate input, computed once per query and shared by every rule. Its
# type and name indexes are partial rules over the input (one pass); `context(doc)` groups by
# comprehension, which is linear in resources times distinct keys and meant for the small plans of tests.
ctx := _context(input, _input_type_index, _input_name_index)

_input_type_index := index if {
	index := _input_types
} else := {} # regorus leaves a partial rule with no entries undefined

# Positions of the plan's resources by type.
_input_types[t] contains i if {
	some i, r in _resources(input)
	t := r.type
}

_input_name_index := index if {
	index := _input_names
} else := {}

# Positions of the plan's resources by type, namespace and name (see `named`).
_input_names[key] contains i if {
	some i, r in _resources(input)
	key := _resource_name_key(r)
}

# Everything rules look up, built from the plan's resources and their positions by type and by name.
# Lookups go through these indexes, so only resources of the relevant type (or name) are visited.
context(doc) := _context(doc, _type_index(_resources(doc)), _name_index(_resources(doc)))

_type_index(rs) := {t: {i | some i; rs[i].type == t} | some t in {r.type | some r in rs}}

_name_index(rs) := {k: {i | some i; r := rs[i]; _resource_name_key(r) == k} | some k in {_resource_name_key(r) | some r in rs}} # rs[i] bound first: regopy does not pass it to a function here

_resource_name_key(r) := _name_key(r.type, namespace_of(r), name_of(r))

# One string per (type, namespace, name): JSON, so no name can pose as another pair of parts.
_name_key(type, ns, name) := json.marshal([type, ns, name])

# The resources of `type` that the plan creates as `name` in namespace `ns` (Kubernetes' defaulting of a
# missing namespace included), in plan order: one index lookup instead of a pass over every resource of
# the type, so lookups per workload stay constant-time on large plans.
named(c, type, ns, name) := [c.resources[i] | some i in object.get(c.names, _name_key(type, ns, name), set())]

_context(doc, types, names) := c if {
	rs := _resources(doc)
	kinds := _kind_index(types)
	by_kind := {k: [rs[i] | some i in ids] | some k; ids := kinds[k]}
	by_urn := {r.urn: r | some r in rs}
	parents := {r.urn: [p | p := r.parent; is_string(p)] | some r in rs}
	namespaces := _namespace_entries(rs, types, by_kind)
	deid := _deid(doc)
	declared := _declared(rs, kinds, deid)
	pods := [rs[i] | some i in _pod_indices(types)]
	attested := object.get(by_kind, "AttestedWorkload", [])
	base := {
		"by_urn": by_urn,
		"parents": parents,
		"namespaces": namespaces,
		"declared": declared,
		"workload_classes": {},
	}
	classified := {
		"by_urn": by_urn,
		"parents": parents,
		"namespaces": namespaces,
		"declared": declared,
		"workload_classes": {r.urn: cls |
			some r in array.concat(pods, attested)
			cls := effective_classes(deid, r, classes_of(base, r))
		},
	}
	phi := [r | some r in pods; is_sensitive(classified, r)]
	phi_attested := [r | some r in attested; is_sensitive(classified, r)]
	samd := [r | some r in attested; object.get(r.inputs, "samd", false) == true]
	sensitive_declared := count([urn | some urn; cls := declared[urn]; count(cls & sensitive) > 0])
	sensitive_namespaces := count([entry | some entry in namespaces; entry[1] in sensitive])
	c := {
		"today": _today(doc),
		"resources": rs,
		"types": types,
		"names": names,
		"components": by_kind,
		"by_urn": by_urn,
		"parents": parents,
		"namespaces": namespaces,
		"declared": declared,
		"workload_classes": classified.workload_classes,
		"storage_class_names": {name_of(rs[i]) | some i in _indices(types, "kubernetes:storage.k8s.io/v1:StorageClass")},
		"runtime_class_selectors": _runtime_class_selectors(rs, types),
		"stack_urn": _stack_urn(doc, rs, types),
		"phi_workloads": phi,
		"phi_attested": phi_attested,
		"phi_namespaces": _phi_namespaces(namespaces, phi),
		"samd_workloads": samd,
		"deid": deid,
		"handles_phi": ((count(phi) + count(phi_attested)) + count(samd)) + (sensitive_declared + sensitive_namespaces) > 0,
	}
}

# Namespaces that hold PHI or genetic data: classified so (Namespace labels, ConfidentialGpuCluster
# declarations; an unknown class counts as phi) or running a PHI pod workload. PHI-IAM-002, PHI-NET-001
# and PHI-POD-002 scope their checks to these.
_phi_namespaces(namespaces, phi) := {ns |
	some entry in namespaces
	entry[1] in sensitive
	ns := entry[0]
	is_string(ns)
} | {ns |
	some w in phi
	ns := namespace_of(w)
	is_string(ns)
}

# Positions of the resources of one type.
_indices(types, type) := object.get(types, type, set())

# Positions of phistack components by kind ("AttestedWorkload" for "phistack:workload:AttestedWorkload").
_kind_index(types) := {k: {i | some t; types[t]; _type_component_kind(t) == k; some i in types[t]} |
	some t
	types[t]
	k := _type_component_kind(t)
}

_type_component_kind(type) := parts[2] if {
	startswith(type, "phistack:")
	parts := split(type, ":")
	count(parts) == 3
}

_pod_indices(types) := {i | some t; pod_spec_paths[t]; some i in _indices(types, t)}

_resources(doc) := doc.plan.resources if is_array(doc.plan.resources)

else := []

_today(doc) := doc.today if is_string(doc.today)

else := ""

# The verified de-identification manifests (input.deid, dataset name -> result): facts phistack adds
# beside the plan after checking each manifest's signature and signer, which no plan can set.
_deid(doc) := doc.deid if is_object(doc.deid)

else := {}

class_label := "phistack.io/data-classification"

classes := {"phi", "deidentified", "genetic", "none"}

# Data that brings HIPAA (and GINA) into scope.
sensitive := {"phi", "genetic"}

# Pod-bearing Kubernetes types and where their pod spec lives in the manifest.
pod_spec_paths := {
	"kubernetes:apps/v1:Deployment": ["spec", "template", "spec"],
	"kubernetes:apps/v1:StatefulSet": ["spec", "template", "spec"],
	"kubernetes:apps/v1:DaemonSet": ["spec", "template", "spec"],
	"kubernetes:apps/v1:ReplicaSet": ["spec", "template", "spec"],
	"kubernetes:batch/v1:Job": ["spec", "template", "spec"],
	"kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
	"kubernetes:core/v1:Pod": ["spec"],
}

# phistack components whose children are platform plumbing, not PHI processing.
infra_components := {"ConfidentialGpuCluster", "AuditLogShipping", "TlsEndpoint", "EncryptedStorage", "ProviderProfile"}

# --- values ---------------------------------------------------------------------------------------

is_unknown(value) if {
	is_object(value)
	value.__unknown__ == true
}

# Whether a JSON value may hold an unknown value anywhere inside it: one serialisation instead of a walk.
# Only an "__unknown__" key (or a string that is exactly that word) makes it true, so false means none.
holds_unknown(x) if contains(json.marshal(x), `"__unknown__"`)

# The dotted path (relative to a resource's inputs) of the first unknown value along `path`.
unknown_path(obj, path) := concat(".", array.slice(path, 0, i + 1)) if {
	some i in numbers.range(0, count(path) - 1)
	is_unknown(object.get(obj, array.slice(path, 0, i + 1), null))
}

# A non-empty string that is not a placeholder for an unknown value.
non_empty_string(value) if {
	is_string(value)
	trim_space(value) != ""
}

digest_ref(value) if regex.match(`^sha256:[0-9a-f]{64}$`, value)

image_pinned(image) if regex.match(`^[^@\s]+@sha256:[0-9a-f]{64}$`, image)

# --- resources ------------------------------------------------------------------------------------

kind_of(r) := parts[2] if {
	startswith(r.type, "kubernetes:")
	parts := split(r.type, ":")
}

# "AttestedWorkload" for "phistack:workload:AttestedWorkload".
component_kind(r) := parts[2] if {
	startswith(r.type, "phistack:")
	parts := split(r.type, ":")
	count(parts) == 3
}

components(c, kind) := object.get(c.components, kind, [])

of_type(c, type) := [c.resources[i] | some i in _indices(c.types, type)]

is_pod_workload(r) if pod_spec_paths[r.type]

pod_spec_path(r) := pod_spec_paths[r.type]

pod_spec(r) := object.get(r.inputs, pod_spec_paths[r.type], {})

name_of(r) := object.get(r.inputs, ["metadata", "name"], r.name)

namespace_of(r) := object.get(r.inputs, ["metadata", "namespace"], "default")

# Labels of a pod workload's pod template.
template_labels(r) := object.get(r.inputs, array.concat(_template_path(r), ["metadata", "labels"]), {})

# Every container of a pod spec (init and ephemeral included) with its path in the manifest.
containers(r) := [{"path": concat("", [prefix, ".", field, "[", format_int(i, 10), "]"]), "container": c} |
	spec := pod_spec(r)
	prefix := concat(".", pod_spec_path(r))
	some field in ["initContainers", "containers", "ephemeralContainers"]
	listed := object.get(spec, field, [])
	is_array(listed) # an unknown list has no positions; PHI-POD-001 denies it as unknown
	some i # `some i, c in xs` inside a comprehension does not parse on regopy
	c := listed[i]
]

# Lookups are sets of tuples built in one pass (membership is constant time); grouping into
# objects of lists would join every resource with every other one.

# [RuntimeClass name, label, value] for every scheduling.nodeSelector entry, and
# [name, "__unknown__", ""] where a selector or one of its values is unknown at plan time.
_runtime_class_selectors(rs, types) := {entry |
	some i in _indices(types, "kubernetes:node.k8s.io/v1:RuntimeClass")
	r := rs[i]
	sel := object.get(r.inputs, ["scheduling", "nodeSelector"], {})
	some entry in _selector_entries(name_of(r), sel)
}

_selector_entries(name, sel) := {[name, "__unknown__", ""]} if is_unknown(sel)

else := {entry |
	is_object(sel)
	some key
	value := sel[key]
	entry := _selector_entry(name, key, value)
}

_selector_entry(name, key, value) := [name, "__unknown__", ""] if is_unknown(value)

else := [name, key, value]

# The stack resource's urn, or the urn Pulumi would give it.
# (No comprehension over `rs` here: regopy drops comprehension heads that read a function argument.)
_stack_urn(doc, rs, types) := rs[ids[0]].urn if {
	ids := sort([j | some j in _indices(types, "pulumi:pulumi:Stack")])
	count(ids) > 0
} else := concat("", ["urn:pulumi:", doc.plan.stack, "::", doc.plan.project, "::pulumi:pulumi:Stack::", doc.plan.project, "-", doc.plan.stack]) if {
	is_string(doc.plan.stack)
	is_string(doc.plan.project)
} else := "urn:pulumi:unknown::unknown::pulumi:pulumi:Stack::unknown"

# --- classification ------------------------------------------------------------------------------

# A resource and all its ancestors (the parent graph of the context).
ancestors(c, r) := graph.reachable(c.parents, {r.urn})

# A label value outside the four classes counts as phi: fail closed.
_normalize(cls) := cls if cls in classes

else := "phi"

# Classes a resource declares itself: a component's data_classification prop (an AttestedWorkload
# or EncryptedStorage without one is phi), the classification label on its metadata or pod template.
declared_classes(r) := {_component_class(r)} if {
	component_kind(r) in {"AttestedWorkload", "EncryptedStorage"}
} else := {_normalize(cls) |
	some path in [["metadata", "labels", class_label], array.concat(_template_path(r), ["metadata", "labels", class_label])]
	cls := object.get(r.inputs, path, null)
	cls != null
}

_template_path(r) := array.slice(pod_spec_paths[r.type], 0, count(pod_spec_paths[r.type]) - 1) if is_pod_workload(r)

else := ["spec", "template"]

_component_class(r) := _normalize(object.get(r.inputs, "data_classification", "phi"))

# [namespace, class] from Namespace resources and ConfidentialGpuCluster declarations.
_namespace_entries(rs, types, by_kind) := {[name_of(r), _normalize(cls)] |
	some i in _indices(types, "kubernetes:core/v1:Namespace")
	r := rs[i]
	cls := object.get(r.inputs, ["metadata", "labels", class_label], null)
	cls != null
} | {[ns.name, _normalize(object.get(ns, "data_classification", "phi"))] |
	some r in object.get(by_kind, "ConfidentialGpuCluster", [])
	some ns in object.get(r.inputs, "namespaces", [])
}

# Every class that applies to a resource: its own, its ancestors' and (for namespaced Kubernetes
# objects) its namespace's.
classes_of(c, r) := cls if {
	cls := c.workload_classes[r.urn] # computed once per context for pod workloads and AttestedWorkloads
} else := {cls |
	some a in ancestors(c, r)
	some cls in c.declared[a]
} | namespace_classes(c, _namespace_key(r))

# urn -> declared classes of every resource that declares any (effective: see effective_classes).
# Only components that always declare a class and resources with a classification label at one of
# the label paths qualify.
_declared(rs, kinds, deid) := {r.urn: cls |
	some i in _declaring(rs, kinds)
	r := rs[i]
	cls := effective_classes(deid, r, declared_classes(r))
	count(cls) > 0
}

# --- de-identification ---------------------------------------------------------------------------

dataset_label := "phistack.io/dataset"

# The dataset a workload or storage names: an AttestedWorkload's or EncryptedStorage's dataset prop, a pod
# workload's template label.
dataset_of(r) := object.get(r.inputs, "dataset", null) if {
	component_kind(r) in {"AttestedWorkload", "EncryptedStorage"}
} else := object.get(template_labels(r), dataset_label, null) if {
	is_pod_workload(r)
} else := null

# The verification result of the manifest of dataset `name` (undefined when there is none).
deid_result(deid, name) := deid[name] if is_string(name)

deid_verified(deid, name) if deid_result(deid, name).valid == true

is_workload(r) if component_kind(r) == "AttestedWorkload"

is_workload(r) if is_pod_workload(r)

# What must prove a deidentified classification with a dataset: workloads, and the storage that holds data.
holds_dataset(r) if is_workload(r)

holds_dataset(r) if component_kind(r) == "EncryptedStorage"

# A workload or storage called deidentified is PHI as well unless the dataset it names has a verified
# de-identification manifest: the word alone must not switch the PHI rules off.
effective_classes(deid, r, cls) := cls | {"phi"} if {
	"deidentified" in cls
	holds_dataset(r)
	not deid_verified(deid, dataset_of(r))
} else := cls

_declaring(rs, kinds) := ((object.get(kinds, "AttestedWorkload", set()) | object.get(kinds, "EncryptedStorage", set())) | {i |
	some i
	x := rs[i].inputs.metadata.labels["phistack.io/data-classification"] # class_label, a literal: much faster in regorus
}) | ({i |
	some i
	x := rs[i].inputs.spec.template.metadata.labels["phistack.io/data-classification"] # class_label, a literal: much faster in regorus
} | {i |
	some i
	x := rs[i].inputs.spec.jobTemplate.spec.template.metadata.labels["phistack.io/data-classification"] # class_label, a literal: much faster in regorus
})

# The classes declared for a namespace.
namespace_classes(c, name) := {cls | some cls in classes; [name, cls] in c.namespaces}

_namespace_key(r) := namespace_of(r) if startswith(r.type, "kubernetes:")

else := ""

under_infra(c, r) if {
	some a in ancestors(c, r)
	component_kind(c.by_urn[a]) in infra_components
}

# A resource is sensitive when any class that applies to it is phi or genetic, or when it is a pod
# workload that nothing classifies and no platform component owns (fail closed).
is_sensitive(c, r) if {
	some cls in classes_of(c, r)
	cls in sensitive
}

is_sensitive(c, r) if {
	is_pod_workload(r)
	count(classes_of(c, r)) == 0
	not under_infra(c, r)
}

is_genetic(c, r) if "genetic" in classes_of(c, r)

# --- findings -------------------------------------------------------------------------------------

finding(id, urn, msg) := {"id": id, "urn": urn, "msg": concat("", [id, ": ", msg])}

unknown_finding(id, urn, what, paths) := {
	"id": id,
	"urn": urn,
	"msg": concat("", [id, ": ", what, " is unknown at plan time; the control cannot be verified, so it fails closed"]),
	"unknown": paths,
}

# --- helpers over containers and props -----------------------------------------------------------

# Environment variables of a container as [name, value] pairs (a list may repeat a name).
env_pairs(c) := {[e.name, e.value] |
	some e in object.get(c, "env", [])
	e.value
}

env_value(c, name) := [v | some pair in env_pairs(c); pair[0] == name; v := pair[1]]

# The dotted paths of env values named in `names` that are unknown at plan time.
unknown_env(r, names) := {concat("", [c.path, ".env[", format_int(i, 10), "].value"]) |
	some c in containers(r)
	some i
	e := c.container.env[i]
	e.name in names
	is_unknown(e.value)
}

# Which listed props of a component are unknown at plan time.
unknown_props(r, names) := [k | some k in names; is_unknown(object.get(r.inputs, k, null))]

# --- the BAA registry ----------------------------------------------------------------------------

baa_agreements := data.baa.agreements if is_array(data.baa.agreements)

else := []

# Registry entries for a ProviderProfile's provider and declared BAA reference.
matching_agreements(profile) := [a |
	some a in baa_agreements
	a.provider == object.get(profile.inputs, "provider", null)
	a.reference == object.get(profile.inputs, ["baa", "reference"], null)
]

# A set as a sorted array (regopy's sort of a set does not compare equal to an array).
sorted(s) := sort([x | some x in s])

# --- effective container environment ----------------------------------------------------------------

# How a container's environment defines `name`, in the order Kubernetes applies them: envFrom
# sources first, then env entries, the last definition winning. Each definition is {"value": v}
# (v a string, "" for an entry with neither value nor valueFrom) or {"unknown": path} where the
# plan cannot tell the value: an unknown value, a Secret, a fieldRef, a ConfigMap the plan does not
# create, or an entry or source whose name is unknown (it may define anything). `c` is an entry of
# containers(r); ConfigMaps and Secrets are looked up in the rule context `c`.
env_definitions(x, c, r, name) := array.concat(_envfrom_definitions(x, c, r, name), _env_definitions(x, c, r, name))

# The definition Kubernetes uses: the last one (undefined when nothing defines `name`).
effective_env(x, c, r, name) := defs[count(defs) - 1] if {
	defs := env_definitions(x, c, r, name)
	count(defs) > 0
}

_env_definitions(x, c, r, name) := [{"unknown": concat("", [c.path, ".env"])}] if {
	is_unknown(object.get(c.container, "env", []))
} else := [d |
	env := object.get(c.container, "env", [])
	is_array(env)
	some i
	e := env[i]
	d := _env_entry(x, r, concat("", [c.path, ".env[", format_int(i, 10), "]"]), e, name)
]

_env_entry(x, r, path, e, name) := {"unknown": path} if is_unknown(e)

else := {"unknown": concat("", [path, ".name"])} if is_unknown(object.get(e, "name", null))

else := _env_entry_value(x, r, path, e) if e.name == name

_env_entry_value(x, r, path, e) := {"unknown": concat("", [path, ".value"])} if {
	is_unknown(object.get(e, "value", null))
} else := _config_map_key(x, r, e.valueFrom.configMapKeyRef, concat("", [path, ".valueFrom.configMapKeyRef"])) if {
	is_object(e.valueFrom.configMapKeyRef)
} else := {"unknown": concat("", [path, ".valueFrom"])} if {
	object.get(e, "valueFrom", null) != null
} else := {"value": object.get(e, "value", "")}

# A ConfigMap key reference resolved against the plan's ConfigMaps in the workload's namespace.
_config_map_key(x, r, ref, path) := {"value": value} if {
	value := _config_map_data(x, r, ref.name)[ref.key]
	not is_unknown(value)
} else := {"unknown": path}

# The data of the one ConfigMap the plan creates under `name` in the workload's namespace.
_config_map_data(x, r, name) := found[0] if {
	is_string(name)
	found := [object.get(cm.inputs, "data", {}) | some cm in named(x, "kubernetes:core/v1:ConfigMap", namespace_of(r), name)]
	count(found) == 1
	is_object(found[0])
}

_envfrom_definitions(x, c, r, name) := [{"unknown": concat("", [c.path, ".envFrom"])}] if {
	is_unknown(object.get(c.container, "envFrom", []))
} else := [d |
	sources := object.get(c.container, "envFrom", [])
	is_array(sources)
	some i
	src := sources[i]
	d := _envfrom_entry(x, r, concat("", [c.path, ".envFrom[", format_int(i, 10), "]"]), src, name)
]

_envfrom_entry(x, r, path, src, name) := {"unknown": path} if is_unknown(src)

else := {"unknown": concat("", [path, ".prefix"])} if not is_string(object.get(src, "prefix", ""))

else := d if {
	prefix := object.get(src, "prefix", "")
	startswith(name, prefix)
	d := _envfrom_source(x, r, path, src, substring(name, count(prefix), -1))
}

_envfrom_source(x, r, path, src, key) := {"unknown": concat("", [path, ".configMapRef"])} if {
	src.configMapRef
	not _config_map_data(x, r, object.get(src.configMapRef, "name", null))
} else := {"unknown": concat("", [path, ".configMapRef"])} if {
	is_unknown(_config_map_data(x, r, src.configMapRef.name)[key])
} else := {"value": value} if {
	value := _config_map_data(x, r, src.configMapRef.name)[key]
} else := {"unknown": concat("", [path, ".secretRef"])} if {
	src.secretRef
	not _secret_lacks_key(x, r, object.get(src.secretRef, "name", null), key)
}

# A Secret the plan creates in the workload's namespace whose keys are known and exclude `key`.
_secret_lacks_key(x, r, name, key) if {
	is_string(name)
	found := [keys |
		some s in named(x, "kubernetes:core/v1:Secret", namespace_of(r), name)
		keys := _secret_keys(s)
	]
	count(found) == 1
	not key in found[0]
}

_secret_keys(s) := object.keys(values) | object.keys(string_values) if {
	values := object.get(s.inputs, "data", {})
	string_values := object.get(s.inputs, "stringData", {})
	is_object(values)
	is_object(string_values)
}

# --- cloud resources (the gke and aks backends of ConfidentialGpuCluster) ---------------------------

# The types that create or hold GPU node pools on a cloud. A plan with any of them provisions its nodes: the
# pools it creates decide where PHI runs (PHI-GPU-001), and a confidential-VM runtime class may stand (PHI-CC-001).
cloud_pool_types := {
	"gcp:container/nodePool:NodePool",
	"gcp:container/cluster:Cluster",
	"azure-native:containerservice:AgentPool",
	"azure-native:containerservice:ManagedCluster",
}

provisions_cloud_pools(ctx) if {
	some t in cloud_pool_types
	count(object.get(ctx.types, t, [])) > 0
}

# What people call each cloud type the PHI-CLOUD rules judge, for messages.
cloud_kinds := {
	"gcp:container/cluster:Cluster": "GKE cluster",
	"gcp:container/nodePool:NodePool": "GKE node pool",
	"gcp:kms/cryptoKey:CryptoKey": "Cloud KMS key",
	"gcp:pubsub/topic:Topic": "Pub/Sub topic",
	"gcp:logging/projectSink:ProjectSink": "log sink",
	"azure-native:containerservice:ManagedCluster": "AKS cluster",
	"azure-native:containerservice:AgentPool": "AKS agent pool",
	"azure-native:keyvault:Vault": "Key Vault",
	"azure-native:keyvault:Key": "Key Vault key",
	"azure-native:compute:DiskEncryptionSet": "disk encryption set",
	"azure-native:monitor:DiagnosticSetting": "diagnostic setting",
	"azure-native:insights:DiagnosticSetting": "diagnostic setting",
}

# "GKE cluster gpu-gke": the kind of a cloud resource and its Pulumi name.
cloud_label(r) := concat(" ", [object.get(cloud_kinds, r.type, r.type), r.name])

# Results of checking the inputs `obj` of cloud resource `r` (a resource's inputs or an object inside them
# at the dotted path `prefix`) against `specs`, each {"path": [keys], "want": w}. w is "true" (must be
# true), "not true" (absent or false), "not false" (absent or true), "set" (a non-empty string), "unset"
# (absent, null or ""), "nonempty" (a non-empty list of non-empty strings), {"equals": v}, {"one_of": [v]},
# {"suffix": s}, or "known" (only that the plan can tell the value).
# A result is {"urn", "label", "path", "unknown": true} when the plan cannot tell (the value, one of its
# parents or something inside it is unknown) or {"urn", "label", "path", "problem": msg} when the
# condition fails; a condition that holds gives none. cloud_report turns results into findings.
cloud_checks(r, obj, prefix, specs) := [x |
	label := cloud_label(r)
	some spec in specs
	some res in _cloud_check(obj, prefix, spec)
	x := object.union(res, {"urn": r.urn, "label": label})
]

_cloud_check(obj, prefix, spec) := [{"path": prefix, "unknown": true}] if {
	is_unknown(obj)
} else := [{"path": p, "unknown": true}] if {
	u := unknown_path(_as_object(obj), spec.path)
	p := _dotted(prefix, u)
} else := [{"path": p, "unknown": true}] if {
	holds_unknown(object.get(_as_object(obj), spec.path, null))
	p := _dotted(prefix, concat(".", spec.path))
} else := [{"path": p, "problem": msg}] if {
	msg := _unmet(spec.want, object.get(_as_object(obj), spec.path, null))
	p := _dotted(prefix, concat(".", spec.path))
} else := []

_as_object(x) := x if is_object(x)

else := {}

_dotted(prefix, path) := path if prefix == ""

else := concat(".", [prefix, path])

_unmet(want, v) := "is not true" if {
	want == "true"
	v != true
}

_unmet(want, v) := "is true" if {
	want == "not true"
	v == true
}

_unmet(want, v) := "is false" if {
	want == "not false"
	v == false
}

_unmet(want, v) := "is not set" if {
	want == "set"
	not non_empty_string(v)
}

_unmet(want, v) := "is set" if {
	want == "unset"
	not v in {null, ""}
}

_unmet(want, v) := "is not a non-empty list of ids" if {
	want == "nonempty"
	not _nonempty_strings(v)
}

_unmet(want, v) := concat("", ["is not ", want.equals]) if {
	is_string(want.equals)
	v != want.equals
}

_unmet(want, v) := concat("", ["is not one of ", concat(", ", want.one_of)]) if {
	is_array(want.one_of)
	not v in want.one_of
}

_unmet(want, v) := concat("", ["does not end in ", want.suffix]) if {
	is_string(want.suffix)
	not endswith(_string_or_empty(v), want.suffix)
}

_nonempty_strings(v) if {
	is_array(v)
	count(v) > 0
	every x in v {
		non_empty_string(x)
	}
}

_string_or_empty(v) := v if is_string(v)

else := ""

# The same check on every element of the list at `key` of `obj`: elements are reported as key[i].path,
# an unknown list as key itself. An absent list has no elements.
cloud_item_checks(r, obj, key, specs) := [{"urn": r.urn, "label": cloud_label(r), "path": key, "unknown": true}] if {
	is_unknown(object.get(_as_object(obj), key, []))
} else := [x |
	items := object.get(_as_object(obj), key, [])
	is_array(items)
	some i
	item := items[i]
	some x in cloud_checks(r, item, concat("", [key, "[", format_int(i, 10), "]"]), specs)
]

# Findings-to-be of a rule's results: one {"urn", "what", "paths"} per resource with unknown values (for
# unknown_finding) and one {"urn", "msg"} per problem (for finding), the message naming the resource and
# the property path.
cloud_report(results) := {x |
	some urn in {y.urn | some y in results; y.unknown}
	paths := sorted({y.path | some y in results; y.urn == urn; y.unknown})
	label := [y.label | some y in results; y.urn == urn][0]
	x := {"urn": urn, "what": concat("", ["the ", concat(", ", paths), " of ", label]), "paths": paths}
} | {x |
	some y in results
	y.problem
	x := {"urn": y.urn, "msg": concat("", [y.label, ": ", y.path, " ", y.problem])}
}

# Results without the unknown key references the plan traces to a key of the stack: in a `pulumi preview`
# the id of a key the stack creates in the same run is unknown, but the resource's
# propertyDependencies name the resource it comes from. An unknown reference (by its last key, such as
# keyName or diskEncryptionSetID) counts as known when the top-level property it sits in depends on a resource
# of the type such a reference names; that resource is then judged by its own checks (rotation, purge
# protection). Any other unknown stays unknown.
cloud_traced(ctx, results) := [y |
	some y in results
	not _traced(ctx, y)
]

_traced(ctx, y) if {
	y.unknown
	r := ctx.by_urn[y.urn]
	steps := split(y.path, ".")
	want := _reference_types[steps[count(steps) - 1]]
	top := split(steps[0], "[")[0]
	some urn in object.get(object.get(r, "property_dependencies", {}), top, [])
	object.get(ctx.by_urn, [urn, "type"], null) in want
}

_reference_types := {
	"keyName": {"gcp:kms/cryptoKey:CryptoKey"},
	"bootDiskKmsKey": {"gcp:kms/cryptoKey:CryptoKey"},
	"kmsKeyName": {"gcp:kms/cryptoKey:CryptoKey"},
	"diskEncryptionSetID": {"azure-native:compute:DiskEncryptionSet"},
	"keyId": {"azure-native:keyvault:Key"},
	"keyUrl": {"azure-native:keyvault:Key"},
}

# The node configurations a GKE cluster declares inline, as {"path", "config"}: the default pool's
# nodeConfig (when given, or absent while the default pool is kept: removeDefaultNodePool not true) and
# each nodePools entry's (the entry itself when it is unknown). The NodePool resources carry their own.
gke_node_configs(cluster) := array.concat(_gke_default_node_config(cluster.inputs), [x |
	pools := object.get(cluster.inputs, "nodePools", [])
	is_array(pools)
	some i
	pool := pools[i]
	x := {"path": concat("", ["nodePools[", format_int(i, 10), "].nodeConfig"]), "config": _gke_inline_config(pool)}
])

_gke_default_node_config(inputs) := [{"path": "nodeConfig", "config": inputs.nodeConfig}] if {
	object.get(inputs, "nodeConfig", null) != null
} else := [] if {
	inputs.removeDefaultNodePool == true
} else := [{"path": "removeDefaultNodePool", "config": inputs.removeDefaultNodePool}] if {
	is_unknown(object.get(inputs, "removeDefaultNodePool", null))
} else := [{"path": "nodeConfig", "config": {}}]

_gke_inline_config(pool) := pool if is_unknown(pool)

else := object.get(_as_object(pool), "nodeConfig", {})

# --- scope: the resource types the rules understand -------------------------------------------------

# Every type some rule judges, or judges inert on purpose (PHI-FLOW-001 names the inert kinds). A
# resource of any other type is outside every rule: reports say so (coverage), and in a stack that
# handles PHI a classified one denies (PHI-SCOPE-001). Exact types: a Deployment of another API
# version is not understood, because the rules read `apps/v1` shapes.
understood_types := object.keys(pod_spec_paths) | {
	"pulumi:pulumi:Stack",
	"phistack:cluster:ConfidentialGpuCluster",
	"phistack:logging:AuditLogShipping",
	"phistack:network:TlsEndpoint",
	"phistack:provider:ProviderProfile",
	"phistack:storage:EncryptedStorage",
	"phistack:workload:AttestedWorkload",
	"kubernetes:core/v1:ConfigMap",
	"kubernetes:core/v1:LimitRange",
	"kubernetes:core/v1:Namespace",
	"kubernetes:core/v1:PersistentVolume",
	"kubernetes:core/v1:PersistentVolumeClaim",
	"kubernetes:core/v1:ResourceQuota",
	"kubernetes:core/v1:Secret",
	"kubernetes:core/v1:Service",
	"kubernetes:core/v1:ServiceAccount",
	"kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
	"kubernetes:policy/v1:PodDisruptionBudget",
	"kubernetes:scheduling.k8s.io/v1:PriorityClass",
	"kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
	"kubernetes:networking.k8s.io/v1:Ingress",
	"kubernetes:networking.k8s.io/v1:NetworkPolicy",
	"kubernetes:node.k8s.io/v1:RuntimeClass",
	"kubernetes:storage.k8s.io/v1:StorageClass",
	"kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
	"kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
	"kubernetes:rbac.authorization.k8s.io/v1:Role",
	"kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
	"kubernetes:gateway.networking.k8s.io/v1:Gateway",
	"kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
	"kubernetes:gateway.networking.k8s.io/v1:GRPCRoute",
	"kubernetes:gateway.networking.k8s.io/v1:BackendTLSPolicy",
	"kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy",
	"kubernetes:cert-manager.io/v1:Certificate",
	"kubernetes:cert-manager.io/v1:ClusterIssuer",
	"kubernetes:cert-manager.io/v1:Issuer",
} | cloud_types

# The resources the gke and aks backends create, all understood: PHI-CLOUD-001..004 judge them and
# PHI-GPU-001 the GPU pools' placement.
cloud_types := {
	# The gke backend's resources.
	"gcp:container/cluster:Cluster",
	"gcp:container/nodePool:NodePool",
	"gcp:kms/keyRing:KeyRing",
	"gcp:kms/cryptoKey:CryptoKey",
	"gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
	"gcp:pubsub/topic:Topic",
	"gcp:pubsub/topicIAMMember:TopicIAMMember",
	"gcp:logging/projectSink:ProjectSink",
	"gcp:serviceaccount/account:Account",
	"gcp:projects/iAMMember:IAMMember",
	# The aks backend's resources.
	"azure-native:resources:ResourceGroup",
	"azure-native:managedidentity:UserAssignedIdentity",
	"azure-native:keyvault:Vault",
	"azure-native:keyvault:Key",
	"azure-native:compute:DiskEncryptionSet",
	"azure-native:authorization:RoleAssignment",
	"azure-native:containerservice:ManagedCluster",
	"azure-native:containerservice:AgentPool",
	"azure-native:monitor:DiagnosticSetting",
	"azure-native:insights:DiagnosticSetting",
}

# Providers, and the key material and random values of the tls and random providers, hold no data.
understood_type(t) if t in understood_types

understood_type(t) if startswith(t, "pulumi:providers:")

understood_type(t) if startswith(t, "tls:index/")

understood_type(t) if startswith(t, "random:index/")

# The plan's HIPAA scope as the gate result reports it: whether it handles PHI (the `handles_phi` every
# scoped rule tests: PHI or genetic data, a medical-device workload, or an unclassified pod workload,
# fail closed) and the classes it declares. Reports and evidence read it instead of deciding again.
scope(c) := {
	"phi": c.handles_phi,
	"classifications": sorted({cls | some urn; some cls in c.declared[urn]} | {entry[1] | some entry in c.namespaces}),
}

# How many of the plan's resources some rule understands, and the types none does.
coverage(c) := {
	"resources": count(c.resources),
	"in_scope": sum([count(ids) | some t; ids := c.types[t]; understood_type(t)]),
	"unknown_types": sort([t | some t in object.keys(c.types); not understood_type(t)]),
}
