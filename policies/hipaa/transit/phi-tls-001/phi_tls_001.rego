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
package phistack.rules.transit.phi_tls_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	versions := _versions(ctx)
	some gw in lib.of_type(ctx, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
	_key(gw) in versions.unknown
	f := lib.unknown_finding("PHI-TLS-001", gw.urn, "the minimum TLS version", ["ClientTrafficPolicy spec.tls.minVersion"])
} | {f |
	ctx.handles_phi
	versions := _versions(ctx)
	some gw in lib.of_type(ctx, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
	key := _key(gw)
	not key in versions.unknown
	not _only(versions, key)
	f := lib.finding("PHI-TLS-001", gw.urn, concat("", ["Gateway ", lib.name_of(gw), " does not require TLS 1.3: no ClientTrafficPolicy targeting it sets tls.minVersion 1.3 (and none sets a lower one)"]))
} | {f |
	ctx.handles_phi
	some ing in lib.of_type(ctx, "kubernetes:networking.k8s.io/v1:Ingress")
	object.get(ing.inputs, ["metadata", "annotations", "nginx.ingress.kubernetes.io/ssl-protocols"], "") != "TLSv1.3"
	f := lib.finding("PHI-TLS-001", ing.urn, concat("", ["Ingress ", lib.name_of(ing), " does not restrict TLS to TLSv1.3 (nginx.ingress.kubernetes.io/ssl-protocols)"]))
}

_key(gw) := concat("/", [lib.namespace_of(gw), lib.name_of(gw)])

# Gateways ("namespace/name") targeted by ClientTrafficPolicies, split by their tls.minVersion;
# built once, so each Gateway is a set lookup.
_versions(ctx) := {
	"strict": {key | some t in targets; t.version == "1.3"; key := t.key},
	"weak": {key | some t in targets; not lib.is_unknown(t.version); t.version != "1.3"; key := t.key},
	"unknown": {key | some t in targets; lib.is_unknown(t.version); key := t.key},
} if {
	targets := [{"key": key, "version": object.get(p.inputs, ["spec", "tls", "minVersion"], "")} |
		some p in lib.of_type(ctx, "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy")
		some ref in _target_refs(p)
		ref.kind == "Gateway"
		key := concat("/", [lib.namespace_of(p), ref.name])
	]
}

_target_refs(p) := array.concat(object.get(p.inputs, ["spec", "targetRefs"], []), [ref | ref := p.inputs.spec.targetRef])

_only(versions, key) if {
	key in versions.strict
	not key in versions.weak
}
