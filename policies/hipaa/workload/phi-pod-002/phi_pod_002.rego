# METADATA
# title: PHI namespaces enforce the restricted Pod Security Standard
# description: 'Every namespace classified phi or genetic (its phistack.io/data-classification label or a
#   ConfidentialGpuCluster namespaces entry) and every namespace a PHI or genetic pod workload runs in is a
#   Namespace the plan creates, labelled pod-security.kubernetes.io/enforce=restricted, and, when
#   pod-security.kubernetes.io/enforce-version is set, latest or v1.25 or later; so the API server itself
#   refuses any pod of the namespace that breaks the standard, including pods created outside the plan. A
#   namespace the plan does not create cannot be verified and denies; unknown names or labels deny.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(1)
#   description: '45 CFR 164.312(a)(1) Access control: Implement technical policies and procedures for electronic
#     information systems that maintain electronic protected health information to allow access only to
#     those persons or software programs that have been granted access rights as specified in § 164.308(a)(4).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(B)
#   description: '45 CFR 164.308(a)(1)(ii)(B) Risk management (Required): Implement security measures sufficient
#     to reduce risks and vulnerabilities to a reasonable and appropriate level to comply with § 164.306(a).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(c)(1)
#   description: '45 CFR 164.312(c)(1) Integrity: Implement policies and procedures to protect electronic
#     protected health information from improper alteration or destruction.'
# custom:
#   id: PHI-POD-002
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(a)(1)
#     title: Access control
#     type: required
#   - cfr: 45 CFR 164.308(a)(1)(ii)(B)
#     title: Risk management
#     type: required
#   - cfr: 45 CFR 164.312(c)(1)
#     title: Integrity
#     type: required
#   remediation: 'Declare the namespace in ConfidentialGpuCluster.namespaces (pod_security_level restricted) so the
#     plan creates it with pod-security.kubernetes.io/enforce=restricted and enforce-version latest, and run
#     PHI workloads only in namespaces the plan creates.'
package phistack.rules.workload.phi_pod_002

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := f if {
	created := {name | some n in lib.of_type(ctx, _type); name := lib.name_of(n)}
	f := (_workload_findings(ctx, created) | _declared_namespace_findings(ctx, created)) | _namespace_findings(ctx)
}

_type := "kubernetes:core/v1:Namespace"

_enforce := "pod-security.kubernetes.io/enforce"

_version := "pod-security.kubernetes.io/enforce-version"

# --- where PHI runs: each PHI workload's namespace is one the plan creates ----------------------------

_workload_findings(ctx, created) := {f |
	some w in ctx.phi_workloads
	path := lib.unknown_path(w.inputs, ["metadata", "namespace"])
	f := lib.unknown_finding("PHI-POD-002", w.urn, "the namespace of a PHI workload", [path])
} | {f |
	some w in ctx.phi_workloads
	not lib.unknown_path(w.inputs, ["metadata", "namespace"])
	ns := lib.namespace_of(w)
	not ns in created
	f := lib.finding("PHI-POD-002", w.urn, concat("", [
		"PHI workload ", _string_or(lib.name_of(w), w.name), " runs in namespace ", _string_or(ns, "(not a name)"),
		", which the plan does not create, so its Pod Security admission level cannot be verified",
	]))
}

# --- what the cluster declares: each phi or genetic namespace entry is a Namespace of the plan --------

_declared_namespace_findings(ctx, created) := {f |
	some cluster in lib.components(ctx, "ConfidentialGpuCluster")
	paths := _cluster_unknown(cluster)
	count(paths) > 0
	f := lib.unknown_finding("PHI-POD-002", cluster.urn, "the namespaces a cluster declares", lib.sorted(paths))
} | {f |
	some cluster in lib.components(ctx, "ConfidentialGpuCluster")
	entries := object.get(cluster.inputs, "namespaces", [])
	is_array(entries)
	some entry in entries
	is_object(entry)
	not object.get(entry, "data_classification", "phi") in {"deidentified", "none"} # anything else is phi
	name := object.get(entry, "name", null)
	is_string(name)
	not name in created
	f := lib.finding("PHI-POD-002", cluster.urn, concat("", [
		"ConfidentialGpuCluster ", cluster.name, " declares namespace ", name,
		" for PHI or genetic data but the plan creates no Namespace ", name,
		", so its Pod Security admission level cannot be verified",
	]))
}

_cluster_unknown(cluster) := {path |
	path := lib.unknown_path(cluster.inputs, ["namespaces"])
} | {path |
	entries := object.get(cluster.inputs, "namespaces", [])
	is_array(entries)
	some i
	entry := entries[i]
	some path in _entry_unknown(entry, concat("", ["namespaces[", format_int(i, 10), "]"]))
}

_entry_unknown(entry, path) := {path} if lib.is_unknown(entry)

else := {concat("", [path, ".name"])} if {
	is_object(entry)
	lib.is_unknown(object.get(entry, "name", null))
}

else := set()

# --- the Namespaces themselves: restricted, at a version that has every restricted check ------------

_namespace_findings(ctx) := {f |
	some n in lib.of_type(ctx, _type)
	path := lib.unknown_path(n.inputs, ["metadata", "name"])
	_maybe_sensitive(n)
	f := lib.unknown_finding("PHI-POD-002", n.urn, "the name of a namespace that may hold PHI", [path])
} | {f |
	required := ctx.phi_namespaces # must enforce the standard
	some n in lib.of_type(ctx, _type)
	name := lib.name_of(n)
	name in required
	f := _namespace_finding(n, name)
}

_maybe_sensitive(n) if count(lib.declared_classes(n) & lib.sensitive) > 0

_maybe_sensitive(n) if lib.unknown_path(n.inputs, ["metadata", "labels", lib.class_label])

_namespace_finding(n, name) := lib.unknown_finding("PHI-POD-002", n.urn, "the Pod Security admission labels of a PHI namespace", lib.sorted(paths)) if {
	paths := {path |
		some label in [_enforce, _version]
		path := lib.unknown_path(n.inputs, ["metadata", "labels", label])
	}
	count(paths) > 0
} else := f if {
	problems := _pss_problems(n)
	count(problems) > 0
	f := lib.finding("PHI-POD-002", n.urn, concat("", [
		"Namespace ", name, " holds PHI or genetic data but does not enforce the restricted Pod Security Standard: ",
		concat("; ", lib.sorted(problems)),
	]))
}

_pss_problems(n) := {p |
	object.get(n.inputs, ["metadata", "labels", _enforce], null) != "restricted"
	p := concat("", ["label ", _enforce, " must be restricted"])
} | {p |
	not _version_ok(object.get(n.inputs, ["metadata", "labels", _version], "latest"))
	p := concat("", ["label ", _version, " must be latest or v1.25 or later"])
}

# Pod Security admission reads "latest" or "v1.<minor>"; the restricted checks are complete from v1.25.
_version_ok(v) if v == "latest"

_version_ok(v) if {
	is_string(v)
	regex.match(`^v1\.(0|[1-9][0-9]*)$`, v)
	to_number(substring(v, 3, -1)) >= 25
}

_string_or(x, fallback) := x if is_string(x)

else := fallback
