# METADATA
# title: Cloud clusters keep their control plane private
# description: 'In a stack that handles PHI, the Kubernetes API of a cloud cluster is reachable only from private
#   networks. GKE: every Cluster has privateClusterConfig.enablePrivateNodes and enablePrivateEndpoint true,
#   masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled and controlPlaneEndpointsConfig.dnsEndpointConfig.allowExternalTraffic
#   not true, and no masterAuthorizedNetworksConfig.cidrBlocks entry wider than the largest private block (/8 for
#   IPv4, /7 for IPv6: 0.0.0.0/0, ::/0 or the two halves of the internet deny). AKS: every ManagedCluster has
#   apiServerAccessProfile.enablePrivateCluster true and no apiServerAccessProfile.authorizedIPRanges entry that
#   wide. A missing setting denies; an unknown one denies as unknown.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(1)
#   description: '45 CFR 164.312(a)(1) Access control: Implement technical policies and procedures for electronic
#     information systems that maintain electronic protected health information to allow access only to
#     those persons or software programs that have been granted access rights as specified in § 164.308(a)(4).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(e)(1)
#   description: '45 CFR 164.312(e)(1) Transmission security: Implement technical security measures to guard
#     against unauthorized access to electronic protected health information that is being transmitted over
#     an electronic communications network.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(B)
#   description: '45 CFR 164.308(a)(1)(ii)(B) Risk management (Required): Implement security measures sufficient
#     to reduce risks and vulnerabilities to a reasonable and appropriate level to comply with § 164.306(a).'
# custom:
#   id: PHI-CLOUD-002
#   severity: critical
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(a)(1)
#     title: Access control
#     type: required
#   - cfr: 45 CFR 164.312(e)(1)
#     title: Transmission security
#     type: required
#   - cfr: 45 CFR 164.308(a)(1)(ii)(B)
#     title: Risk management
#     type: required
#   remediation: Keep the cloud backend's private_endpoint (gke) or private_cluster (aks) true, reach the API server
#     from the hospital network through the VPC or a bastion, and list only narrow private ranges as authorized
#     networks.
package phistack.rules.cloud.phi_cloud_002

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
}

_as_finding(x) := lib.unknown_finding("PHI-CLOUD-002", x.urn, x.what, x.paths) if {
	x.paths
} else := lib.finding("PHI-CLOUD-002", x.urn, x.msg)

_results(ctx) := array.concat(
	[x |
		some c in lib.of_type(ctx, "gcp:container/cluster:Cluster")
		some x in _gke_results(c)
	],
	[x |
		some m in lib.of_type(ctx, "azure-native:containerservice:ManagedCluster")
		some x in _aks_results(m)
	],
)

_gke_results(c) := array.concat(
	lib.cloud_checks(c, c.inputs, "", [
		{"path": ["privateClusterConfig", "enablePrivateNodes"], "want": "true"},
		{"path": ["privateClusterConfig", "enablePrivateEndpoint"], "want": "true"},
		{"path": ["masterAuthorizedNetworksConfig", "gcpPublicCidrsAccessEnabled"], "want": "not true"},
		{"path": ["controlPlaneEndpointsConfig", "dnsEndpointConfig", "allowExternalTraffic"], "want": "not true"},
	]),
	_ranges(c, "masterAuthorizedNetworksConfig.cidrBlocks", object.get(c.inputs, ["masterAuthorizedNetworksConfig", "cidrBlocks"], []), ".cidrBlock"),
)

_aks_results(m) := array.concat(
	lib.cloud_checks(m, m.inputs, "", [{"path": ["apiServerAccessProfile", "enablePrivateCluster"], "want": "true"}]),
	_ranges(m, "apiServerAccessProfile.authorizedIPRanges", object.get(m.inputs, ["apiServerAccessProfile", "authorizedIPRanges"], []), ""),
)

# Authorized ranges at `path`: each entry a CIDR string (suffix "") or an object whose cidrBlock is one
# (suffix ".cidrBlock"). An unknown list or entry is unknown; a malformed or too wide one denies.
_ranges(r, path, items, suffix) := [{"urn": r.urn, "label": lib.cloud_label(r), "path": path, "unknown": true}] if {
	lib.is_unknown(items)
} else := [x |
	is_array(items)
	label := lib.cloud_label(r)
	some i
	item := items[i]
	entry := concat("", [path, "[", format_int(i, 10), "]", suffix])
	problem := _range_problem(_range_cidr(item, suffix))
	count(problem) > 0
	x := object.union(problem, {"urn": r.urn, "label": label, "path": entry})
]

_range_cidr(item, suffix) := object.get(item, "cidrBlock", null) if {
	suffix != ""
	is_object(item)
} else := item if {
	suffix == ""
} else := null

_range_problem(cidr) := {"unknown": true} if {
	lib.is_unknown(cidr)
} else := {"problem": "is not a CIDR block"} if {
	not _is_cidr(cidr)
} else := {"problem": concat("", ["is ", cidr, ", wider than the largest private block (/8 for IPv4, /7 for IPv6), so it lets the internet reach the API server"])} if {
	_too_wide(cidr)
} else := {}

_is_cidr(cidr) if {
	is_string(cidr)
	regex.match(`^[0-9A-Fa-f.:]+/[0-9]{1,3}$`, cidr)
}

_too_wide(cidr) if {
	parts := split(cidr, "/")
	not contains(parts[0], ":")
	to_number(parts[1]) < 8
}

_too_wide(cidr) if {
	parts := split(cidr, "/")
	contains(parts[0], ":")
	to_number(parts[1]) < 7
}
