# METADATA
# title: Audit logs are retained at least six years
# description: 'Every log forwarder of a stack that handles PHI (the Fluent Bit DaemonSets PHI-LOG-001 reads)
#   loads a ConfigMap of the plan whose annotation phistack.io/retention-days states the retention its SIEM
#   keeps, a whole number of days at least the minimum in policies/data/hipaa_parameters.json (2192 days: six
#   years including two leap days), the retention HIPAA requires for security documentation. The deployed
#   object is judged - a shorter, missing or malformed annotation, or a forwarder whose ConfigMap is not in
#   the plan, denies. The declared retention_days of AuditLogShipping is a cross-check and denies when short.
#   Unknown values fail closed.'
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
#   remediation: Set AuditLogShipping.retention_days to at least 2192 (it writes the phistack.io/retention-days
#     annotation of the forwarder's ConfigMap) and configure the SIEM index or bucket to keep the records that
#     long.
package phistack.rules.logging.phi_log_003

import rego.v1

import data.phistack.lib.hipaa as lib
import data.phistack.rules.logging.phi_log_001 as log1

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := ({f |
	ctx.handles_phi
	some s in lib.components(ctx, "AuditLogShipping")
	paths := lib.unknown_props(s, ["retention_days"])
	count(paths) > 0
	f := lib.unknown_finding("PHI-LOG-003", s.urn, "the log retention", paths)
} | {f |
	# Declared settings: a cross-check of the component, never the only evidence.
	ctx.handles_phi
	some s in lib.components(ctx, "AuditLogShipping")
	count(lib.unknown_props(s, ["retention_days"])) == 0
	not _retained(s.inputs)
	f := lib.finding("PHI-LOG-003", s.urn, concat("", ["audit logs are not declared to be kept at least ", format_int(_minimum, 10), " days (retention_days)"]))
}) | {f |
	ctx.handles_phi
	some fw in log1.forwarders(ctx)
	f := _forwarder_finding(fw)
}

_minimum := data.hipaa_parameters.min_log_retention_days

_annotation := "phistack.io/retention-days"

_retained(p) if {
	is_number(p.retention_days)
	p.retention_days >= _minimum
}

# The forwarder's ConfigMap carries the retention; without one the retention cannot be verified.
_forwarder_finding(fw) := f if {
	f := _config_map_finding(fw.launch.configmap)
} else := f if {
	not fw.launch.configmap
	fw.launch.unknown
	f := lib.unknown_finding("PHI-LOG-003", fw.launch.unknown.urn, "the log forwarder's ConfigMap", fw.launch.unknown.paths)
} else := f if {
	not fw.launch.configmap
	f := lib.finding("PHI-LOG-003", fw.resource.urn, concat("", ["log forwarder ", lib.namespace_of(fw.resource), "/", lib.name_of(fw.resource), " loads no ConfigMap of the plan, so the retention of its audit logs (annotation ", _annotation, ") cannot be verified"]))
}

_config_map_finding(cm) := f if {
	path := lib.unknown_path(cm.inputs, ["metadata", "annotations"])
	f := lib.unknown_finding("PHI-LOG-003", cm.urn, "the log retention", [path])
} else := f if {
	lib.is_unknown(object.get(cm.inputs, ["metadata", "annotations", _annotation], null))
	f := lib.unknown_finding("PHI-LOG-003", cm.urn, "the log retention", [concat("", ["metadata.annotations[\"", _annotation, "\"]"])])
} else := f if {
	not _days_at_least_minimum(object.get(cm.inputs, ["metadata", "annotations", _annotation], null))
	f := lib.finding("PHI-LOG-003", cm.urn, concat("", ["the log forwarder's ConfigMap ", lib.namespace_of(cm), "/", lib.name_of(cm), " does not state a retention of at least ", format_int(_minimum, 10), " days (annotation ", _annotation, ": a whole number of days)"]))
}

_days_at_least_minimum(v) if {
	is_string(v)
	regex.match(`^[0-9]{1,9}$`, v)
	to_number(v) >= _minimum
}
