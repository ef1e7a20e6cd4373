# METADATA
# title: RBAC grants no wildcards
# description: 'In a stack that handles PHI, no Role or ClusterRole rule grants "*" in apiGroups, resources,
#   verbs, resourceNames or nonResourceURLs: every grant names what it allows (least privilege). A wildcard
#   denies; rules, a rule or any of its lists or their items unknown at plan time deny.'
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
findings(ctx) := _iam1_findings(_iam1_roles(ctx)) if ctx.handles_phi

else := set()

# What a role's rules allow depends on the rules alone: plans repeat a few rule lists across many
# namespaces, so each distinct list is judged once (verdicts keyed by the list itself).
_iam1_findings(roles) := _iam1_report(roles, _iam1_verdicts(roles))

_iam1_verdicts(roles) := {rules: verdict |
	some rules in {_iam1_key(role) | some role in roles}
	verdict := _iam1_verdict(rules)
}

_iam1_key(role) := object.get(role.inputs, "rules", [])

_iam1_report(roles, verdicts) := {f |
	some role in roles
	f := _iam1_finding(role, verdicts[_iam1_key(role)])
}

# One pass per role: unknown rules, rule entries or grant lists fail closed, else a wildcard denies.
_iam1_finding(role, verdict) := lib.unknown_finding("PHI-IAM-001", role.urn, "the role rules", verdict.unknown) if {
	count(verdict.unknown) > 0
} else := lib.finding("PHI-IAM-001", role.urn, concat("", [_iam1_text(object.get(role.inputs, "kind", "Role")), " ", _iam1_text(lib.name_of(role)), " grants a wildcard in ", concat(", ", verdict.wildcards)])) if {
	count(verdict.wildcards) > 0
}

_iam1_verdict(rules) := {"unknown": lib.sorted(_iam1_unknowns(rules)), "wildcards": lib.sorted(_iam1_wildcards(rules))}

_iam1_wildcards(rules) := {field |
	is_array(rules)
	some rule in rules
	is_object(rule)
	some field in _iam1_fields
	"*" in object.get(rule, field, [])
}

_iam1_fields := ["apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"]

# The paths of unknown values in a role's rules: the list, an entry, a grant list or one of its items.
_iam1_unknowns(rules) := {"rules"} if {
	lib.is_unknown(rules)
} else := {p |
	is_array(rules)
	some i
	rule := rules[i]
	some p in _iam1_rule_unknowns(rule, concat("", ["rules[", format_int(i, 10), "]"]))
}

_iam1_rule_unknowns(rule, path) := {path} if lib.is_unknown(rule)

else := {p |
	is_object(rule)
	some field in _iam1_fields
	some p in _iam1_values_unknown(object.get(rule, field, []), concat("", [path, ".", field]))
}

_iam1_values_unknown(values, path) := {path} if lib.is_unknown(values)

else := {p |
	is_array(values)
	some j
	value := values[j]
	lib.is_unknown(value)
	p := concat("", [path, "[", format_int(j, 10), "]"]) # bound in the body: regopy drops this set when the head reads an argument
}

_iam1_text(value) := value if is_string(value)

else := "(unknown)"

_iam1_roles(ctx) := array.concat(
	lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:Role"),
	lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"),
)
