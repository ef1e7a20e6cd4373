# METADATA
# title: Log shipping buffers on disk
# description: Every log forwarder of a stack that handles PHI (the Fluent Bit DaemonSets PHI-LOG-001 reads)
#   buffers on disk, so audit records survive a SIEM outage or a forwarder restart instead of being dropped
#   from memory. Its loaded configuration is judged - every input has storage.type filesystem, a rewrite_tag
#   filter that drops the original record re-emits through a filesystem emitter, service storage.path is
#   set on a writable hostPath volume of the forwarder (not the container's own filesystem, not an
#   emptyDir), and every output has storage.total_limit_size and retry_limit no_limits (or false or off,
#   Fluent Bit's words for unlimited) - a bounded retry count drops records. A configuration the gate cannot
#   read denies. The declared buffer props are a cross-check - a memory buffer denies too. Unknown values
#   fail closed.
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
#     expected SIEM outage, and do not edit the forwarder's ConfigMap or DaemonSet by hand.
package phistack.rules.logging.phi_log_002

import rego.v1

import data.phistack.lib.hipaa as lib
import data.phistack.rules.logging.phi_log_001 as log1

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	some s in lib.components(ctx, "AuditLogShipping")
	f := _declared_finding(s)
} | {f |
	ctx.handles_phi
	some fw in log1.forwarders(ctx)
	f := _forwarder_finding(fw)
}

# Declared settings: a cross-check of the component, never the only evidence.
_declared_finding(s) := lib.unknown_finding("PHI-LOG-002", s.urn, "the log buffer", paths) if {
	paths := lib.unknown_props(s, ["buffer", "buffer_max_size"])
	count(paths) > 0
} else := lib.finding("PHI-LOG-002", s.urn, "the log forwarder is not declared to buffer on disk with a maximum size (buffer: disk, buffer_max_size): audit records are lost when the SIEM is unreachable") if {
	not _disk_buffer(s.inputs)
}

_disk_buffer(p) if {
	p.buffer == "disk"
	lib.non_empty_string(p.buffer_max_size)
}

_forwarder_finding(fw) := lib.unknown_finding("PHI-LOG-002", fw.launch.unknown.urn, "the log forwarder's buffering", fw.launch.unknown.paths) if {
	fw.launch.unknown
} else := lib.finding("PHI-LOG-002", fw.resource.urn, concat("", ["log forwarder ", _display(fw.resource), " loads a configuration the gate cannot read, so its disk buffering cannot be verified: ", concat("; ", lib.sorted(problems))])) if {
	problems := {p | some p in fw.launch.problems}
	count(problems) > 0
} else := lib.finding("PHI-LOG-002", fw.resource.urn, concat("", ["log forwarder ", _display(fw.resource), " does not buffer audit records on disk: ", concat("; ", lib.sorted(problems))])) if {
	problems := _buffer_problems(fw)
	count(problems) > 0
}

_display(r) := concat("/", [lib.namespace_of(r), lib.name_of(r)])

_buffer_problems(fw) := (_input_problems(fw.launch.config) | _storage_path_problems(fw)) | _output_buffer_problems(fw.launch.config)

_input_problems(cfg) := {m |
	some i
	x := cfg.inputs[i]
	log1.fluent_string(x, "storage.type") != "filesystem"
	m := concat("", ["input[", format_int(i, 10), "] (", log1.fluent_string(x, "name"), ") buffers in memory (storage.type is not filesystem)"])
} | {m |
	some i
	f := cfg.filters[i]
	log1.fluent_string(f, "name") == "rewrite_tag"
	not _keeps_originals(f)
	log1.fluent_string(f, "emitter_storage.type") != "filesystem"
	m := concat("", ["filter[", format_int(i, 10), "] (rewrite_tag) moves records into an in-memory emitter (emitter_storage.type is not filesystem)"])
}

# Every rule of a rewrite_tag filter keeps the original record (its last word is true), which stays
# in the input's buffer.
_keeps_originals(f) if {
	rules := _rules(f)
	count(rules) > 0
	every rule in rules {
		is_string(rule)
		parts := regex.split(`[ \t]+`, trim_space(rule))
		lower(parts[count(parts) - 1]) == "true"
	}
}

_rules(f) := [f.rule] if is_string(f.rule)

else := f.rule if is_array(f.rule)

else := []

# Filesystem buffering writes its chunks under service.storage.path: a writable hostPath of the
# forwarder keeps them across restarts (the container's own filesystem is read-only or lost with it).
_storage_path_problems(fw) := {"service.storage.path is not set"} if {
	not lib.non_empty_string(object.get(fw.launch.config.service, "storage.path", null))
} else := {"service.storage.path is not a plain absolute path"} if {
	not log1.plain_path(fw.launch.config.service["storage.path"])
} else := set() if {
	log1.host_path(fw.resource, fw.launch.container, fw.launch.config.service["storage.path"]).writable
} else := {concat("", ["service.storage.path ", fw.launch.config.service["storage.path"], " is not on a writable hostPath volume of the forwarder, so the buffer does not survive the pod"])}

_output_buffer_problems(cfg) := {m |
	some i
	o := cfg.outputs[i]
	not _total_limit(object.get(o, "storage.total_limit_size", null))
	m := concat("", ["output[", format_int(i, 10), "] (", log1.fluent_string(o, "name"), ") has no storage.total_limit_size"])
} | {m |
	some i
	o := cfg.outputs[i]
	not _unlimited_retries(object.get(o, "retry_limit", null))
	m := concat("", ["output[", format_int(i, 10), "] (", log1.fluent_string(o, "name"), ") retry_limit is not no_limits or false: records are dropped after bounded retries"])
}

# A Fluent Bit size (10G, 512M, 1.5GB, ...) or a positive number of bytes.
_total_limit(v) if {
	is_string(v)
	regex.match(`^[1-9][0-9]*(\.[0-9]+)? ?[kmgt]?b?$`, lower(trim_space(v)))
}

_total_limit(v) if {
	is_number(v)
	v > 0
}

# Fluent Bit reads no_limits, false and off (any case) as unlimited retries (flb_output.c); a number
# or no_retries drops records.
_unlimited_retries(v) if v == false

_unlimited_retries(v) if {
	is_string(v)
	lower(trim_space(v)) in {"no_limits", "false", "off"}
}
