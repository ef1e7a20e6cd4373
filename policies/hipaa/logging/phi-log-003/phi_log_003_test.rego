package phistack.rules.logging.phi_log_003_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.rules.logging.phi_log_003

# Texts are built from lines joined with a newline decoded at run time: regopy keeps the escapes of
# string literals (a literal newline reads as a backslash and an n), so only decoded characters
# compare like the characters of a plan's JSON.
_nl := base64.decode("Cg==")

_dq := base64.decode("Ig==")

_bs := base64.decode("XA==")

# --- a forwarder as AuditLogShipping deploys it ------------------------------------------------------

_ns := "phistack-logging"

_props := {
	"namespace": _ns,
	"siem_host": "siem.example-hospital.org",
	"siem_port": 6514,
	"protocol": "syslog-tls",
	"min_tls_version": "1.3",
	"verify_certificate": true,
	"sources": ["container", "kubernetes-audit", "phistack-audit", "node-journal"],
	"buffer": "disk",
	"buffer_max_size": "10G",
	"retention_days": 2192,
}

_shipper_with(props) := fx.component("phistack:logging:AuditLogShipping", "logs", props)

_shipper := _shipper_with(_props)

_config := concat(_nl, [
	"pipeline:",
	"  filters:",
	"  - labels: 'on'",
	"    match: kube.*",
	"    merge_log: 'on'",
	"    name: kubernetes",
	"  - emitter_storage.type: filesystem",
	"    match: kube.*",
	"    name: rewrite_tag",
	"    rule: $kubernetes['labels']['phistack.io/data-classification'] ^.+$ audit.phistack",
	"      true",
	"  inputs:",
	"  - db: /var/lib/phistack-log-buffer/containers.db",
	"    multiline.parser: cri",
	"    name: tail",
	"    path: /var/log/containers/*.log",
	"    storage.type: filesystem",
	"    tag: kube.*",
	"  - db: /var/lib/phistack-log-buffer/audit.db",
	"    name: tail",
	"    path: /var/log/kubernetes/audit/*.log",
	"    storage.type: filesystem",
	"    tag: audit.kubernetes",
	"  - db: /var/lib/phistack-log-buffer/journal.db",
	"    name: systemd",
	"    storage.type: filesystem",
	"    systemd_filter:",
	"    - _SYSTEMD_UNIT=kubelet.service",
	"    - _SYSTEMD_UNIT=containerd.service",
	"    tag: node.journal",
	"  outputs:",
	"  - host: siem.example-hospital.org",
	"    match: '*'",
	"    mode: tls",
	"    name: syslog",
	"    port: 6514",
	"    retry_limit: no_limits",
	"    storage.total_limit_size: 10G",
	"    syslog_format: rfc5424",
	"    syslog_message_key: log",
	"    tls: 'on'",
	"    tls.ca_file: /etc/siem-ca/ca.crt",
	"    tls.min_version: TLSv1.3",
	"    tls.verify: 'on'",
	"    tls.verify_hostname: 'on'",
	"service:",
	"  flush: 1",
	"  log_level: info",
	"  storage.path: /var/lib/phistack-log-buffer/chunks",
	"  storage.sync: full",
	"",
])

# The configuration with one piece of text replaced (the test fails if `old` is not there).
_edit(old, new) := replace(_config, old, new) if contains(_config, old)

_cm_named(name, ns, content) := fx.child(fx.resource("kubernetes:core/v1:ConfigMap", "logs-config", {
	"apiVersion": "v1",
	"kind": "ConfigMap",
	"metadata": {"name": name, "namespace": ns, "annotations": {"phistack.io/retention-days": "2192"}},
	"data": content,
}), _shipper)

_cm(text) := _cm_named("log-forwarder-config", _ns, {"fluent-bit.yaml": text})

_image := "cr.fluentbit.io/fluent/fluent-bit@sha256:89e7a0272792aa172c1995cb3f683ff50c9e1782c8b89a41900f737b586a6efa"

_mounts := [
	{"name": "config", "mountPath": "/fluent-bit/etc", "readOnly": true},
	{"name": "varlog", "mountPath": "/var/log", "readOnly": true},
	{"name": "buffer", "mountPath": "/var/lib/phistack-log-buffer"},
]

