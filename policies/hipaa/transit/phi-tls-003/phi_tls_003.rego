# METADATA
# title: No LoadBalancer or NodePort exposes a PHI workload without TLS
# description: 'A Service of type LoadBalancer or NodePort whose selector matches the pods of a PHI or genetic
#   workload in its namespace carries TLS end to end: every port declares appProtocol https or tls (the
#   pod terminates TLS, as the runtime does on its TLS port). A port without it exposes PHI on the node
#   or the internet in plaintext and denies; so does a selector unknown at plan time.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(e)(1)
#   description: '45 CFR 164.312(e)(1) Transmission security: Implement technical security measures to guard
#     against unauthorized access to electronic protected health information that is being transmitted over
#     an electronic communications network.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(e)(2)(ii)
#   description: '45 CFR 164.312(e)(2)(ii) Encryption (Addressable): Implement a mechanism to encrypt electronic
#     protected health information whenever deemed appropriate.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(e)(2)(i)
#   description: '45 CFR 164.312(e)(2)(i) Integrity controls (Addressable): Implement security measures
#     to ensure that electronically transmitted electronic protected health information is not improperly
#     modified without detection until disposed of.'
# custom:
#   id: PHI-TLS-003
#   severity: critical
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(e)(1)
#     title: Transmission security
#     type: required
#   - cfr: 45 CFR 164.312(e)(2)(ii)
#     title: Encryption
#     type: addressable
#   - cfr: 45 CFR 164.312(e)(2)(i)
#     title: Integrity controls
#     type: addressable
#   remediation: 'Expose PHI workloads through TlsEndpoint (ClusterIP behind a TLS 1.3 Gateway); if a LoadBalancer
#     is unavoidable, serve TLS from the pod and set appProtocol: https on every port.'
package phistack.rules.transit.phi_tls_003

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some svc in _exposed(ctx)
	lib.is_unknown(object.get(svc.inputs, ["spec", "selector"], {}))
	f := lib.unknown_finding("PHI-TLS-003", svc.urn, "the Service selector", ["spec.selector"])
} | {f |
	some svc in _exposed(ctx)
	selector := object.get(svc.inputs, ["spec", "selector"], {})
	not lib.is_unknown(selector)
	some w in ctx.phi_workloads
	_service_selects(svc, selector, w)
	some port in object.get(svc.inputs, ["spec", "ports"], [])
	not object.get(port, "appProtocol", "") in {"https", "tls"}
	f := lib.finding("PHI-TLS-003", svc.urn, concat("", [
		svc.inputs.spec.type, " Service ", lib.name_of(svc), " exposes PHI workload ", lib.name_of(w),
		" on port ", format_int(object.get(port, "port", 0), 10), " without TLS (appProtocol is not https or tls)",
	]))
}

_exposed(ctx) := [svc |
	some svc in lib.of_type(ctx, "kubernetes:core/v1:Service")
	object.get(svc.inputs, ["spec", "type"], "ClusterIP") in {"LoadBalancer", "NodePort"}
]

_service_selects(svc, selector, w) if {
	is_object(selector)
	count(selector) > 0
	lib.namespace_of(svc) == lib.namespace_of(w)
	labels := lib.template_labels(w)
	every key, value in selector {
		labels[key] == value
	}
}
