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
package phistack.rules.access.phi_iam_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := _role_findings(_roles(ctx)) if ctx.handles_phi

else := set()

# What a role's rules allow depends on the rules alone: plans repeat a few rule lists across many
# namespaces, so each distinct list is judged once (verdicts keyed by the list itself).
_role_findings(roles) := _report(roles, _verdicts(roles))

_verdicts(roles) := {rules: verdict |
	some rules in {_key(role) | some role in roles}
	verdict := _verdict(rules)
}

_key(role) := object.get(role.inputs, "rules", [])

_report(roles, verdicts) := {f |
	some role in roles
	f := _finding(role, verdicts[_key(role)])
}

# One pass per role: unknown rules, rule entries or grant lists fail closed, else a wildcard denies.
_finding(role, verdict) := lib.unknown_finding("PHI-IAM-001", role.urn, "the role rules", verdict.unknown) if {
	count(verdict.unknown) > 0
} else := lib.finding("PHI-IAM-001", role.urn, concat("", [_text(object.get(role.inputs, "kind", "Role")), " ", _text(lib.name_of(role)), " grants a wildcard in ", concat(", ", verdict.wildcards)])) if {
	count(verdict.wildcards) > 0
}

_verdict(rules) := {"unknown": lib.sorted(_unknowns(rules)), "wildcards": lib.sorted(_wildcards(rules))}

_wildcards(rules) := {field |
	is_array(rules)
	some rule in rules
	is_object(rule)
	some field in _fields
	"*" in object.get(rule, field, [])
}

_fields := ["apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"]

# The paths of unknown values in a role's rules: the list, an entry, a grant list or one of its items.
_unknowns(rules) := {"rules"} if {
	lib.is_unknown(rules)
} else := {p |
	is_array(rules)
	some i
	rule := rules[i]
	some p in _rule_unknowns(rule, concat("", ["rules[", format_int(i, 10), "]"]))
}

_rule_unknowns(rule, path) := {path} if lib.is_unknown(rule)

else := {p |
	is_object(rule)
	some field in _fields
	some p in _values_unknown(object.get(rule, field, []), concat("", [path, ".", field]))
}

_values_unknown(values, path) := {path} if lib.is_unknown(values)

else := {p |
	is_array(values)
	some j
	value := values[j]
	lib.is_unknown(value)
	p := concat("", [path, "[", format_int(j, 10), "]"]) # bound in the body: regopy drops this set when the head reads an argument
}

_text(value) := value if is_string(value)

else := "(unknown)"

_roles(ctx) := array.concat(
	lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:Role"),
	lib.of_type(ctx, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"),
)
