package phistack.rules.transit.phi_tls_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.transit.phi_tls_001

_gateway(listeners) := fx.resource("kubernetes:gateway.networking.k8s.io/v1:Gateway", "notes-api", {
	"apiVersion": "gateway.networking.k8s.io/v1",
	"kind": "Gateway",
	"metadata": {"name": "notes-api", "namespace": "clinical"},
	"spec": {"gatewayClassName": "eg", "listeners": listeners},
})

_https := {"name": "https", "port": 443, "protocol": "HTTPS", "tls": {"mode": "Terminate"}}

_policy(min) := fx.resource("kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy", "notes-api-tls", {
	"apiVersion": "gateway.envoyproxy.io/v1alpha1",
	"kind": "ClientTrafficPolicy",
	"metadata": {"name": "notes-api-tls", "namespace": "clinical"},
	"spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "notes-api"}], "tls": {"minVersion": min, "maxVersion": "1.3"}},
})

_ingress(annotations, tls) := fx.resource("kubernetes:networking.k8s.io/v1:Ingress", "notes", {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": "notes", "namespace": "clinical", "annotations": annotations},
	"spec": {"tls": tls, "rules": [{"host": "notes.example-hospital.org"}]},
})

_gw_urn := fx.urn("kubernetes:gateway.networking.k8s.io/v1:Gateway", "notes-api")

_ing_urn := fx.urn("kubernetes:networking.k8s.io/v1:Ingress", "notes")

_deny(resources) := phi_tls_001.findings(fx.ctx(resources))

_gw_denied := {{"id": "PHI-TLS-001", "urn": _gw_urn, "msg": "PHI-TLS-001: Gateway notes-api does not require TLS 1.3: no ClientTrafficPolicy targeting it sets tls.minVersion 1.3 (and none sets a lower one)"}}

test_allowed_gateway_tls13 if {
	_deny([fx.phi_deployment, _gateway([_https]), _policy("1.3")]) == set()
}

test_allowed_ingress_tls13 if {
	_deny([fx.phi_deployment, _ingress({"nginx.ingress.kubernetes.io/ssl-protocols": "TLSv1.3"}, [{"hosts": ["notes.example-hospital.org"]}])]) == set()
}

test_denied_tls12 if {
	_deny([fx.phi_deployment, _gateway([_https]), _policy("1.2")]) == _gw_denied
}

test_denied_ingress_tls12 if {
	_deny([fx.phi_deployment, _ingress({"nginx.ingress.kubernetes.io/ssl-protocols": "TLSv1.2 TLSv1.3"}, [])]) == {{"id": "PHI-TLS-001", "urn": _ing_urn, "msg": "PHI-TLS-001: Ingress notes does not restrict TLS to TLSv1.3 (nginx.ingress.kubernetes.io/ssl-protocols)"}}
}

test_missing_policy if {
	_deny([fx.phi_deployment, _gateway([_https])]) == _gw_denied
}

test_missing_min_version if {
	p := fx.resource("kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy", "p", {"metadata": {"name": "p", "namespace": "clinical"}, "spec": {"targetRef": {"kind": "Gateway", "name": "notes-api"}}})
	_deny([fx.phi_deployment, _gateway([_https]), p]) == _gw_denied
}

test_unknown_min_version if {
	_deny([fx.phi_deployment, _gateway([_https]), _policy(fx.unknown)]) == {{"id": "PHI-TLS-001", "urn": _gw_urn, "msg": "PHI-TLS-001: the minimum TLS version is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["ClientTrafficPolicy spec.tls.minVersion"]}}
}
