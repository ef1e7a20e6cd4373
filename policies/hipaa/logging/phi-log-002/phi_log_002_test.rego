package phistack.rules.logging.phi_log_002_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.rules.logging.phi_log_002

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
_edit(old, new) := _edit_in(_config, old, new)

_edit_in(text, old, new) := replace(text, old, new) if contains(text, old)

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

_deny_with(cm, ds) := phi_log_002.findings(fx.ctx([_phi, _shipper, cm, ds]))

_deny_text(text) := _deny_with(_cm(text), _ds(_pod))

_deny_pod(pod) := _deny_with(_cm(_config), _ds(pod))

_shipper_urn := fx.urn("phistack:logging:AuditLogShipping", "logs")

_ds_urn := _ds(_pod).urn

_cm_urn := _cm(_config).urn

_prefix := "PHI-LOG-002: log forwarder phistack-logging/log-forwarder does not buffer audit records on disk: "

_denied(problems) := {{"id": "PHI-LOG-002", "urn": _ds_urn, "msg": concat("", [_prefix, concat("; ", problems)])}}

# --- allowed -------------------------------------------------------------------------------------------

test_allowed_disk_buffer if {
	_deny_text(_config) == set()
}

test_allowed_no_phi if {
	phi_log_002.findings(fx.ctx([fx.deployment("sim", "none", fx.cc_pod)])) == set()
}

# rewrite_tag keeps the original records (true): they stay in the input's filesystem buffer.
test_allowed_rewrite_tag_keeping_originals_with_memory_emitter if {
	_deny_text(_edit(concat("", ["  - emitter_storage.type: filesystem", _nl, "    match: kube.*"]), "  - match: kube.*")) == set()
}

# Fluent Bit reads false and off as unlimited retries (flb_output.c), like no_limits.
test_allowed_retry_limit_false if {
	_deny_text(_edit("retry_limit: no_limits", "retry_limit: false")) == set()
	_deny_text(_edit("retry_limit: no_limits", "retry_limit: 'Off'")) == set()
}

# --- denied --------------------------------------------------------------------------------------------

test_denied_input_storage_memory if {
	text := _edit(concat(_nl, ["    path: /var/log/containers/*.log", "    storage.type: filesystem"]), concat(_nl, ["    path: /var/log/containers/*.log", "    storage.type: memory"]))
	_deny_text(text) == _denied(["input[0] (tail) buffers in memory (storage.type is not filesystem)"])
}

test_missing_input_storage_type if {
	text := _edit(concat(_nl, ["    path: /var/log/kubernetes/audit/*.log", "    storage.type: filesystem"]), "    path: /var/log/kubernetes/audit/*.log")
	_deny_text(text) == _denied(["input[1] (tail) buffers in memory (storage.type is not filesystem)"])
}

# rewrite_tag drops the originals (false): the re-tagged records live only in its emitter's memory.
test_denied_rewrite_tag_memory_emitter if {
	text := _edit(concat(_nl, ["  - emitter_storage.type: filesystem", "    match: kube.*"]), "  - match: kube.*")
	_deny_text(_edit_in(text, concat(_nl, ["audit.phistack", "      true"]), concat(_nl, ["audit.phistack", "      false"]))) == _denied(["filter[1] (rewrite_tag) moves records into an in-memory emitter (emitter_storage.type is not filesystem)"])
}

test_missing_storage_path if {
	_deny_text(_edit(concat("", ["  storage.path: /var/lib/phistack-log-buffer/chunks", _nl]), "")) == _denied(["service.storage.path is not set"])
}

# The container's own filesystem is lost with it (and read-only in the module).
test_denied_storage_path_off_the_buffer_volume if {
	_deny_text(_edit("storage.path: /var/lib/phistack-log-buffer/chunks", "storage.path: /tmp/chunks")) == _denied(["service.storage.path /tmp/chunks is not on a writable hostPath volume of the forwarder, so the buffer does not survive the pod"])
}

test_denied_storage_path_read_only if {
	mounts := [_mounts[0], _mounts[1], object.union(_mounts[2], {"readOnly": true})]
	pod := _pod_with([_container_with(["--config=/fluent-bit/etc/fluent-bit.yaml"], mounts)], _volumes, [{"operator": "Exists"}])
	_deny_pod(pod) == _denied(["service.storage.path /var/lib/phistack-log-buffer/chunks is not on a writable hostPath volume of the forwarder, so the buffer does not survive the pod"])
}

