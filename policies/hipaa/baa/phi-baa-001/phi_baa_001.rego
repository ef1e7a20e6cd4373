# METADATA
# title: A Business Associate Agreement covers the provider and plan
# description: A stack that holds PHI or genetic data, or runs a medical-device workload, declares its GPU
#   provider in a ProviderProfile whose BAA reference is on file in the organisation's registry (policies/data/baa.json)
#   for that provider and covers the plan the stack runs on. A missing profile, a missing BAA, a provider
#   without an agreement, a reference the registry does not know and a plan the agreement does not cover
#   all deny.
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(b)(1)
#   description: '45 CFR 164.308(b)(1): A covered entity may permit a business associate to create, receive,
#     maintain, or transmit electronic protected health information on the covered entity''s behalf only
#     if the covered entity obtains satisfactory assurances, in accordance with § 164.314(a), that the business
#     associate will appropriately safeguard the information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.314#p-164.314(a)(1)
#   description: '45 CFR 164.314(a)(1): The contract or other arrangement required by § 164.308(b) must
#     meet the requirements of paragraph (a)(2)(i), (a)(2)(ii), or (a)(2)(iii) of this section, as applicable.'
# custom:
#   id: PHI-BAA-001
#   severity: critical
#   enforcement: mandatory
#   unwaivable: true
#   citations:
#   - cfr: 45 CFR 164.308(b)(1)
#     title: Business associate contracts and other arrangements
#     type: required
#   - cfr: 45 CFR 164.314(a)(1)
#     title: Business associate contracts or other arrangements
#     type: required
#   remediation: Sign a BAA with the provider that covers the plan, record it in policies/data/baa.json,
#     and set ProviderProfile.baa to its reference and dates; or move the workload to a provider and plan
#     under an existing BAA.
package phistack.rules.baa.phi_baa_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	count(lib.components(ctx, "ProviderProfile")) == 0
	f := lib.finding("PHI-BAA-001", ctx.stack_urn, "the stack handles PHI but declares no ProviderProfile, so no Business Associate Agreement covers its provider")
} | {f |
	ctx.handles_phi
	some p in lib.components(ctx, "ProviderProfile")
	paths := _unknown(p)
	count(paths) > 0
	f := lib.unknown_finding("PHI-BAA-001", p.urn, "the provider, plan or BAA reference", paths)
} | {f |
	ctx.handles_phi
	some p in lib.components(ctx, "ProviderProfile")
	count(_unknown(p)) == 0
	msg := _problem(p)
	f := lib.finding("PHI-BAA-001", p.urn, msg)
}

_unknown(p) := [path |
	some key in [["provider"], ["plan"], ["baa"], ["baa", "reference"]]
	lib.is_unknown(object.get(p.inputs, key, null))
	path := concat(".", key)
]

_provider(p) := object.get(p.inputs, "provider", "")

_plan(p) := object.get(p.inputs, "plan", "")

_reference(p) := object.get(p.inputs, ["baa", "reference"], "")

_problem(p) := "the provider profile names no provider" if {
	not lib.non_empty_string(_provider(p))
} else := concat("", ["provider ", _provider(p), ": the profile declares no BAA"]) if {
	not lib.non_empty_string(_reference(p))
} else := concat("", ["provider ", _provider(p), " has no BAA in the registry (policies/data/baa.json)"]) if {
	count([a | some a in lib.baa_agreements; a.provider == _provider(p)]) == 0
} else := concat("", ["BAA ", _reference(p), " is not on file for provider ", _provider(p)]) if {
	count(lib.matching_agreements(p)) == 0
} else := concat("", ["BAA ", _reference(p), " with ", _provider(p), " does not cover plan ", _plan(p)]) if {
	not _covers_plan(p)
}

_covers_plan(p) if {
	some a in lib.matching_agreements(p)
	_plan(p) in a.plans
}
