# METADATA
# title: Medical-device workloads carry model provenance
# description: 'Every AttestedWorkload marked as software as a medical device (samd: true) carries its model''s
#   provenance: the sha256 digest of the model, the sha256 digest of the training-data manifest and a reference
#   to the evaluation report, so the model that runs is the model that was validated. A missing or malformed
#   field denies; an unknown one fails closed.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(c)(1)
#   description: '45 CFR 164.312(c)(1) Integrity: Implement policies and procedures to protect electronic
#     protected health information from improper alteration or destruction.'
# - ref: https://www.ecfr.gov/current/title-21/chapter-I/subchapter-H/part-820/subpart-B/section-820.10
#   description: '21 CFR 820.10: requirements for a quality management system, incorporating ISO 13485:2016
#     by reference, including design and development verification, validation and change control (clause
#     7.3).'
# custom:
#   id: PHI-SAMD-001
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(c)(1)
#     title: Integrity
#     type: required
#   - cfr: 21 CFR 820.10
#     title: Requirements for a quality management system (design and development controls, ISO 13485:2016
#       clause 7.3)
#     type: required
#   remediation: 'Set AttestedWorkload.model_provenance to {model_digest: sha256:..., training_data_manifest_digest:
#     sha256:..., evaluation_report: <document reference>}.'
package phistack.rules.samd.phi_samd_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some w in ctx.samd_workloads
	paths := [concat(".", p) |
		some p in [["model_provenance"], ["model_provenance", "model_digest"], ["model_provenance", "training_data_manifest_digest"], ["model_provenance", "evaluation_report"]]
		lib.is_unknown(object.get(w.inputs, p, null))
	]
	count(paths) > 0
	f := lib.unknown_finding("PHI-SAMD-001", w.urn, "the model provenance", paths)
} | {f |
	some w in ctx.samd_workloads
	provenance := object.get(w.inputs, "model_provenance", {})
	not lib.is_unknown(provenance)
	gaps := _gaps(provenance)
	count(gaps) > 0
	f := lib.finding("PHI-SAMD-001", w.urn, concat("", ["medical-device workload ", w.name, " lacks model provenance: ", concat(", ", gaps)]))
}

_gaps(p) := [gap |
	some check in [
		["model_digest", _has_digest(p, "model_digest")],
		["training_data_manifest_digest", _has_digest(p, "training_data_manifest_digest")],
		["evaluation_report", _has_text(p, "evaluation_report")],
	]
	check[1] == false
	gap := check[0]
]

_has_digest(p, key) := true if {
	is_object(p)
	value := object.get(p, key, "")
	is_string(value)
	lib.digest_ref(value)
} else := true if {
	is_object(p)
	lib.is_unknown(object.get(p, key, ""))
} else := false

_has_text(p, key) := true if {
	is_object(p)
	lib.non_empty_string(object.get(p, key, ""))
} else := true if {
	is_object(p)
	lib.is_unknown(object.get(p, key, ""))
} else := false
