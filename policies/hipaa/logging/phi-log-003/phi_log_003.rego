# METADATA
# title: Audit logs are retained at least six years
# description: 'Every AuditLogShipping forwarder of a stack that handles PHI declares the retention its
#   SIEM keeps, and it is at least the minimum in policies/data/hipaa_parameters.json (2192 days: six years
#   including two leap days), the retention HIPAA requires for security documentation. A shorter or missing
#   retention denies.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.316#p-164.316(b)(2)(i)
#   description: '45 CFR 164.316(b)(2)(i) Time limit (Required): Retain the documentation required by paragraph
#     (b)(1) of this section for 6 years from the date of its creation or the date when it last was in effect,
#     whichever is later.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(b)
#   description: '45 CFR 164.312(b) Audit controls: Implement hardware, software, and/or procedural mechanisms
#     that record and examine activity in information systems that contain or use electronic protected health
#     information.'
# custom:
#   id: PHI-LOG-003
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.316(b)(2)(i)
#     title: Time limit
#     type: required
#   - cfr: 45 CFR 164.312(b)
#     title: Audit controls
#     type: required
#   remediation: Set AuditLogShipping.retention_days to at least 2192 and configure the SIEM index or bucket
#     to keep the records that long.
package phistack.rules.phi_log_003

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	some s in lib.components(ctx, "AuditLogShipping")
	paths := lib.unknown_props(s, ["retention_days"])
	count(paths) > 0
	f := lib.unknown_finding("PHI-LOG-003", s.urn, "the log retention", paths)
} | {f |
	ctx.handles_phi
	some s in lib.components(ctx, "AuditLogShipping")
	count(lib.unknown_props(s, ["retention_days"])) == 0
	not _log3_retained(s.inputs)
	f := lib.finding("PHI-LOG-003", s.urn, concat("", ["audit logs are not declared to be kept at least ", format_int(_log3_minimum, 10), " days (retention_days)"]))
}

_log3_minimum := data.hipaa_parameters.min_log_retention_days

_log3_retained(p) if {
	is_number(p.retention_days)
	p.retention_days >= _log3_minimum
}
