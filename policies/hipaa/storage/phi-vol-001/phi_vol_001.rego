# METADATA
# title: PHI pods mount only storage the plan declares and encrypts
# description: 'Every volume of a PHI or genetic pod workload resolves to storage whose encryption the gate
#   can judge: a persistentVolumeClaim that the plan declares in the workload''s namespace (or a
#   volumeClaimTemplate of the StatefulSet) naming a StorageClass of the plan (PHI-ENC-001 judges that
#   class''s encryption) and not pinned to a pre-existing volume, a generic ephemeral volume of a plan
#   StorageClass, an emptyDir with medium Memory and a sizeLimit of at most max_memory_emptydir
#   (policies/data/hipaa_parameters.json), or a Secret, ConfigMap, projected or downward API volume.
#   Anything else (nfs, iscsi, hostPath, inline csi, cloud disks, cephfs, a disk-backed emptyDir ...), a
#   claim the plan does not declare, a claim without storageClassName (the cluster default is
#   unknowable) and unknown values deny.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(2)(iv)
#   description: '45 CFR 164.312(a)(2)(iv) Encryption and decryption (Addressable): Implement a mechanism
#     to encrypt and decrypt electronic protected health information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.310#p-164.310(d)(1)
#   description: '45 CFR 164.310(d)(1) Device and media controls: Implement policies and procedures that
#     govern the receipt and removal of hardware and electronic media that contain electronic protected
#     health information into and out of a facility, and the movement of these items within the facility.'
# custom:
#   id: PHI-VOL-001
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(a)(2)(iv)
#     title: Encryption and decryption
#     type: addressable
#   - cfr: 45 CFR 164.310(d)(1)
#     title: Device and media controls
#     type: required
#   remediation: 'Mount PHI only from PersistentVolumeClaims that EncryptedStorage creates (storage_class_name set)
#     in the workload''s namespace; use emptyDir with medium Memory and a sizeLimit for scratch space;
#     remove NFS, iSCSI, hostPath, inline CSI and cloud-disk volumes.'
package phistack.rules.storage.phi_vol_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some w in ctx.phi_workloads
	f := _finding(ctx, w)
}

# One finding per workload: unknown values fail closed, else every volume that does not resolve, sorted.
_finding(ctx, w) := lib.unknown_finding("PHI-VOL-001", w.urn, "a volume of the pod or the storage it resolves to", lib.sorted(paths)) if {
	paths := _unknowns_of(ctx, w)
	count(paths) > 0
} else := f if {
	problems := _problems(ctx, w)
	count(problems) > 0
	f := lib.finding("PHI-VOL-001", w.urn, concat("", [
		"PHI workload ", _string_or(lib.name_of(w), w.name), " mounts storage that does not resolve to encrypted storage the plan declares: ",
		concat("; ", lib.sorted(problems)),
	]))
}

_string_or(x, fallback) := x if is_string(x)

else := fallback

_pvc_type := "kubernetes:core/v1:PersistentVolumeClaim"

_safe_kinds := {"secret", "configMap", "projected", "downwardAPI"}

# The pod's volumes with their paths in the manifest.
# (Comprehension heads in this file are variables bound in their bodies: regopy 1.5.2 mixes up
# function arguments used in a comprehension head.)
_volumes(w) := [entry |
	spec := lib.pod_spec(w)
	is_object(spec)
	volumes := object.get(spec, "volumes", [])
	is_array(volumes)
	prefix := concat(".", lib.pod_spec_path(w))
	some i
	v := volumes[i]
	entry := {"path": concat("", [prefix, ".volumes[", format_int(i, 10), "]"]), "volume": v}
]

# The volume sources a volume sets (a volume carries exactly one; `name` is not one).
_kinds(v) := {k |
	some k in object.keys(v)
	k != "name"
	v[k] != null
}

