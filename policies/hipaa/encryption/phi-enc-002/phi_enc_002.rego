# METADATA
# title: No node-disk scratch volumes for PHI
# description: 'No PHI or genetic pod workload mounts a hostPath volume (node disk, outside any encryption
#   the platform controls and shared with the host) or a disk-backed emptyDir (unencrypted node scratch
#   space that outlives the process). An emptyDir with medium Memory is allowed: under a confidential-computing
#   runtime class it lives in the TEE''s encrypted guest memory.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(2)(iv)
#   description: '45 CFR 164.312(a)(2)(iv) Encryption and decryption (Addressable): Implement a mechanism
#     to encrypt and decrypt electronic protected health information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.310#p-164.310(d)(2)(iii)
#   description: '45 CFR 164.310(d)(2)(iii) Accountability (Addressable): Maintain a record of the movements
#     of hardware and electronic media and any person responsible therefore.'
# custom:
#   id: PHI-ENC-002
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(a)(2)(iv)
#     title: Encryption and decryption
#     type: addressable
#   - cfr: 45 CFR 164.310(d)(2)(iii)
#     title: Accountability
#     type: addressable
#   remediation: 'Use PersistentVolumeClaims from EncryptedStorage for PHI, or emptyDir with medium: Memory
#     for scratch space; remove hostPath volumes.'
package phistack.rules.encryption.phi_enc_002

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some w in ctx.phi_workloads
	path := lib.unknown_path(w.inputs, array.concat(lib.pod_spec_path(w), ["volumes"]))
	f := lib.unknown_finding("PHI-ENC-002", w.urn, "the pod volumes", [path])
} | {f |
	some w in ctx.phi_workloads
	volumes := object.get(lib.pod_spec(w), "volumes", [])
	is_array(volumes)
	some v in volumes
	msg := _problem(v)
	f := lib.finding("PHI-ENC-002", w.urn, concat("", ["PHI workload ", lib.name_of(w), " volume ", object.get(v, "name", "?"), " ", msg]))
}

_problem(v) := "is a hostPath on the node's disk" if {
	v.hostPath
} else := "is a disk-backed emptyDir (unencrypted node scratch space); use medium: Memory or an encrypted PVC" if {
	v.emptyDir
	object.get(v.emptyDir, "medium", "") != "Memory"
}
