package phistack.rules.transit.phi_tls_003_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.transit.phi_tls_003

_deny(resources) := phi_tls_003.findings(fx.ctx(resources))

_service(type, selector, ports) := fx.resource("kubernetes:core/v1:Service", "nlp-public", {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "nlp-public", "namespace": "clinical"},
	"spec": {"type": type, "selector": selector, "ports": ports},
})

_urn := fx.urn("kubernetes:core/v1:Service", "nlp-public")

test_allowed_tls_port if {
	_deny([fx.phi_deployment, _service("LoadBalancer", {"app": "nlp"}, [{"port": 443, "targetPort": 8443, "appProtocol": "https"}])]) == set()
}

test_allowed_cluster_ip if {
	_deny([fx.phi_deployment, _service("ClusterIP", {"app": "nlp"}, [{"port": 80}])]) == set()
}

test_allowed_other_workload if {
	_deny([fx.phi_deployment, _service("LoadBalancer", {"app": "dashboard"}, [{"port": 80}])]) == set()
}

test_denied_plain_load_balancer if {
	_deny([fx.phi_deployment, _service("LoadBalancer", {"app": "nlp"}, [{"port": 80, "appProtocol": "http"}])]) == {{"id": "PHI-TLS-003", "urn": _urn, "msg": "PHI-TLS-003: LoadBalancer Service nlp-public exposes PHI workload nlp on port 80 without TLS (appProtocol is not https or tls)"}}
}

test_missing_app_protocol_node_port if {
	_deny([fx.phi_deployment, _service("NodePort", {"app": "nlp"}, [{"port": 8443}])]) == {{"id": "PHI-TLS-003", "urn": _urn, "msg": "PHI-TLS-003: NodePort Service nlp-public exposes PHI workload nlp on port 8443 without TLS (appProtocol is not https or tls)"}}
}

test_unknown_selector if {
	_deny([fx.phi_deployment, _service("LoadBalancer", fx.unknown, [{"port": 80}])]) == {{"id": "PHI-TLS-003", "urn": _urn, "msg": "PHI-TLS-003: the Service selector is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["spec.selector"]}}
}
