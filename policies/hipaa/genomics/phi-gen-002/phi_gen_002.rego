# METADATA
# title: Genetic data is restricted to named groups in a dedicated namespace
# description: 'Every AttestedWorkload that processes genetic data names the groups authorised to it (authorized_groups:
#   non-empty, no wildcard) and runs in a namespace classified genetic only; every RoleBinding in that namespace
#   binds only those groups. Individual users, other groups, a shared namespace or a missing authorisation
#   list deny.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(1)
#   description: '45 CFR 164.312(a)(1) Access control: Implement technical policies and procedures for electronic
#     information systems that maintain electronic protected health information to allow access only to
#     those persons or software programs that have been granted access rights as specified in § 164.308(a)(4).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-E/section-164.502#p-164.502(b)(1)
#   description: '45 CFR 164.502(b)(1) Minimum necessary applies: When using or disclosing protected health
#     information or when requesting protected health information from another covered entity or business
#     associate, a covered entity or business associate must make reasonable efforts to limit protected
#     health information to the minimum necessary to accomplish the intended purpose of the use, disclosure,
#     or request.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-E/section-164.502#p-164.502(a)(5)(i)
#   description: '45 CFR 164.502(a)(5)(i) Use and disclosure of genetic information for underwriting purposes:
#     Notwithstanding any other provision of this subpart, a health plan, excluding an issuer of a long-term
#     care policy falling within paragraph (1)(viii) of the definition of health plan, shall not use or
#     disclose protected health information that is genetic information for underwriting purposes.'
# custom:
#   id: PHI-GEN-002
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(a)(1)
#     title: Access control
#     type: required
#   - cfr: 45 CFR 164.502(b)(1)
#     title: Minimum necessary
#     type: required
#   - cfr: 45 CFR 164.502(a)(5)(i)
#     title: Use and disclosure of genetic information for underwriting purposes
#     type: required
#   remediation: Declare the namespace with data_classification genetic in ConfidentialGpuCluster, set AttestedWorkload.authorized_groups,
#     and grant access_grants in that namespace only to those groups.
package phistack.rules.genomics.phi_gen_002

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some w in _workloads(ctx)
	not _groups_ok(object.get(w.inputs, "authorized_groups", []))
	f := lib.finding("PHI-GEN-002", w.urn, concat("", ["genetic-data workload ", w.name, " names no authorised groups (authorized_groups, without wildcards)"]))
} | {f |
	some w in _workloads(ctx)
	ns := object.get(w.inputs, "namespace", "")
	lib.namespace_classes(ctx, ns) != {"genetic"}
	f := lib.finding("PHI-GEN-002", w.urn, concat("", ["genetic-data workload ", w.name, " runs in namespace ", ns, ", which is not dedicated to genetic data"]))
} | {f |
	genetic := _workloads(ctx)
	count(genetic) > 0
	allowed_by_namespace := _allowed(genetic)
	some b in lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
	allowed := allowed_by_namespace[lib.namespace_of(b)]
	outsiders := [concat("", [s.kind, " ", s.name]) |
		some s in object.get(b.inputs, "subjects", [])
		not _member(s, allowed)
	]
	count(outsiders) > 0
	f := lib.finding("PHI-GEN-002", b.urn, concat("", ["RoleBinding ", lib.name_of(b), " grants genetic-data namespace ", lib.namespace_of(b), " to ", concat(", ", sort(outsiders)), ", outside its authorised groups"]))
}

_workloads(ctx) := [w | some w in lib.components(ctx, "AttestedWorkload"); lib.is_genetic(ctx, w)]

# Namespace -> the groups authorised by the genetic workloads in it: one pass over the workloads per
# distinct namespace (a genomics stack may hold hundreds of genetic workloads in a few namespaces).
_allowed(genetic) := {ns: {g |
	some other in genetic
	object.get(other.inputs, "namespace", "") == ns
	some g in object.get(other.inputs, "authorized_groups", [])
} |
	some ns in {object.get(w.inputs, "namespace", "") | some w in genetic}
}

_member(subject, allowed) if {
	subject.kind == "Group"
	subject.name in allowed
}

_groups_ok(groups) if {
	is_array(groups)
	count(groups) > 0
	every g in groups {
		lib.non_empty_string(g)
		g != "*"
	}
}