# A memory-backed emptyDir is a memory buffer under another name.
test_denied_storage_path_in_memory_empty_dir if {
	volumes := [_volumes[0], _volumes[1], {"name": "buffer", "emptyDir": {"medium": "Memory"}}]
	_deny_pod(_pod_with([_container], volumes, [{"operator": "Exists"}])) == _denied(["service.storage.path /var/lib/phistack-log-buffer/chunks is not on a writable hostPath volume of the forwarder, so the buffer does not survive the pod"])
}

test_missing_total_limit if {
	_deny_text(_edit(concat("", ["    storage.total_limit_size: 10G", _nl]), "")) == _denied(["output[0] (syslog) has no storage.total_limit_size"])
}

test_denied_total_limit_not_a_size if {
	_deny_text(_edit("storage.total_limit_size: 10G", "storage.total_limit_size: unlimited")) == _denied(["output[0] (syslog) has no storage.total_limit_size"])
}

test_denied_retry_limit_number if {
	_deny_text(_edit("retry_limit: no_limits", "retry_limit: 5")) == _denied(["output[0] (syslog) retry_limit is not no_limits or false: records are dropped after bounded retries"])
}

test_denied_retry_limit_no_retries if {
	_deny_text(_edit("retry_limit: no_limits", "retry_limit: no_retries")) == _denied(["output[0] (syslog) retry_limit is not no_limits or false: records are dropped after bounded retries"])
}

# Fluent Bit's default is one retry.
test_missing_retry_limit if {
	_deny_text(_edit(concat("", ["    retry_limit: no_limits", _nl]), "")) == _denied(["output[0] (syslog) retry_limit is not no_limits or false: records are dropped after bounded retries"])
}

test_denied_config_not_understood if {
	_deny_text(concat(_nl, ["[SERVICE]", "    storage.path /var/lib/phistack-log-buffer/chunks"])) == {{"id": "PHI-LOG-002", "urn": _ds_urn, "msg": "PHI-LOG-002: log forwarder phistack-logging/log-forwarder loads a configuration the gate cannot read, so its disk buffering cannot be verified: its configuration is not valid YAML (a classic-format configuration is not understood)"}}
}

# Declared settings are a cross-check: a memory buffer declared denies even if the config buffers on disk.
test_denied_declared_memory_buffer if {
	props := object.union(_props, {"buffer": "memory"})
	phi_log_002.findings(fx.ctx([_phi, _shipper_with(props), _cm(_config), _ds(_pod)])) == {{"id": "PHI-LOG-002", "urn": _shipper_urn, "msg": "PHI-LOG-002: the log forwarder is not declared to buffer on disk with a maximum size (buffer: disk, buffer_max_size): audit records are lost when the SIEM is unreachable"}}
}

test_missing_declared_buffer_size if {
	props := object.remove(_props, ["buffer_max_size"])
	phi_log_002.findings(fx.ctx([_phi, _shipper_with(props), _cm(_config), _ds(_pod)])) == {{"id": "PHI-LOG-002", "urn": _shipper_urn, "msg": "PHI-LOG-002: the log forwarder is not declared to buffer on disk with a maximum size (buffer: disk, buffer_max_size): audit records are lost when the SIEM is unreachable"}}
}

# --- unknown values ------------------------------------------------------------------------------------

test_unknown_declared_buffer if {
	props := object.union(_props, {"buffer": fx.unknown})
	phi_log_002.findings(fx.ctx([_phi, _shipper_with(props), _cm(_config), _ds(_pod)])) == {{"id": "PHI-LOG-002", "urn": _shipper_urn, "msg": "PHI-LOG-002: the log buffer is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["buffer"]}}
}

test_unknown_config_text if {
	_deny_with(_cm_named("log-forwarder-config", _ns, {"fluent-bit.yaml": fx.unknown}), _ds(_pod)) == {{"id": "PHI-LOG-002", "urn": _cm_urn, "msg": "PHI-LOG-002: the log forwarder's buffering is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["data[\"fluent-bit.yaml\"]"]}}
}

test_unknown_buffer_volume if {
	volumes := [_volumes[0], _volumes[1], {"name": "buffer", "hostPath": {"path": fx.unknown}}]
	_deny_pod(_pod_with([_container], volumes, [{"operator": "Exists"}])) == {{"id": "PHI-LOG-002", "urn": _ds_urn, "msg": "PHI-LOG-002: the log forwarder's buffering is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["spec.template.spec.volumes[2].hostPath.path"]}}
}
