# METADATA
# title: No plaintext listeners
# description: In a stack that handles PHI, no Gateway listener accepts plaintext (every listener's protocol
#   is HTTPS or TLS) and every Ingress terminates TLS for all of its hosts. A plain HTTP (or TCP/UDP) listener,
#   an Ingress without tls, or a host that its tls section does not cover denies.
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(e)(1)
#   description: '45 CFR 164.312(e)(1) Transmission security: Implement technical security measures to guard
#     against unauthorized access to electronic protected health information that is being transmitted over
#     an electronic communications network.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(e)(2)(ii)
#   description: '45 CFR 164.312(e)(2)(ii) Encryption (Addressable): Implement a mechanism to encrypt electronic
#     protected health information whenever deemed appropriate.'
# custom:
#   id: PHI-TLS-002
#   severity: critical
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(e)(1)
#     title: Transmission security
#     type: required
#   - cfr: 45 CFR 164.312(e)(2)(ii)
#     title: Encryption
#     type: addressable
#   remediation: Keep TlsEndpoint.allow_plaintext_http false; list every Ingress host under spec.tls with
#     a certificate secret.
package phistack.rules.transit.phi_tls_002

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	ctx.handles_phi
	some gw in lib.of_type(ctx, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
	path := lib.unknown_path(gw.inputs, ["spec", "listeners"])
	f := lib.unknown_finding("PHI-TLS-002", gw.urn, "the Gateway listeners", [path])
} | {f |
	ctx.handles_phi
	some gw in lib.of_type(ctx, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
	listeners := object.get(gw.inputs, ["spec", "listeners"], [])
	is_array(listeners)
	some l in listeners
	not lib.is_unknown(l)
	not lib.is_unknown(object.get(l, "protocol", ""))
	not object.get(l, "protocol", "") in {"HTTPS", "TLS"}
	f := lib.finding("PHI-TLS-002", gw.urn, concat("", ["Gateway ", lib.name_of(gw), " listener ", object.get(l, "name", "?"), " accepts plaintext (protocol ", _text(object.get(l, "protocol", "")), ")"]))
} | {f |
	ctx.handles_phi
	some gw in lib.of_type(ctx, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
	listeners := object.get(gw.inputs, ["spec", "listeners"], [])
	is_array(listeners)
	paths := [p |
		some i
		l := listeners[i]
		p := _unknown_protocol(l, i)
	]
	count(paths) > 0
	f := lib.unknown_finding("PHI-TLS-002", gw.urn, "a Gateway listener protocol", paths)
} | {f |
	ctx.handles_phi
	some ing in lib.of_type(ctx, "kubernetes:networking.k8s.io/v1:Ingress")
	uncovered := _uncovered(ing)
	count(uncovered) > 0
	f := lib.finding("PHI-TLS-002", ing.urn, concat("", ["Ingress ", lib.name_of(ing), " serves plaintext HTTP for ", concat(", ", lib.sorted(uncovered))]))
}

_text(value) := value if lib.non_empty_string(value)

else := "missing"

_uncovered(ing) := {host |
	some rule in object.get(ing.inputs, ["spec", "rules"], [])
	host := object.get(rule, "host", "every host")
	not host in _covered(ing)
}

_covered(ing) := {h |
	some t in object.get(ing.inputs, ["spec", "tls"], [])
	some h in object.get(t, "hosts", [])
}

_unknown_protocol(l, i) := concat("", ["spec.listeners[", format_int(i, 10), "]"]) if lib.is_unknown(l)

else := concat("", ["spec.listeners[", format_int(i, 10), "].protocol"]) if lib.is_unknown(object.get(l, "protocol", ""))
