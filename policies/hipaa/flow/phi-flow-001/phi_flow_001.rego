# METADATA
# title: The PHI mark reaches only resources that are classified and verifiable
# description: 'The PHI mark of a PHI or genetic workload flows along the plan: to the resources it depends
#   on (dependencies and property dependencies), to the PersistentVolumeClaims its pods mount and their
#   StorageClasses, up to its parent component and down to the children of every marked component, passing
#   only through resources that hold, serve or ship data (configuration objects such as Namespaces, Secrets,
#   RBAC and policies stop it). Every workload, storage, endpoint and log sink the mark reaches must be
#   one the other rules verify, and be classified accordingly: a reached workload classified none or deidentified,
#   reached storage labelled none or deidentified, or a reached resource of a type no HIPAA rule checks
#   denies.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(A)
#   description: '45 CFR 164.308(a)(1)(ii)(A) Risk analysis (Required): Conduct an accurate and thorough
#     assessment of the potential risks and vulnerabilities to the confidentiality, integrity, and availability
#     of electronic protected health information held by the covered entity or business associate.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(1)
#   description: '45 CFR 164.312(a)(1) Access control: Implement technical policies and procedures for electronic
#     information systems that maintain electronic protected health information to allow access only to
#     those persons or software programs that have been granted access rights as specified in § 164.308(a)(4).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(2)(iv)
#   description: '45 CFR 164.312(a)(2)(iv) Encryption and decryption (Addressable): Implement a mechanism
#     to encrypt and decrypt electronic protected health information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(e)(1)
#   description: '45 CFR 164.312(e)(1) Transmission security: Implement technical security measures to guard
#     against unauthorized access to electronic protected health information that is being transmitted over
#     an electronic communications network.'
# custom:
#   id: PHI-FLOW-001
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.308(a)(1)(ii)(A)
#     title: Risk analysis
#     type: required
#   - cfr: 45 CFR 164.312(a)(1)
#     title: Access control
#     type: required
#   - cfr: 45 CFR 164.312(a)(2)(iv)
#     title: Encryption and decryption
#     type: addressable
#   - cfr: 45 CFR 164.312(e)(1)
#     title: Transmission security
#     type: required
#   remediation: Classify every workload and volume that handles PHI as phi (or genetic) so the confidential
#     computing and encryption rules apply to it, or break the dependency; keep PHI in storage, endpoints
#     and log sinks that phistack's components create.
package phistack.rules.flow.phi_flow_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	types := _types(ctx)
	zone := _zone(ctx, types)
	seeds := _seed_set(ctx)
	some urn in zone
	not urn in seeds
	r := ctx.by_urn[urn]
	msg := _reachable_problem(ctx, types, r)
	f := lib.finding("PHI-FLOW-001", urn, msg)
} | {f |
	# A PHI workload whose own label says otherwise: the runtime and the log forwarder read the label.
	some r in ctx.phi_workloads
	own := lib.declared_classes(r)
	count(own) > 0
	count(own & lib.sensitive) == 0
	f := lib.finding("PHI-FLOW-001", r.urn, concat("", ["workload ", lib.name_of(r), " is labelled ", concat(", ", lib.sorted(own)), " but its component or namespace declares ", concat(", ", lib.sorted(lib.classes_of(ctx, r) & lib.sensitive)), ": the label contradicts the classification the rules apply"]))
}

# Configuration objects: they never hold or serve PHI, so the mark stops at them.
_inert_kinds := {
	"Namespace", "ServiceAccount", "Secret", "ConfigMap", "Role", "ClusterRole", "RoleBinding",
	"ClusterRoleBinding", "NetworkPolicy", "ResourceQuota", "LimitRange", "RuntimeClass",
	"PriorityClass", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Certificate", "Issuer",
	"ClusterIssuer", "ClientTrafficPolicy", "BackendTLSPolicy", "CustomResourceDefinition",
}

_storage_kinds := {"PersistentVolumeClaim", "PersistentVolume", "StorageClass"}

_endpoint_kinds := {"Service", "Ingress", "Gateway", "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute"}

_known_components := {"AttestedWorkload", "EncryptedStorage", "TlsEndpoint", "AuditLogShipping"}

# Cloud resources of the gke and aks backends (lib.cloud_types). Identities, grants, key rings and resource
# groups configure and hold no data: the mark stops there. The rest (clusters, node pools, keys, disk
# encryption sets, vaults, audit routes) hold or protect data and are what PHI-CLOUD-001..004 and PHI-GPU-001
# verify.
_cloud_inert_types := {
	"gcp:kms/keyRing:KeyRing",
	"gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
	"gcp:pubsub/topicIAMMember:TopicIAMMember",
	"gcp:serviceaccount/account:Account",
	"gcp:projects/iAMMember:IAMMember",
	"azure-native:resources:ResourceGroup",
	"azure-native:managedidentity:UserAssignedIdentity",
	"azure-native:authorization:RoleAssignment",
}

_inert(r) if startswith(r.type, "pulumi:")

_inert(r) if startswith(r.type, "tls:")

_inert(r) if startswith(r.type, "random:")

_inert(r) if lib.kind_of(r) in _inert_kinds

_inert(r) if lib.component_kind(r) in {"ProviderProfile", "ConfidentialGpuCluster"}

_inert(r) if r.type in _cloud_inert_types

_known(r) if lib.is_pod_workload(r)

_known(r) if lib.kind_of(r) in _storage_kinds

_known(r) if lib.kind_of(r) in _endpoint_kinds

_known(r) if lib.component_kind(r) in _known_components

_known(r) if r.type in lib.cloud_types

