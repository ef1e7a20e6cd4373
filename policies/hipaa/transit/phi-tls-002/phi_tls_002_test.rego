package phistack.rules.transit.phi_tls_002_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.transit.phi_tls_002

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

_deny(resources) := phi_tls_002.findings(fx.ctx(resources))

test_allowed_https_only if {
	_deny([fx.phi_deployment, _gateway([_https])]) == set()
}

test_allowed_ingress_tls if {
	_deny([fx.phi_deployment, _ingress({}, [{"hosts": ["notes.example-hospital.org"], "secretName": "notes-tls"}])]) == set()
}

test_allowed_no_phi_http if {
	_deny([_gateway([{"name": "http", "port": 80, "protocol": "HTTP"}])]) == set()
}

test_denied_http_listener if {
	_deny([fx.phi_deployment, _gateway([_https, {"name": "http", "port": 80, "protocol": "HTTP"}])]) == {{"id": "PHI-TLS-002", "urn": _gw_urn, "msg": "PHI-TLS-002: Gateway notes-api listener http accepts plaintext (protocol HTTP)"}}
}

test_denied_ingress_without_tls if {
	_deny([fx.phi_deployment, _ingress({}, [])]) == {{"id": "PHI-TLS-002", "urn": _ing_urn, "msg": "PHI-TLS-002: Ingress notes serves plaintext HTTP for notes.example-hospital.org"}}
}

test_missing_protocol if {
	_deny([fx.phi_deployment, _gateway([{"name": "web", "port": 8080}])]) == {{"id": "PHI-TLS-002", "urn": _gw_urn, "msg": "PHI-TLS-002: Gateway notes-api listener web accepts plaintext (protocol missing)"}}
}

test_unknown_listeners if {
	_deny([fx.phi_deployment, _gateway(fx.unknown)]) == {{"id": "PHI-TLS-002", "urn": _gw_urn, "msg": "PHI-TLS-002: the Gateway listeners is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["spec.listeners"]}}
}

test_unknown_listener_protocol_lists_its_path if {
	gw := fx.resource("kubernetes:gateway.networking.k8s.io/v1:Gateway", "gw", {"metadata": {"name": "gw", "namespace": "clinical"}, "spec": {"listeners": [{"name": "https", "protocol": "HTTPS"}, {"name": "x", "protocol": fx.unknown}]}})
	{f.unknown | some f in phi_tls_002.findings(fx.ctx([fx.phi_deployment, gw]))} == {["spec.listeners[1].protocol"]}
}
