package phistack.rules.phi_log_003_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.phi_log_003

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

_deny(resources) := phi_log_003.findings(fx.ctx(resources))

_denied := {{"id": "PHI-LOG-003", "urn": _urn, "msg": "PHI-LOG-003: audit logs are not declared to be kept at least 2192 days (retention_days)"}}

test_allowed_six_years if {
	_deny([fx.phi_deployment, _shipper(_good)]) == set()
}

test_allowed_float_days if {
	_deny([fx.phi_deployment, _shipper(object.union(_good, {"retention_days": 3650.0}))]) == set()
}

test_denied_one_year if {
	_deny([fx.phi_deployment, _shipper(object.union(_good, {"retention_days": 365}))]) == _denied
}

test_denied_exactly_six_times_365 if {
	_deny([fx.phi_deployment, _shipper(object.union(_good, {"retention_days": 2190}))]) == _denied
}

test_missing_retention if {
	_deny([fx.phi_deployment, _shipper(object.remove(_good, ["retention_days"]))]) == _denied
}

test_unknown_retention if {
	_deny([fx.phi_deployment, _shipper(object.union(_good, {"retention_days": fx.unknown}))]) == {{"id": "PHI-LOG-003", "urn": _urn, "msg": "PHI-LOG-003: the log retention is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["retention_days"]}}
}
