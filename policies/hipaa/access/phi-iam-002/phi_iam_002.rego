# METADATA
# title: No cluster-admin for people
# description: 'In a stack that handles PHI, no RoleBinding or ClusterRoleBinding binds the cluster-admin
#   ClusterRole to a User or Group: people get scoped roles, and break-glass administration goes through
#   an audited process outside the cluster''s standing grants.'
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
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(4)(ii)(B)
#   description: '45 CFR 164.308(a)(4)(ii)(B) Access authorization (Addressable): Implement policies and
#     procedures for granting access to electronic protected health information, for example, through access
#     to a workstation, transaction, program, process, or other mechanism.'
# custom:
#   id: PHI-IAM-002
#   severity: critical
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(a)(1)
#     title: Access control
#     type: required
#   - cfr: 45 CFR 164.502(b)(1)
#     title: Minimum necessary
#     type: required
#   - cfr: 45 CFR 164.308(a)(4)(ii)(B)
#     title: Access authorization
#     type: addressable
#   remediation: Remove ConfidentialGpuCluster.cluster_admin_subjects; grant people the viewer or operator
#     role in their namespaces.
package phistack.rules.phi_iam_002

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	some b in _iam2_bindings(ctx)
	object.get(b.inputs, ["roleRef", "name"], "") == "cluster-admin"
	people := [concat("", [s.kind, " ", s.name]) |
		some s in object.get(b.inputs, "subjects", [])
		s.kind in {"User", "Group"}
	]
	count(people) > 0
	f := lib.finding("PHI-IAM-002", b.urn, concat("", [b.inputs.kind, " ", lib.name_of(b), " gives cluster-admin to ", concat(", ", sort(people))]))
} | {f |
	ctx.handles_phi
	some b in _iam2_bindings(ctx)
	object.get(b.inputs, ["roleRef", "name"], "") == "cluster-admin"
	lib.is_unknown(object.get(b.inputs, "subjects", []))
	f := lib.unknown_finding("PHI-IAM-002", b.urn, "the subjects of a cluster-admin binding", ["subjects"])
}

_iam2_bindings(ctx) := array.concat(
	lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"),
	lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"),
)
