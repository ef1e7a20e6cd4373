# METADATA
# title: Storage is AES-256 encrypted under a customer-managed key
# description: In a stack that handles PHI, every StorageClass uses a provisioner listed in policies/data/storage_encryption.json
#   (all encrypt with AES-256) with the parameters that turn encryption on and name a customer-managed key,
#   and every PersistentVolumeClaim names a StorageClass declared in the plan (the cluster default cannot
#   be verified). An unknown provisioner, encryption off, a provider-managed key or an undeclared class
#   denies.
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(2)(iv)
#   description: '45 CFR 164.312(a)(2)(iv) Encryption and decryption (Addressable): Implement a mechanism
#     to encrypt and decrypt electronic protected health information.'
# custom:
#   id: PHI-ENC-001
#   severity: critical
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(a)(2)(iv)
#     title: Encryption and decryption
#     type: addressable
#   remediation: Create volumes through EncryptedStorage with encrypted true and kms_key set to a customer-managed
#     key, and name its storage_class_name on every PersistentVolumeClaim.
package phistack.rules.encryption.phi_enc_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	some sc in lib.of_type(ctx, "kubernetes:storage.k8s.io/v1:StorageClass")
	paths := _unknown(sc)
	count(paths) > 0
	f := lib.unknown_finding("PHI-ENC-001", sc.urn, "the encryption parameters", paths)
} | {f |
	ctx.handles_phi
	some sc in lib.of_type(ctx, "kubernetes:storage.k8s.io/v1:StorageClass")
	count(_unknown(sc)) == 0
	msg := _problem(sc)
	f := lib.finding("PHI-ENC-001", sc.urn, concat("", ["StorageClass ", lib.name_of(sc), " ", msg]))
} | {f |
	ctx.handles_phi
	some pvc in lib.of_type(ctx, "kubernetes:core/v1:PersistentVolumeClaim")
	class := object.get(pvc.inputs, ["spec", "storageClassName"], "")
	not lib.is_unknown(class)
	not class in ctx.storage_class_names
	f := lib.finding("PHI-ENC-001", pvc.urn, concat("", ["PersistentVolumeClaim ", lib.name_of(pvc), " uses a StorageClass that the plan does not declare, so its encryption cannot be verified"]))
} | {f |
	ctx.handles_phi
	some pvc in lib.of_type(ctx, "kubernetes:core/v1:PersistentVolumeClaim")
	lib.is_unknown(object.get(pvc.inputs, ["spec", "storageClassName"], ""))
	f := lib.unknown_finding("PHI-ENC-001", pvc.urn, "the StorageClass", ["spec.storageClassName"])
}

_providers := data.storage_encryption.provisioners

_unknown(sc) := array.concat([path |
	some key in ["provisioner", "parameters"]
	path := lib.unknown_path(sc.inputs, [key])
], [path |
	params := object.get(sc.inputs, "parameters", {})
	is_object(params)
	some key
	value := params[key] # bound first: regopy does not pass params[key] to a function here
	lib.is_unknown(value)
	path := concat("", ["parameters.", key])
])

_problem(sc) := "uses a provisioner with no known AES-256 customer-managed-key encryption" if {
	not _providers[object.get(sc.inputs, "provisioner", "")]
} else := "does not turn on encryption with a customer-managed key" if {
	rule := _providers[sc.inputs.provisioner]
	not _encrypted(object.get(sc.inputs, "parameters", {}), rule)
}

_encrypted(params, rule) if {
	every key, value in rule.equals {
		params[key] == value
	}
	lib.non_empty_string(object.get(params, rule.key_parameter, ""))
}