# StatefulSet volumeClaimTemplates with their paths; a pod volume of the same name is replaced by the
# claim the controller makes from the template.
_templates(w) := [entry |
	w.type == "kubernetes:apps/v1:StatefulSet"
	templates := object.get(w.inputs, ["spec", "volumeClaimTemplates"], [])
	is_array(templates)
	some i
	t := templates[i]
	entry := {"path": concat("", ["spec.volumeClaimTemplates[", format_int(i, 10), "]"]), "template": t}
]

_template_names(w) := {name |
	some t in _templates(w)
	is_object(t.template)
	name := object.get(t.template, ["metadata", "name"], null)
	is_string(name)
}

# The claims the plan declares under `claim` in the workload's namespace.
_claims(ctx, w, claim) := lib.named(ctx, _pvc_type, lib.namespace_of(w), claim)

# --- unknown values -------------------------------------------------------------------------------

_unknowns_of(ctx, w) := {path} if {
	path := lib.unknown_path(w.inputs, array.concat(lib.pod_spec_path(w), ["volumes"]))
} else := ({path |
	some entry in _volumes(w)
	some path in _volume_unknown(ctx, w, entry.path, entry.volume)
} | _templates_unknown(w)) | _namespace_unknown(w)

_volume_unknown(ctx, w, path, v) := {path} if lib.is_unknown(v)

else := {unknown |
	is_object(v)
	some field in [
		["persistentVolumeClaim", "claimName"],
		["emptyDir", "medium"],
		["emptyDir", "sizeLimit"],
		["ephemeral", "volumeClaimTemplate", "spec", "storageClassName"],
	]
	rel := lib.unknown_path(v, field)
	unknown := concat(".", [path, rel])
} | {unknown |
	is_object(v)
	claim := object.get(v, ["persistentVolumeClaim", "claimName"], null)
	is_string(claim)
	some pvc in _claims(ctx, w, claim)
	some field in [["spec", "storageClassName"], ["spec", "volumeName"], ["spec", "selector"]]
	rel := lib.unknown_path(pvc.inputs, field)
	unknown := concat("", [_pvc_label(pvc), " ", rel])
}

_pvc_label(pvc) := concat("", ["PersistentVolumeClaim ", _string_or(lib.name_of(pvc), pvc.name)])

_templates_unknown(w) := {path |
	w.type == "kubernetes:apps/v1:StatefulSet"
	path := lib.unknown_path(w.inputs, ["spec", "volumeClaimTemplates"])
} | {path |
	some t in _templates(w)
	lib.is_unknown(t.template)
	path := t.path
} | {path |
	some t in _templates(w)
	is_object(t.template)
	some field in [["metadata", "name"], ["spec", "storageClassName"]]
	rel := lib.unknown_path(t.template, field)
	path := concat(".", [t.path, rel])
}

# The namespace decides which claim a name resolves to.
_namespace_unknown(w) := {path |
	some entry in _volumes(w)
	is_object(entry.volume)
	object.get(entry.volume, "persistentVolumeClaim", null) != null
	path := lib.unknown_path(w.inputs, ["metadata", "namespace"])
}

# --- problems -------------------------------------------------------------------------------------

_problems(ctx, w) := {msg |
	overridden := _template_names(w)
	some entry in _volumes(w)
	is_object(entry.volume)
	not object.get(entry.volume, "name", null) in overridden
	some problem in _volume_source_problems(ctx, w, entry.volume)
	msg := concat("", [entry.path, " (", _string_or(object.get(entry.volume, "name", null), "unnamed"), ") ", problem])
} | {msg |
	some t in _templates(w)
	is_object(t.template)
	problem := _class_problem(ctx, object.get(t.template, ["spec", "storageClassName"], null))
	msg := concat("", [t.path, " ", problem])
}

_volume_source_problems(ctx, w, v) := {"sets no volume source, so Kubernetes makes it a disk-backed emptyDir"} if {
	count(_kinds(v)) == 0
} else := {"sets more than one volume source"} if {
	count(_kinds(v)) > 1
} else := _source_problems(ctx, w, kind, source) if {
	some kind in _kinds(v)
	source := v[kind] # bound first: regopy does not pass v[kind] to a function here
}

