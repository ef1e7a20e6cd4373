# METADATA
# title: The runtime's own audit log has a sink
# description: Every PHI or genetic pod workload configures the phistack runtime's audit sink (PHISTACK_AUDIT_SINK,
#   host:port of the SIEM), so each decryption, key release and result write is recorded in the tamper-evident
#   audit log and shipped off the node. A missing or malformed sink denies.
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(b)
#   description: '45 CFR 164.312(b) Audit controls: Implement hardware, software, and/or procedural mechanisms
#     that record and examine activity in information systems that contain or use electronic protected health
#     information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(D)
#   description: '45 CFR 164.308(a)(1)(ii)(D) Information system activity review (Required): Implement procedures
#     to regularly review records of information system activity, such as audit logs, access reports, and
#     security incident tracking reports.'
# custom:
#   id: PHI-LOG-004
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(b)
#     title: Audit controls
#     type: required
#   - cfr: 45 CFR 164.308(a)(1)(ii)(D)
#     title: Information system activity review
#     type: required
#   remediation: Set AttestedWorkload.audit_sink to the SIEM's host:port (the same SIEM AuditLogShipping
#     ships to).
package phistack.rules.logging.phi_log_004

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some w in ctx.phi_workloads
	f := _finding(w, _sinks(ctx, w))
}

# The effective definition of PHISTACK_AUDIT_SINK in each container that defines it, worked out once per
# workload: the environment is the effective one (envFrom sources, then env entries, the last one winning).
_sinks(ctx, w) := [d |
	some c in lib.containers(w)
	d := lib.effective_env(ctx, c, w, "PHISTACK_AUDIT_SINK")
]

# An unknown sink fails closed, else a missing sink denies.
_finding(w, sinks) := lib.unknown_finding("PHI-LOG-004", w.urn, "the runtime audit sink", lib.sorted(paths)) if {
	paths := {d.unknown | some d in sinks; d.unknown}
	count(paths) > 0
} else := f if {
	not _sink(sinks)
	f := lib.finding("PHI-LOG-004", w.urn, concat("", ["PHI workload ", lib.name_of(w), " has no runtime audit sink: no container's effective environment sets PHISTACK_AUDIT_SINK to host:port"]))
}

_sink(sinks) if {
	some d in sinks
	not d.unknown
	is_string(d.value)
	regex.match(`^[A-Za-z0-9.\-]+:[0-9]{1,5}$`, d.value)
}
