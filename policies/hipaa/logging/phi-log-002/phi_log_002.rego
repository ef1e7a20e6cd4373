# METADATA
# title: Log shipping buffers on disk
# description: Every AuditLogShipping forwarder of a stack that handles PHI buffers on disk with a declared
#   maximum size, so audit records survive a SIEM outage or a forwarder restart instead of being dropped
#   from memory. A memory buffer or a missing buffer setting denies.
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(b)
#   description: '45 CFR 164.312(b) Audit controls: Implement hardware, software, and/or procedural mechanisms
#     that record and examine activity in information systems that contain or use electronic protected health
#     information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(c)(1)
#   description: '45 CFR 164.312(c)(1) Integrity: Implement policies and procedures to protect electronic
#     protected health information from improper alteration or destruction.'
# custom:
#   id: PHI-LOG-002
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(b)
#     title: Audit controls
#     type: required
#   - cfr: 45 CFR 164.312(c)(1)
#     title: Integrity
#     type: required
#   remediation: Set AuditLogShipping.buffer to disk and buffer_max_size to a size that covers the longest
#     expected SIEM outage.
package phistack.rules.phi_log_002

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	some s in lib.components(ctx, "AuditLogShipping")
	paths := lib.unknown_props(s, ["buffer", "buffer_max_size"])
	count(paths) > 0
	f := lib.unknown_finding("PHI-LOG-002", s.urn, "the log buffer", paths)
} | {f |
	ctx.handles_phi
	some s in lib.components(ctx, "AuditLogShipping")
	count(lib.unknown_props(s, ["buffer", "buffer_max_size"])) == 0
	not _log2_disk_buffer(s.inputs)
	f := lib.finding("PHI-LOG-002", s.urn, "the log forwarder does not buffer on disk with a maximum size (buffer: disk, buffer_max_size): audit records are lost when the SIEM is unreachable")
}

_log2_disk_buffer(p) if {
	p.buffer == "disk"
	lib.non_empty_string(p.buffer_max_size)
}