_source_problems(ctx, w, kind, source) := set() if kind in _safe_kinds

else := _claim_source_problems(ctx, w, source) if kind == "persistentVolumeClaim"

else := _empty_dir_problems(source) if kind == "emptyDir"

else := {problem |
	problem := _class_problem(ctx, object.get(_object(source), ["volumeClaimTemplate", "spec", "storageClassName"], null))
} if {
	kind == "ephemeral"
} else := {concat("", [
	"is a ", kind, " volume; PHI may live only on claims of the plan's StorageClasses, memory emptyDirs, ",
	"Secrets, ConfigMaps, projected and downward API volumes",
])}

_claim_source_problems(ctx, w, source) := {"names no claim"} if {
	claim := object.get(_object(source), "claimName", null)
	not lib.non_empty_string(claim)
} else := {concat("", [
	"mounts claim ", source.claimName, ", which the plan does not declare in namespace ",
	_string_or(lib.namespace_of(w), "?"), ", so its storage cannot be verified",
])} if {
	count(_claims(ctx, w, source.claimName)) == 0
} else := {problem |
	some pvc in _claims(ctx, w, source.claimName)
	some problem in _pvc_problems(ctx, pvc, source.claimName)
}

_object(x) := x if is_object(x)

else := {}

_pvc_problems(ctx, pvc, claim) := {msg |
	problem := _class_problem(ctx, object.get(pvc.inputs, ["spec", "storageClassName"], null))
	msg := concat("", ["mounts claim ", claim, " that ", problem])
} | {msg |
	some field in ["volumeName", "selector"]
	not object.get(pvc.inputs, ["spec", field], null) in {null, ""}
	msg := concat("", [
		"mounts claim ", claim, " that binds a pre-existing PersistentVolume (spec.volumeName or spec.selector), ",
		"which its StorageClass does not provision",
	])
}

# What is wrong with a storageClassName (undefined when it names a StorageClass of the plan).
_class_problem(ctx, class) := "sets no storageClassName, so the cluster's default class (unverifiable) applies" if {
	not lib.non_empty_string(class)
	not lib.is_unknown(class)
} else := concat("", ["uses StorageClass ", class, ", which the plan does not declare"]) if {
	is_string(class)
	not class in ctx.storage_class_names
}

_empty_dir_problems(source) := {"is a disk-backed emptyDir (unencrypted node scratch space); use medium: Memory with a sizeLimit"} if {
	object.get(_object(source), "medium", "") != "Memory"
} else := {"is a memory emptyDir without a sizeLimit"} if {
	object.get(source, "sizeLimit", null) == null
} else := {"has a sizeLimit that is not a quantity the gate can read"} if {
	not _bytes(source.sizeLimit)
} else := {concat("", ["has a sizeLimit above the maximum ", _max_text, " (max_memory_emptydir)"])} if {
	_bytes(source.sizeLimit) > _max
} else := set()

# The largest memory emptyDir allowed, in bytes (0 when the parameter is missing or unreadable: fail closed).
_max := bytes if {
	bytes := _bytes(data.hipaa_parameters.max_memory_emptydir)
} else := 0

_max_text := text if {
	text := data.hipaa_parameters.max_memory_emptydir
	is_string(text)
	_bytes(text)
} else := "0"

# A Kubernetes quantity in bytes: a number, or digits with an optional binary or decimal suffix.
_units := {
	"": 1, "k": 1000, "K": 1000, "M": 1000000, "G": 1000000000, "T": 1000000000000, "P": 1000000000000000,
	"Ki": 1024, "Mi": 1048576, "Gi": 1073741824, "Ti": 1099511627776, "Pi": 1125899906842624,
}

_bytes(q) := q if {
	is_number(q)
	q >= 0
} else := to_number(digits) * _units[unit] if {
	is_string(q)
	regex.match(`^[0-9]+(\.[0-9]+)?(k|K|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$`, q)
	digits := regex.find_n(`^[0-9]+(\.[0-9]+)?`, q, 1)[0]
	unit := substring(q, count(digits), -1)
}
