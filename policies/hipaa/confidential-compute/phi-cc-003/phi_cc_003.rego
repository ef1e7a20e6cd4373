# METADATA
# title: PHI data keys are released only after attestation
# description: Every PHI or genetic pod workload runs the runtime with a key broker (PHISTACK_KEY_BROKER_URL,
#   an https URL) and a referenced attestation policy (PHISTACK_ATTESTATION_POLICY) in the same container,
#   so the data key is released only after the broker appraises the CPU and GPU attestation evidence. A
#   missing broker, a plain-HTTP broker or a missing policy denies.
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(2)(iv)
#   description: '45 CFR 164.312(a)(2)(iv) Encryption and decryption (Addressable): Implement a mechanism
#     to encrypt and decrypt electronic protected health information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(d)
#   description: '45 CFR 164.312(d) Person or entity authentication: Implement procedures to verify that
#     a person or entity seeking access to electronic protected health information is the one claimed.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(B)
#   description: '45 CFR 164.308(a)(1)(ii)(B) Risk management (Required): Implement security measures sufficient
#     to reduce risks and vulnerabilities to a reasonable and appropriate level to comply with § 164.306(a).'
# custom:
#   id: PHI-CC-003
#   severity: critical
#   enforcement: mandatory
#   unwaivable: true
#   citations:
#   - cfr: 45 CFR 164.312(a)(2)(iv)
#     title: Encryption and decryption
#     type: addressable
#   - cfr: 45 CFR 164.312(d)
#     title: Person or entity authentication
#     type: required
#   - cfr: 45 CFR 164.308(a)(1)(ii)(B)
#     title: Risk management
#     type: required
#   remediation: 'Set AttestedWorkload.key_broker to {url: https://<broker>, key_id, attestation_policy}
#     so the runtime fetches its data key only after attestation.'
package phistack.rules.confidential_compute.phi_cc_003

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some w in ctx.phi_workloads
	f := _finding(w, _effective(ctx, w))
}

# Per container of `w`, the effective definition of each name this rule reads, worked out once and handed
# on: the unknown check and the gate check read the same definitions (an engine evaluates a function again
# at each call). The environment is the effective one: envFrom sources, then env entries, the last
# definition winning.
_effective(ctx, w) := [defs |
	some c in lib.containers(w)
	defs := {name: d | some name in _names; d := lib.effective_env(ctx, c, w, name)}
]

# One pass per workload: unknown values fail closed, else an ungated data key denies.
_finding(w, effective) := lib.unknown_finding("PHI-CC-003", w.urn, "the key broker or attestation policy", lib.sorted(paths)) if {
	paths := {d.unknown | some defs in effective; some d in defs; d.unknown}
	count(paths) > 0
} else := f if {
	not _gated(effective)
	f := lib.finding("PHI-CC-003", w.urn, concat("", ["PHI workload ", lib.name_of(w), " does not gate its data key on attestation: no container's effective environment sets PHISTACK_KEY_BROKER_URL to an https URL together with a non-empty PHISTACK_ATTESTATION_POLICY"]))
}

_names := {"PHISTACK_KEY_BROKER_URL", "PHISTACK_ATTESTATION_POLICY"}

_gated(effective) if {
	some defs in effective
	url := defs.PHISTACK_KEY_BROKER_URL.value
	is_string(url)
	regex.match(`^https://[^/\s?#@]+`, url)
	lib.non_empty_string(defs.PHISTACK_ATTESTATION_POLICY.value)
}
