# METADATA
# title: Human access goes through an MFA-enforcing identity provider
# description: 'In a stack that handles PHI, every ConfidentialGpuCluster declares the identity provider
#   people sign in through (identity_provider: an https issuer with mfa_required true), so each person is
#   uniquely identified and authenticated with more than a password. No cluster, a missing provider, a plain-HTTP
#   issuer or MFA not required denies.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(d)
#   description: '45 CFR 164.312(d) Person or entity authentication: Implement procedures to verify that
#     a person or entity seeking access to electronic protected health information is the one claimed.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(2)(i)
#   description: '45 CFR 164.312(a)(2)(i) Unique user identification (Required): Assign a unique name and/or
#     number for identifying and tracking user identity.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(1)
#   description: '45 CFR 164.312(a)(1) Access control: Implement technical policies and procedures for electronic
#     information systems that maintain electronic protected health information to allow access only to
#     those persons or software programs that have been granted access rights as specified in § 164.308(a)(4).'
# custom:
#   id: PHI-IAM-003
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(d)
#     title: Person or entity authentication
#     type: required
#   - cfr: 45 CFR 164.312(a)(2)(i)
#     title: Unique user identification
#     type: required
#   - cfr: 45 CFR 164.312(a)(1)
#     title: Access control
#     type: required
#   remediation: 'Set ConfidentialGpuCluster.identity_provider to {issuer: https://<OIDC issuer>, mfa_required:
#     true} and configure the API server''s OIDC authentication against it.'
package phistack.rules.access.phi_iam_003

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	count(lib.components(ctx, "ConfidentialGpuCluster")) == 0
	f := lib.finding("PHI-IAM-003", ctx.stack_urn, "the stack handles PHI but declares no ConfidentialGpuCluster, so no MFA-enforcing identity provider governs human access")
} | {f |
	ctx.handles_phi
	some cluster in lib.components(ctx, "ConfidentialGpuCluster")
	paths := [p |
		some key in [["identity_provider"], ["identity_provider", "issuer"], ["identity_provider", "mfa_required"]]
		p := lib.unknown_path(cluster.inputs, key)
	]
	count(paths) > 0
	f := lib.unknown_finding("PHI-IAM-003", cluster.urn, "the identity provider", [paths[0]])
} | {f |
	ctx.handles_phi
	some cluster in lib.components(ctx, "ConfidentialGpuCluster")
	not lib.unknown_path(cluster.inputs, ["identity_provider"])
	not lib.unknown_path(cluster.inputs, ["identity_provider", "issuer"])
	not lib.unknown_path(cluster.inputs, ["identity_provider", "mfa_required"])
	not _mfa(object.get(cluster.inputs, "identity_provider", {}))
	f := lib.finding("PHI-IAM-003", cluster.urn, "the cluster declares no identity provider with an https issuer and mfa_required: true for human access")
}

_mfa(idp) if {
	is_object(idp)
	startswith(object.get(idp, "issuer", ""), "https://")
	idp.mfa_required == true
}
