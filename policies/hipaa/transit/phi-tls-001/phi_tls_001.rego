# METADATA
# title: Endpoints accept TLS 1.3 only
# description: In a stack that handles PHI, every Gateway is targeted by a ClientTrafficPolicy in its namespace
#   whose minimum TLS version is 1.3, and every Ingress restricts its protocols to TLSv1.3 (nginx.ingress.kubernetes.io/ssl-protocols).
#   A Gateway without such a policy, a policy allowing TLS 1.2 or an Ingress without the restriction denies.
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(e)(1)
#   description: '45 CFR 164.312(e)(1) Transmission security: Implement technical security measures to guard
#     against unauthorized access to electronic protected health information that is being transmitted over
#     an electronic communications network.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(e)(2)(ii)
#   description: '45 CFR 164.312(e)(2)(ii) Encryption (Addressable): Implement a mechanism to encrypt electronic
#     protected health information whenever deemed appropriate.'
# custom:
#   id: PHI-TLS-001
#   severity: high
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(e)(1)
#     title: Transmission security
#     type: required
#   - cfr: 45 CFR 164.312(e)(2)(ii)
#     title: Encryption
#     type: addressable
#   remediation: 'Keep TlsEndpoint.min_tls_version at "1.3" (its ClientTrafficPolicy sets tls.minVersion);
#     on an Ingress set nginx.ingress.kubernetes.io/ssl-protocols: TLSv1.3.'
package phistack.rules.phi_tls_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	some gw in lib.of_type(ctx, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
	versions := _tls1_versions(ctx, gw)
	some v in versions
	lib.is_unknown(v)
	f := lib.unknown_finding("PHI-TLS-001", gw.urn, "the minimum TLS version", ["ClientTrafficPolicy spec.tls.minVersion"])
} | {f |
	ctx.handles_phi
	some gw in lib.of_type(ctx, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
	versions := _tls1_versions(ctx, gw)
	count([v | some v in versions; lib.is_unknown(v)]) == 0
	not _tls1_only(versions)
	f := lib.finding("PHI-TLS-001", gw.urn, concat("", ["Gateway ", lib.name_of(gw), " does not require TLS 1.3: no ClientTrafficPolicy targeting it sets tls.minVersion 1.3 (and none sets a lower one)"]))
} | {f |
	ctx.handles_phi
	some ing in lib.of_type(ctx, "kubernetes:networking.k8s.io/v1:Ingress")
	object.get(ing.inputs, ["metadata", "annotations", "nginx.ingress.kubernetes.io/ssl-protocols"], "") != "TLSv1.3"
	f := lib.finding("PHI-TLS-001", ing.urn, concat("", ["Ingress ", lib.name_of(ing), " does not restrict TLS to TLSv1.3 (nginx.ingress.kubernetes.io/ssl-protocols)"]))
}

# The tls.minVersion of every ClientTrafficPolicy that targets the Gateway.
_tls1_versions(ctx, gw) := [v |
	some p in lib.of_type(ctx, "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy")
	lib.namespace_of(p) == lib.namespace_of(gw)
	_tls1_targets(p, lib.name_of(gw))
	v := object.get(p.inputs, ["spec", "tls", "minVersion"], "")
]

_tls1_targets(p, name) if {
	some ref in object.get(p.inputs, ["spec", "targetRefs"], [])
	ref.kind == "Gateway"
	ref.name == name
}

_tls1_targets(p, name) if {
	ref := p.inputs.spec.targetRef
	ref.kind == "Gateway"
	ref.name == name
}

_tls1_only(versions) if {
	count(versions) > 0
	every v in versions {
		v == "1.3"
	}
}
