package phistack.rules.phi_log_002_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.phi_log_002

_shipper(props) := fx.component("phistack:logging:AuditLogShipping", "logs", props)

_good := {
	"namespace": "phistack-logging",
	"siem_host": "siem.example-hospital.org",
	"siem_port": 6514,
	"protocol": "syslog-tls",
	"min_tls_version": "1.3",
	"verify_certificate": true,
	"sources": ["container", "kubernetes-audit", "phistack-audit"],
	"buffer": "disk",
	"buffer_max_size": "10G",
	"retention_days": 2192,
}

_urn := fx.urn("phistack:logging:AuditLogShipping", "logs")

_deny(resources) := phi_log_002.findings(fx.ctx(resources))

_denied := {{"id": "PHI-LOG-002", "urn": _urn, "msg": "PHI-LOG-002: the log forwarder does not buffer on disk with a maximum size (buffer: disk, buffer_max_size): audit records are lost when the SIEM is unreachable"}}

test_allowed_disk_buffer if {
	_deny([fx.phi_deployment, _shipper(_good)]) == set()
}

test_denied_memory_buffer if {
	_deny([fx.phi_deployment, _shipper(object.union(_good, {"buffer": "memory"}))]) == _denied
}

test_missing_buffer if {
	_deny([fx.phi_deployment, _shipper(object.remove(_good, ["buffer"]))]) == _denied
}

test_missing_buffer_size if {
	_deny([fx.phi_deployment, _shipper(object.remove(_good, ["buffer_max_size"]))]) == _denied
}

test_unknown_buffer if {
	_deny([fx.phi_deployment, _shipper(object.union(_good, {"buffer": fx.unknown}))]) == {{"id": "PHI-LOG-002", "urn": _urn, "msg": "PHI-LOG-002: the log buffer is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["buffer"]}}
}