_container_with(args, mounts) := {"name": "fluent-bit", "image": _image, "args": args, "volumeMounts": mounts}

_container := _container_with(["--config=/fluent-bit/etc/fluent-bit.yaml"], _mounts)

_volumes := [
	{"name": "config", "configMap": {"name": "log-forwarder-config"}},
	{"name": "varlog", "hostPath": {"path": "/var/log", "type": "Directory"}},
	{"name": "buffer", "hostPath": {"path": "/var/lib/phistack-log-buffer", "type": "DirectoryOrCreate"}},
]

_pod_with(containers, volumes, tolerations) := {
	"serviceAccountName": "log-forwarder",
	"tolerations": tolerations,
	"containers": containers,
	"volumes": volumes,
}

_pod := _pod_with([_container], _volumes, [{"operator": "Exists"}])

_ds_named(name, pod) := fx.child(fx.resource("kubernetes:apps/v1:DaemonSet", name, {
	"apiVersion": "apps/v1",
	"kind": "DaemonSet",
	"metadata": {"name": "log-forwarder", "namespace": _ns},
	"spec": {"template": {"metadata": {"labels": {"app": "log-forwarder"}}, "spec": pod}},
}), _shipper)

_ds(pod) := _ds_named("logs-daemonset", pod)

# A PHI workload on tainted GPU nodes.
_phi := fx.deployment("nlp", "phi", object.union(fx.cc_pod, {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}))

_deny_with(cm, ds) := phi_log_003.findings(fx.ctx([_phi, _shipper, cm, ds]))

# The forwarder's ConfigMap with this metadata.
_cm_meta(metadata) := fx.child(fx.resource("kubernetes:core/v1:ConfigMap", "logs-config", {
	"apiVersion": "v1",
	"kind": "ConfigMap",
	"metadata": metadata,
	"data": {"fluent-bit.yaml": _config},
}), _shipper)

_cm_annotated(annotations) := _cm_meta({"name": "log-forwarder-config", "namespace": _ns, "annotations": annotations})

_deny_annotated(annotations) := _deny_with(_cm_annotated(annotations), _ds(_pod))

_shipper_urn := fx.urn("phistack:logging:AuditLogShipping", "logs")

_ds_urn := _ds(_pod).urn

_cm_urn := _cm(_config).urn

_denied := {{"id": "PHI-LOG-003", "urn": _cm_urn, "msg": "PHI-LOG-003: the log forwarder's ConfigMap phistack-logging/log-forwarder-config does not state a retention of at least 2192 days (annotation phistack.io/retention-days: a whole number of days)"}}

# --- allowed -------------------------------------------------------------------------------------------

test_allowed_six_years if {
	_deny_annotated({"phistack.io/retention-days": "2192"}) == set()
}

test_allowed_ten_years if {
	_deny_annotated({"phistack.io/retention-days": "3653"}) == set()
}

test_allowed_declared_float_days if {
	props := object.union(_props, {"retention_days": 3650.0})
	phi_log_003.findings(fx.ctx([_phi, _shipper_with(props), _cm(_config), _ds(_pod)])) == set()
}

test_allowed_no_phi if {
	phi_log_003.findings(fx.ctx([fx.deployment("sim", "none", fx.cc_pod)])) == set()
}

# The retention is read from the ConfigMap even when its configuration text is unknown (PHI-LOG-001
# and PHI-LOG-002 fail closed on that).
test_allowed_retention_with_unknown_config_text if {
	_deny_with(_cm_named("log-forwarder-config", _ns, {"fluent-bit.yaml": fx.unknown}), _ds(_pod)) == set()
}

# --- the deployed annotation ---------------------------------------------------------------------------

test_denied_one_year if {
	_deny_annotated({"phistack.io/retention-days": "365"}) == _denied
}

test_denied_exactly_six_times_365 if {
	_deny_annotated({"phistack.io/retention-days": "2190"}) == _denied
}

