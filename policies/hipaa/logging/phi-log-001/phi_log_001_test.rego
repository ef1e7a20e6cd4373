package phistack.rules.phi_log_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.phi_log_001

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

_deny(resources) := phi_log_001.findings(fx.ctx(resources))

test_allowed_syslog_tls if {
	_deny([fx.phi_deployment, _shipper(_good)]) == set()
}

test_allowed_no_phi_without_shipping if {
	_deny([fx.deployment("sim", "none", fx.cc_pod)]) == set()
}

test_denied_no_shipping if {
	_deny([fx.phi_deployment]) == {{"id": "PHI-LOG-001", "urn": fx.stack_urn, "msg": "PHI-LOG-001: the stack handles PHI but declares no AuditLogShipping: audit logs do not reach the organisation's SIEM"}}
}

test_denied_weak_transport if {
	props := object.union(_good, {"protocol": "syslog-tcp", "min_tls_version": "1.2", "verify_certificate": false, "siem_host": "siem.logging.svc.cluster.local"})
	_deny([fx.phi_deployment, _shipper(props)]) == {{"id": "PHI-LOG-001", "urn": _urn, "msg": "PHI-LOG-001: audit logs do not reach an external SIEM over TLS 1.3: min_tls_version is not 1.3; protocol is not syslog-tls or https; siem_host is not an external host; the SIEM certificate is not verified"}}
}

test_denied_audit_source_dropped if {
	_deny([fx.phi_deployment, _shipper(object.union(_good, {"sources": ["container"]}))]) == {{"id": "PHI-LOG-001", "urn": _urn, "msg": "PHI-LOG-001: audit logs do not reach an external SIEM over TLS 1.3: the kubernetes-audit source is not shipped; the phistack-audit source is not shipped"}}
}

test_missing_fields if {
	_deny([fx.phi_deployment, _shipper({"siem_host": "siem.example-hospital.org"})]) == {{"id": "PHI-LOG-001", "urn": _urn, "msg": "PHI-LOG-001: audit logs do not reach an external SIEM over TLS 1.3: min_tls_version is not 1.3; protocol is not syslog-tls or https; the SIEM certificate is not verified; the kubernetes-audit source is not shipped; the phistack-audit source is not shipped"}}
}

test_unknown_host if {
	_deny([fx.phi_deployment, _shipper(object.union(_good, {"siem_host": fx.unknown}))]) == {{"id": "PHI-LOG-001", "urn": _urn, "msg": "PHI-LOG-001: the SIEM destination is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["siem_host"]}}
}
