# METADATA
# title: Audit logs ship to an external SIEM over TLS 1.3
# description: A stack that handles PHI declares AuditLogShipping, and every forwarder ships the Kubernetes
#   audit log and the phistack runtime's audit log to an external SIEM (not a cluster-internal or loopback
#   host) with syslog over TLS (RFC 5425) or HTTPS, TLS 1.3 as the minimum version and the SIEM's certificate
#   verified. No forwarder, a plaintext or TLS 1.2 transport, an unverified certificate, an internal host
#   or a missing audit source denies.
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(b)
#   description: '45 CFR 164.312(b) Audit controls: Implement hardware, software, and/or procedural mechanisms
#     that record and examine activity in information systems that contain or use electronic protected health
#     information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(D)
#   description: '45 CFR 164.308(a)(1)(ii)(D) Information system activity review (Required): Implement procedures
#     to regularly review records of information system activity, such as audit logs, access reports, and
#     security incident tracking reports.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(e)(1)
#   description: '45 CFR 164.312(e)(1) Transmission security: Implement technical security measures to guard
#     against unauthorized access to electronic protected health information that is being transmitted over
#     an electronic communications network.'
# custom:
#   id: PHI-LOG-001
#   severity: critical
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(b)
#     title: Audit controls
#     type: required
#   - cfr: 45 CFR 164.308(a)(1)(ii)(D)
#     title: Information system activity review
#     type: required
#   - cfr: 45 CFR 164.312(e)(1)
#     title: Transmission security
#     type: required
#   remediation: Add an AuditLogShipping component pointing at the organisation's SIEM with protocol syslog-tls
#     or https, min_tls_version "1.3", verify_certificate true and the kubernetes-audit and phistack-audit
#     sources.
package phistack.rules.phi_log_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	count(lib.components(ctx, "AuditLogShipping")) == 0
	f := lib.finding("PHI-LOG-001", ctx.stack_urn, "the stack handles PHI but declares no AuditLogShipping: audit logs do not reach the organisation's SIEM")
} | {f |
	ctx.handles_phi
	some s in lib.components(ctx, "AuditLogShipping")
	paths := lib.unknown_props(s, _log1_fields)
	count(paths) > 0
	f := lib.unknown_finding("PHI-LOG-001", s.urn, "the SIEM destination", paths)
} | {f |
	ctx.handles_phi
	some s in lib.components(ctx, "AuditLogShipping")
	count(lib.unknown_props(s, _log1_fields)) == 0
	problems := _log1_problems(s.inputs)
	count(problems) > 0
	f := lib.finding("PHI-LOG-001", s.urn, concat("", ["audit logs do not reach an external SIEM over TLS 1.3: ", concat("; ", lib.sorted(problems))]))
}

_log1_fields := ["siem_host", "protocol", "min_tls_version", "verify_certificate", "sources"]

_log1_problems(p) := {m | some m in [
	_log1_check(object.get(p, "protocol", "") in {"syslog-tls", "https"}, "protocol is not syslog-tls or https"),
	_log1_check(object.get(p, "min_tls_version", "") == "1.3", "min_tls_version is not 1.3"),
	_log1_check(object.get(p, "verify_certificate", false) == true, "the SIEM certificate is not verified"),
	_log1_check(_log1_external(object.get(p, "siem_host", "")), "siem_host is not an external host"),
	_log1_check("kubernetes-audit" in object.get(p, "sources", []), "the kubernetes-audit source is not shipped"),
	_log1_check("phistack-audit" in object.get(p, "sources", []), "the phistack-audit source is not shipped"),
]; m != ""}

_log1_check(ok, message) := "" if ok

else := message

# A boolean either way: an undefined argument would drop the whole list of checks.
_log1_external(host) := true if {
	lib.non_empty_string(host)
	not _log1_internal(host)
} else := false

_log1_internal(host) if endswith(host, ".svc")

_log1_internal(host) if endswith(host, ".cluster.local")

_log1_internal(host) if endswith(host, ".svc.cluster.local")

_log1_internal(host) if host in {"localhost", "127.0.0.1", "::1"}

_log1_internal(host) if startswith(host, "127.")
