# METADATA
# title: De-identified workloads and storage name a dataset whose signed manifest verifies
# description: 'A workload or storage classified deidentified (an AttestedWorkload''s or EncryptedStorage''s
#   data_classification, or a pod workload''s classification label or namespace) must name the dataset it
#   processes or holds (the component''s dataset, pod label phistack.io/dataset), and that dataset must have a
#   de-identification manifest (phistack.deid-manifest/v1) that phistack verified at check time: signed by a
#   signer the policy set trusts (policies/data/deid_signers.json) for the manifest''s method, unaltered, and
#   made for that dataset. The verification results reach the rules as input.deid, outside the plan, so a plan cannot
#   claim them. Otherwise it denies with the reason, and the workload or storage counts as PHI for every other
#   rule.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-E/section-164.514#p-164.514(a)
#   description: '45 CFR 164.514(a) Standard: De-identification of protected health information. Health
#     information that does not identify an individual and with respect to which there is no reasonable basis
#     to believe that the information can be used to identify an individual is not individually identifiable
#     health information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-E/section-164.514#p-164.514(b)
#   description: '45 CFR 164.514(b) Implementation specifications: Requirements for de-identification of
#     protected health information. A covered entity may determine that health information is not
#     individually identifiable health information only if (1) a qualified expert determines the risk of
#     re-identification is very small (expert determination) or (2) the listed identifiers are removed and
#     the covered entity has no actual knowledge that the rest could identify an individual (safe harbor).'
# custom:
#   id: PHI-DEID-001
#   severity: critical
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.514(a)
#     title: De-identification of protected health information
#     type: required
#   - cfr: 45 CFR 164.514(b)
#     title: Implementation specifications for de-identification
#     type: required
#   remediation: De-identify the data with phistack deid dicom or phistack deid table, signed with a key listed
#     in policies/data/deid_signers.json for that method; list the dataset and its manifest under
#     phistack:datasets and name it in the workload's dataset. Otherwise classify the workload phi.
package phistack.rules.deidentification.phi_deid_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input): AttestedWorkloads and
# EncryptedStorage that declare deidentified, and pod workloads classified deidentified that no AttestedWorkload owns (its
# component carries the finding).
findings(ctx) := {f |
	some kind in ["AttestedWorkload", "EncryptedStorage"]
	some r in lib.components(ctx, kind)
	object.get(r.inputs, "data_classification", null) == "deidentified"
	f := _finding(ctx, r)
} | {f |
	some r in ctx.resources
	lib.is_pod_workload(r)
	"deidentified" in lib.classes_of(ctx, r)
	not _owned(ctx, r)
	f := _finding(ctx, r)
}

_owned(ctx, r) if {
	some a in lib.ancestors(ctx, r)
	lib.component_kind(ctx.by_urn[a]) == "AttestedWorkload"
}

_finding(ctx, r) := lib.finding("PHI-DEID-001", r.urn, concat("", [_what(r), " names no dataset: without a verified de-identification manifest its data is treated as PHI"])) if {
	not is_string(lib.dataset_of(r))
} else := lib.finding("PHI-DEID-001", r.urn, concat("", [_what(r), " names dataset ", lib.dataset_of(r), ", which has no verified de-identification manifest: list it under phistack:datasets with its signed manifest"])) if {
	not lib.deid_result(ctx.deid, lib.dataset_of(r))
} else := lib.finding("PHI-DEID-001", r.urn, concat("", [_what(r), " names dataset ", lib.dataset_of(r), ", whose de-identification manifest is not valid: ", _manifest_reason(lib.deid_result(ctx.deid, lib.dataset_of(r)))])) if {
	not lib.deid_verified(ctx.deid, lib.dataset_of(r))
}

_what(r) := concat("", [_noun(r), " ", lib.name_of(r), " is classified deidentified but"]) if {
	not is_string(lib.dataset_of(r))
} else := concat("", [_noun(r), " ", lib.name_of(r), " is classified deidentified and"])

_noun(r) := "storage" if lib.component_kind(r) == "EncryptedStorage"

else := "workload"

_manifest_reason(result) := result.reason if {
	is_string(result.reason)
	result.reason != ""
} else := "it did not verify"
