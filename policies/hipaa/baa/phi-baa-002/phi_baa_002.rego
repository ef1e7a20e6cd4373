# METADATA
# title: The Business Associate Agreement is in effect on the evaluation date
# description: 'The registry entry of the BAA a ProviderProfile relies on is in effect on the evaluation
#   date (ctx.today): signed on or before it and expiring on or after it. An expired agreement, one not
#   yet in effect, one without valid dates, or an evaluation without a date denies.'
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
#   id: PHI-BAA-002
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
#   remediation: Renew the BAA with the provider before it expires and update its entry in policies/data/baa.json
#     (signed and expires dates); stop processing PHI with the provider meanwhile.
package phistack.rules.baa.phi_baa_002

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	some p in lib.components(ctx, "ProviderProfile")
	some a in lib.matching_agreements(p)
	msg := _date_problem(ctx.today, a)
	f := lib.finding("PHI-BAA-002", p.urn, concat("", ["BAA ", a.reference, " with ", a.provider, " ", msg]))
}

_date_problem(today, a) := "cannot be checked: the gate input has no evaluation date (today)" if {
	not _is_date(today)
} else := "has no valid signed and expires dates in the registry" if {
	not _dated(a)
} else := concat("", ["expired on ", a.expires]) if {
	a.expires < today
} else := concat("", ["is not in effect until ", a.signed]) if {
	a.signed > today
}

_dated(a) if {
	_is_date(a.signed)
	_is_date(a.expires)
}

_is_date(value) if regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, value)