# What the rule needs to know of a resource depends on its type only: decided once per type of the
# plan (the functions above read nothing but `type`), then resources are visited by type.
_types(ctx) := {
	"carrier": {t | some t; ctx.types[t]; not _inert({"type": t})},
	"known": {t | some t; ctx.types[t]; _known({"type": t})},
	"workload": {t | some t; ctx.types[t]; _is_workload({"type": t})},
	"storage": {t | some t; ctx.types[t]; _is_storage({"type": t})},
	"refs": {t | some t; ctx.types[t]; _has_refs(t)},
}

_carriers(ctx, types) := {ctx.resources[i].urn | some t in types.carrier; some i in ctx.types[t]}

_seed_set(ctx) := {r.urn | some r in ctx.phi_workloads} | {r.urn | some r in ctx.phi_attested}

# A pod names its claims by namespace/name and a claim its StorageClass by name, and names need not
# be unique across a plan: both sides point at a "claim:..." node, so the mark reaches every
# resource of that name without a quadratic join.
_claim_node(namespace, name) := concat("", ["claim:", namespace, "/", name])

# Directed edges of each carrier: what it depends on, its parent, the claims it mounts and a
# claim's StorageClass. Only carriers (and claim nodes) are nodes.
_graph(ctx, types) := _edges(ctx, types, {r.urn: _claim_refs(ctx, r) |
	some t in types.refs
	some i in ctx.types[t]
	r := ctx.resources[i]
})

_edges(ctx, types, refs) := object.union(
	{node: [] |
		some urn
		some node in refs[urn]
	},
	{r.urn: array.concat(array.concat([n | some n in linked; n in carriers], [n | some n in linked; startswith(n, "claim:")]), object.get(refs, r.urn, [])) |
		carriers := _carriers(ctx, types)
		some t in types.carrier
		some i in ctx.types[t]
		r := ctx.resources[i]
		linked := _linked(r)
	},
)

# What a carrier depends on and its parent: edges when they lead to a carrier or a claim node.
_linked(r) := array.concat(
	array.concat(object.get(r, "dependencies", []), [d |
		deps := object.get(r, "property_dependencies", {})
		some prop
		list := deps[prop]
		some d in list
	]),
	[p | p := r.parent; is_string(p)],
)

_claim_refs(ctx, r) := [_claim_node(lib.namespace_of(r), v.persistentVolumeClaim.claimName) |
	some v in object.get(lib.pod_spec(r), "volumes", [])
	is_string(v.persistentVolumeClaim.claimName)
] if lib.is_pod_workload(r)

else := [
	_claim_node(lib.namespace_of(r), lib.name_of(r)),
	concat("", ["claim:storageclass/", _class_name(object.get(r.inputs, ["spec", "storageClassName"], ""))]),
] if r.type == "kubernetes:core/v1:PersistentVolumeClaim"

else := [concat("", ["claim:storageclass/", lib.name_of(r)])] if r.type == "kubernetes:storage.k8s.io/v1:StorageClass"

else := []

# A claim's StorageClass name; an unknown or malformed one links to no class (PHI-VOL-001 and
# PHI-ENC-001 judge the claim itself).
_class_name(name) := name if is_string(name)

else := "(unknown)"

# Only pod workloads, PersistentVolumeClaims and StorageClasses name claims.
_has_refs(type) if lib.is_pod_workload({"type": type})

_has_refs(type) if type in {"kubernetes:core/v1:PersistentVolumeClaim", "kubernetes:storage.k8s.io/v1:StorageClass"}

# The mark spreads along edges in both directions: forward with graph.reachable, backward (to
# resources that depend on a marked one) and down (to children of marked components) one hop per
# round. Three rounds bound the work linearly; a PHI path needing more backward hops is rare.
_zone(ctx, types) := zone if {
	edges := _graph(ctx, types)
	lineage := _lineage(ctx, edges)
	first := _expand(lineage, edges, _seed_set(ctx))
	second := _expand(lineage, edges, first)
	zone := _expand(lineage, edges, second)
}

_expand(lineage, edges, marked) := graph.reachable(edges, _with_descendants(lineage, marked | _dependents(edges, marked)))

# Carrier urn -> its ancestors, computed once for every round.
_lineage(ctx, edges) := {urn: lib.ancestors(ctx, ctx.by_urn[urn]) |
	some urn
	edges[urn]
	ctx.by_urn[urn].parent
}

_dependents(edges, marked) := {urn |
	some urn
	next := edges[urn]
	some n in next
	n in marked
}

_with_descendants(lineage, marked) := marked | {urn |
	some urn
	ancestors := lineage[urn]
	some a in ancestors
	a in marked
}

_reachable_problem(ctx, types, r) := concat("", [lib.name_of(r), " (", r.type, ") is reachable from a PHI workload but no HIPAA rule verifies resources of this type"]) if {
	not r.type in types.known
} else := concat("", ["workload ", lib.name_of(r), " is reachable from a PHI workload but classified ", _classes(ctx, r), ", so the confidential-computing rules skip it"]) if {
	r.type in types.workload
	not lib.is_sensitive(ctx, r)
	not lib.under_infra(ctx, r)
} else := concat("", ["storage ", lib.name_of(r), " receives data from a PHI workload but is classified ", _classes(ctx, r)]) if {
	r.type in types.storage
	classes := lib.declared_classes(r)
	count(classes) > 0
	count(classes & lib.sensitive) == 0
}

_is_workload(r) if lib.is_pod_workload(r)

_is_workload(r) if lib.component_kind(r) == "AttestedWorkload"

_is_storage(r) if lib.kind_of(r) == "PersistentVolumeClaim"

_is_storage(r) if lib.component_kind(r) == "EncryptedStorage"

_classes(ctx, r) := concat(", ", lib.sorted(lib.classes_of(ctx, r))) if count(lib.classes_of(ctx, r)) > 0

else := "nothing"
