# METADATA
# title: Cloud clusters admit no local or legacy credentials
# description: 'In a stack that handles PHI, people and workloads reach a cloud cluster only through the cloud''s
#   identity provider. GKE: every Cluster has enableLegacyAbac and masterAuth.clientCertificateConfig.issueClientCertificate
#   not true, no masterAuth.username or masterAuth.password (basic authentication), and workloadIdentityConfig.workloadPool
#   set to a pool ending in .svc.id.goog; every node configuration (NodePool nodeConfig, the Cluster''s nodeConfig when
#   given or while the default pool is kept, each inline nodePools entry) has workloadMetadataConfig.mode GKE_METADATA,
#   so pods never see the node''s credentials. AKS: every ManagedCluster has disableLocalAccounts true, aadProfile.managed
#   and aadProfile.enableAzureRBAC true, a non-empty aadProfile.adminGroupObjectIDs, an aadProfile.tenantID, and enableRBAC not false.
#   The identity provider the ConfidentialGpuCluster declares (whose MFA PHI-IAM-003 checks) must be the one the
#   cloud cluster trusts, https://accounts.google.com for GKE and https://login.microsoftonline.com/<tenantID> for
#   AKS, or the declared MFA guards nothing the cluster accepts. That
#   people sign in with MFA is PHI-IAM-003''s (the ConfidentialGpuCluster identity_provider, whatever its backend). A
#   missing setting denies; an unknown one denies as unknown.'
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
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(4)(ii)(B)
#   description: '45 CFR 164.308(a)(4)(ii)(B) Access authorization (Addressable): Implement policies and procedures
#     for granting access to electronic protected health information, for example, through access to a workstation,
#     transaction, program, process, or other mechanism.'
# custom:
#   id: PHI-CLOUD-003
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
#   - cfr: 45 CFR 164.308(a)(4)(ii)(B)
#     title: Access authorization
#     type: addressable
#   remediation: 'Keep the backend defaults (gke: Workload Identity, GKE metadata server, no client certificate, no
#     legacy ABAC; aks: disable_local_accounts, managed Entra ID with Azure RBAC and admin_group_object_ids) and
#     grant people access through the identity provider''s groups.'
package phistack.rules.cloud.phi_cloud_003

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	some x in lib.cloud_report(_results(ctx))
	f := _as_finding(x)
} | {f |
	ctx.handles_phi
	some f in _issuer_findings(ctx)
}

# People sign in to a cloud cluster through the cloud's identity provider (Entra ID for AKS, Google for GKE):
# the identity provider a ConfidentialGpuCluster declares, whose MFA PHI-IAM-003 checks, must be that one,
# or the MFA it declares guards nothing the cluster trusts.
_issuer_findings(ctx) := {f |
	some c in lib.components(ctx, "ConfidentialGpuCluster")
	issuer := object.get(c.inputs, ["identity_provider", "issuer"], null)
	is_string(issuer)
	some signin in _cloud_signins(ctx)
	not _same_issuer(issuer, signin.issuer)
	f := lib.finding("PHI-CLOUD-003", c.urn, concat("", [
		"ConfidentialGpuCluster ", c.name, " declares identity provider ", issuer, ", but people sign in to ",
		signin.what, " through ", signin.issuer, ": the MFA it declares does not guard the cluster",
	]))
}

_cloud_signins(ctx) := array.concat(
	[s |
		some m in lib.of_type(ctx, "azure-native:containerservice:ManagedCluster")
		tenant := object.get(m.inputs, ["aadProfile", "tenantID"], null)
		is_string(tenant)
		s := {"what": lib.cloud_label(m), "issuer": concat("", ["https://login.microsoftonline.com/", lower(tenant)])}
	],
	[s |
		some c in lib.of_type(ctx, "gcp:container/cluster:Cluster")
		s := {"what": lib.cloud_label(c), "issuer": "https://accounts.google.com"}
	],
)

# The issuer itself, or a path under it (Entra's /v2.0).
_same_issuer(issuer, want) if lower(trim_suffix(issuer, "/")) == want

_same_issuer(issuer, want) if startswith(lower(issuer), concat("", [want, "/"]))

_as_finding(x) := lib.unknown_finding("PHI-CLOUD-003", x.urn, x.what, x.paths) if {
	x.paths
} else := lib.finding("PHI-CLOUD-003", x.urn, x.msg)

_results(ctx) := array.concat(
	array.concat(
		[x |
			some c in lib.of_type(ctx, "gcp:container/cluster:Cluster")
			some x in _gke_results(c)
		],
		[x |
			some p in lib.of_type(ctx, "gcp:container/nodePool:NodePool")
			some x in lib.cloud_checks(p, p.inputs, "", [{"path": ["nodeConfig", "workloadMetadataConfig", "mode"], "want": {"equals": "GKE_METADATA"}}])
		],
	),
	[x |
		some m in lib.of_type(ctx, "azure-native:containerservice:ManagedCluster")
		some x in lib.cloud_checks(m, m.inputs, "", _aks_specs)
	],
)

_gke_results(c) := array.concat(
	lib.cloud_checks(c, c.inputs, "", [
		{"path": ["enableLegacyAbac"], "want": "not true"},
		{"path": ["masterAuth", "username"], "want": "unset"},
		{"path": ["masterAuth", "password"], "want": "unset"},
		{"path": ["masterAuth", "clientCertificateConfig", "issueClientCertificate"], "want": "not true"},
		{"path": ["workloadIdentityConfig", "workloadPool"], "want": {"suffix": ".svc.id.goog"}},
	]),
	[x |
		some e in lib.gke_node_configs(c)
		some x in lib.cloud_checks(c, e.config, e.path, [{"path": ["workloadMetadataConfig", "mode"], "want": {"equals": "GKE_METADATA"}}])
	],
)

_aks_specs := [
	{"path": ["disableLocalAccounts"], "want": "true"},
	{"path": ["aadProfile", "managed"], "want": "true"},
	{"path": ["aadProfile", "enableAzureRBAC"], "want": "true"},
	{"path": ["aadProfile", "adminGroupObjectIDs"], "want": "nonempty"},
	# The tenant people sign in through, matched against the declared identity provider.
	{"path": ["aadProfile", "tenantID"], "want": "set"},
	{"path": ["enableRBAC"], "want": "not false"},
]
