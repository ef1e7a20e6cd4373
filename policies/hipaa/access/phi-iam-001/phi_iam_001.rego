# METADATA
# title: RBAC grants no wildcards
# description: 'In a stack that handles PHI, no Role or ClusterRole rule grants "*" in apiGroups, resources,
#   verbs, resourceNames or nonResourceURLs: every grant names what it allows (least privilege). A wildcard
#   denies; rules unknown at plan time deny.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(1)
#   description: '45 CFR 164.312(a)(1) Access control: Implement technical policies and procedures for electronic
#     information systems that maintain electronic protected health information to allow access only to
#     those persons or software programs that have been granted access rights as specified in § 164.308(a)(4).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(4)(ii)(B)
#   description: '45 CFR 164.308(a)(4)(ii)(B) Access authorization (Addressable): Implement policies and
#     procedures for granting access to electronic protected health information, for example, through access
#     to a workstation, transaction, program, process, or other mechanism.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-E/section-164.502#p-164.502(b)(1)
#   description: '45 CFR 164.502(b)(1) Minimum necessary applies: When using or disclosing protected health
#     information or when requesting protected health information from another covered entity or business
#     associate, a covered entity or business associate must make reasonable efforts to limit protected
#     health information to the minimum necessary to accomplish the intended purpose of the use, disclosure,
#     or request.'
# custom:
#   id: PHI-IAM-001
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(a)(1)
#     title: Access control
#     type: required
#   - cfr: 45 CFR 164.308(a)(4)(ii)(B)
#     title: Access authorization
#     type: addressable
#   - cfr: 45 CFR 164.502(b)(1)
#     title: Minimum necessary
#     type: required
#   remediation: Replace wildcards with the exact API groups, resources and verbs the subject needs (use
#     the viewer or operator roles of ConfidentialGpuCluster where they fit).
package phistack.rules.phi_iam_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	some role in _iam1_roles(ctx)
	path := lib.unknown_path(role.inputs, ["rules"])
	f := lib.unknown_finding("PHI-IAM-001", role.urn, "the role rules", [path])
} | {f |
	ctx.handles_phi
	some role in _iam1_roles(ctx)
	rules := object.get(role.inputs, "rules", [])
	is_array(rules)
	fields := {field |
		some rule in rules
		some field in ["apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"]
		"*" in object.get(rule, field, [])
	}
	count(fields) > 0
	f := lib.finding("PHI-IAM-001", role.urn, concat("", [role.inputs.kind, " ", lib.name_of(role), " grants a wildcard in ", concat(", ", lib.sorted(fields))]))
}

_iam1_roles(ctx) := array.concat(
	lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:Role"),
	lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"),
)
