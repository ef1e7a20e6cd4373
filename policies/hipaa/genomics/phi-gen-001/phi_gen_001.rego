# METADATA
# title: Genetic-data workloads declare their purpose
# description: 'Every AttestedWorkload that processes genetic data declares the purpose it is limited to
#   (purpose: a non-empty statement, e.g. the research protocol or clinical indication), so use of genetic
#   information can be checked against the permitted purposes and never drift to prohibited ones such as
#   underwriting. A missing or empty purpose denies.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-E/section-164.502#p-164.502(a)(5)(i)
#   description: '45 CFR 164.502(a)(5)(i) Use and disclosure of genetic information for underwriting purposes:
#     Notwithstanding any other provision of this subpart, a health plan, excluding an issuer of a long-term
#     care policy falling within paragraph (1)(viii) of the definition of health plan, shall not use or
#     disclose protected health information that is genetic information for underwriting purposes.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-E/section-164.502#p-164.502(b)(1)
#   description: '45 CFR 164.502(b)(1) Minimum necessary applies: When using or disclosing protected health
#     information or when requesting protected health information from another covered entity or business
#     associate, a covered entity or business associate must make reasonable efforts to limit protected
#     health information to the minimum necessary to accomplish the intended purpose of the use, disclosure,
#     or request.'
# custom:
#   id: PHI-GEN-001
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.502(a)(5)(i)
#     title: Use and disclosure of genetic information for underwriting purposes
#     type: required
#   - cfr: 45 CFR 164.502(b)(1)
#     title: Minimum necessary
#     type: required
#   remediation: Set AttestedWorkload.purpose to the permitted use (protocol or indication) of the genetic
#     data.
package phistack.rules.genomics.phi_gen_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some w in lib.components(ctx, "AttestedWorkload")
	lib.is_genetic(ctx, w)
	lib.is_unknown(object.get(w.inputs, "purpose", ""))
	f := lib.unknown_finding("PHI-GEN-001", w.urn, "the purpose of use", ["purpose"])
} | {f |
	some w in lib.components(ctx, "AttestedWorkload")
	lib.is_genetic(ctx, w)
	purpose := object.get(w.inputs, "purpose", "")
	not lib.is_unknown(purpose)
	not lib.non_empty_string(purpose)
	f := lib.finding("PHI-GEN-001", w.urn, concat("", ["genetic-data workload ", w.name, " declares no purpose limitation (purpose)"]))
}