test_denied_not_a_day_count if {
	_deny_annotated({"phistack.io/retention-days": "P6Y"}) == _denied
	_deny_annotated({"phistack.io/retention-days": "2192.5"}) == _denied
	_deny_annotated({"phistack.io/retention-days": "-3000"}) == _denied
}

# Kubernetes annotations are strings: a number is not a value the API server would keep.
test_denied_number_not_string if {
	_deny_annotated({"phistack.io/retention-days": 2192}) == _denied
}

test_missing_annotation if {
	_deny_annotated({"phistack.io/siem-protocol": "syslog-tls"}) == _denied
}

test_missing_annotations if {
	_deny_with(_cm_meta({"name": "log-forwarder-config", "namespace": _ns}), _ds(_pod)) == _denied
}

# A forwarder whose ConfigMap the plan does not create has no retention to verify.
test_denied_configmap_removed if {
	phi_log_003.findings(fx.ctx([_phi, _shipper, _ds(_pod)])) == {{"id": "PHI-LOG-003", "urn": _ds_urn, "msg": "PHI-LOG-003: log forwarder phistack-logging/log-forwarder loads no ConfigMap of the plan, so the retention of its audit logs (annotation phistack.io/retention-days) cannot be verified"}}
}

# A well-annotated ConfigMap the forwarder does not load proves nothing.
test_denied_annotated_configmap_not_loaded if {
	volumes := array.concat([{"name": "config", "configMap": {"name": "fluent-bit-handwritten"}}], array.slice(_volumes, 1, 3))
	_deny_with(_cm(_config), _ds(_pod_with([_container], volumes, [{"operator": "Exists"}]))) == {{"id": "PHI-LOG-003", "urn": _ds_urn, "msg": "PHI-LOG-003: log forwarder phistack-logging/log-forwarder loads no ConfigMap of the plan, so the retention of its audit logs (annotation phistack.io/retention-days) cannot be verified"}}
}

# Declared settings are a cross-check: a short declared retention denies.
test_denied_declared_one_year if {
	props := object.union(_props, {"retention_days": 365})
	phi_log_003.findings(fx.ctx([_phi, _shipper_with(props), _cm(_config), _ds(_pod)])) == {{"id": "PHI-LOG-003", "urn": _shipper_urn, "msg": "PHI-LOG-003: audit logs are not declared to be kept at least 2192 days (retention_days)"}}
}

test_missing_declared_retention if {
	props := object.remove(_props, ["retention_days"])
	phi_log_003.findings(fx.ctx([_phi, _shipper_with(props), _cm(_config), _ds(_pod)])) == {{"id": "PHI-LOG-003", "urn": _shipper_urn, "msg": "PHI-LOG-003: audit logs are not declared to be kept at least 2192 days (retention_days)"}}
}

# --- unknown values ------------------------------------------------------------------------------------

test_unknown_annotation if {
	_deny_annotated({"phistack.io/retention-days": fx.unknown}) == {{"id": "PHI-LOG-003", "urn": _cm_urn, "msg": "PHI-LOG-003: the log retention is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["metadata.annotations[\"phistack.io/retention-days\"]"]}}
}

test_unknown_annotations if {
	_deny_annotated(fx.unknown) == {{"id": "PHI-LOG-003", "urn": _cm_urn, "msg": "PHI-LOG-003: the log retention is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["metadata.annotations"]}}
}

test_unknown_config_volume if {
	volumes := array.concat([{"name": "config", "configMap": {"name": fx.unknown}}], array.slice(_volumes, 1, 3))
	_deny_with(_cm(_config), _ds(_pod_with([_container], volumes, [{"operator": "Exists"}]))) == {{"id": "PHI-LOG-003", "urn": _ds_urn, "msg": "PHI-LOG-003: the log forwarder's ConfigMap is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["spec.template.spec.volumes[0].configMap.name"]}}
}

test_unknown_declared_retention if {
	props := object.union(_props, {"retention_days": fx.unknown})
	phi_log_003.findings(fx.ctx([_phi, _shipper_with(props), _cm(_config), _ds(_pod)])) == {{"id": "PHI-LOG-003", "urn": _shipper_urn, "msg": "PHI-LOG-003: the log retention is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["retention_days"]}}
}
