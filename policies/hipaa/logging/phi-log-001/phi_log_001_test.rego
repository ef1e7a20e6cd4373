package phistack.rules.logging.phi_log_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.rules.logging.phi_log_001

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

_deny_with(cm, ds) := phi_log_001.findings(fx.ctx([_phi, _shipper, cm, ds]))

_deny_text(text) := _deny_with(_cm(text), _ds(_pod))

_deny_pod(pod) := _deny_with(_cm(_config), _ds(pod))

_shipper_urn := fx.urn("phistack:logging:AuditLogShipping", "logs")

_ds_urn := _ds(_pod).urn

_cm_urn := _cm(_config).urn

_prefix := "PHI-LOG-001: log forwarder phistack-logging/log-forwarder does not ship audit logs safely to the external SIEM: "

# The one finding on the forwarder, with its problems in the rule's (sorted) order.
_denied(problems) := {{"id": "PHI-LOG-001", "urn": _ds_urn, "msg": concat("", [_prefix, concat("; ", problems)])}}

# --- allowed -------------------------------------------------------------------------------------------

test_allowed_forwarder if {
	_deny_text(_config) == set()
}

test_allowed_no_phi_without_shipping if {
	phi_log_001.findings(fx.ctx([fx.deployment("sim", "none", fx.cc_pod)])) == set()
}

test_allowed_fluent_bit_values_case_insensitive if {
	text := _edit("tls.verify: 'on'", "tls.verify: 'True'")
	_deny_text(replace(text, "tls: 'on'", "tls: true")) == set()
}

test_allowed_config_flag_pair if {
	pod := _pod_with([_container_with(["-c", "/fluent-bit/etc/fluent-bit.yaml"], _mounts)], _volumes, [{"operator": "Exists"}])
	_deny_pod(pod) == set()
}

test_allowed_config_from_subpath_and_items if {
	mounts := array.concat([{"name": "config", "mountPath": "/fluent-bit/etc/fluent-bit.yaml", "subPath": "main.yaml", "readOnly": true}], array.slice(_mounts, 1, 3))
	volumes := array.concat([{"name": "config", "configMap": {"name": "log-forwarder-config", "items": [{"key": "fluent-bit.yaml", "path": "main.yaml"}]}}], array.slice(_volumes, 1, 3))
	_deny_pod(_pod_with([_container_with(["--config=/fluent-bit/etc/fluent-bit.yaml"], mounts)], volumes, [{"operator": "Exists"}])) == set()
}

# A nodeSelector the PHI workload's RuntimeClass also imposes keeps the forwarder on the PHI nodes.
test_allowed_node_selector_of_the_phi_nodes if {
	pod := object.union(_pod, {"nodeSelector": {"nvidia.com/cc.ready.state": "true"}})
	rc := fx.runtime_class("kata-qemu-nvidia-gpu-snp", fx.cc_selector)
	phi_log_001.findings(fx.ctx([_phi, rc, _shipper, _cm(_config), _ds(pod)])) == set()
}

# Tolerations naming the PHI workload's taint cover it as well as `operator: Exists` does.
test_allowed_toleration_by_key if {
	_deny_pod(_pod_with([_container], _volumes, [{"key": "nvidia.com/gpu", "operator": "Exists"}])) == set()
}

# An unknown toleration of a PHI workload stands for any taint: `operator: Exists` covers it.
test_allowed_unknown_phi_tolerations_covered_by_exists if {
	phi := fx.deployment("nlp", "phi", object.union(fx.cc_pod, {"tolerations": fx.unknown}))
	phi_log_001.findings(fx.ctx([phi, _shipper, _cm(_config), _ds(_pod)])) == set()
}

# --- the stack and the component -----------------------------------------------------------------------

test_denied_no_shipping if {
	phi_log_001.findings(fx.ctx([_phi])) == {{"id": "PHI-LOG-001", "urn": fx.stack_urn, "msg": "PHI-LOG-001: the stack handles PHI but declares no AuditLogShipping: audit logs do not reach the organisation's SIEM"}}
}

# The component stays, its forwarder is gone: nothing ships.
test_denied_daemonset_removed if {
	phi_log_001.findings(fx.ctx([_phi, _shipper, _cm(_config)])) == {{"id": "PHI-LOG-001", "urn": _shipper_urn, "msg": "PHI-LOG-001: no log forwarder that will run ships to the declared SIEM siem.example-hospital.org: the plan has no Fluent Bit DaemonSet for this AuditLogShipping"}}
}

# A declared weakening denies even when the deployed forwarder is safe (a cross-check).
test_denied_declared_weak_transport if {
	props := object.union(_props, {"protocol": "syslog-tcp", "min_tls_version": "1.2", "verify_certificate": false})
	phi_log_001.findings(fx.ctx([_phi, _shipper_with(props), _cm(_config), _ds(_pod)])) == {{"id": "PHI-LOG-001", "urn": _shipper_urn, "msg": "PHI-LOG-001: the declared log shipping is weakened: min_tls_version is not 1.3; protocol is not syslog-tls or https; the SIEM certificate is not verified"}}
}

test_denied_declared_audit_source_dropped if {
	props := object.union(_props, {"sources": ["container"]})
	phi_log_001.findings(fx.ctx([_phi, _shipper_with(props), _cm(_config), _ds(_pod)])) == {{"id": "PHI-LOG-001", "urn": _shipper_urn, "msg": "PHI-LOG-001: the declared log shipping is weakened: the kubernetes-audit source is not shipped; the phistack-audit source is not shipped"}}
}

# siem_host an in-cluster short name: the declaration denies, and the forwarder no longer ships to it.
test_denied_declared_siem_host_short_name if {
	props := object.union(_props, {"siem_host": "siem-collector"})
	phi_log_001.findings(fx.ctx([_phi, _shipper_with(props), _cm(_config), _ds(_pod)])) == {
		{"id": "PHI-LOG-001", "urn": _shipper_urn, "msg": "PHI-LOG-001: the declared log shipping is weakened: siem_host is not an external host name"},
		{"id": "PHI-LOG-001", "urn": _ds_urn, "msg": concat("", [_prefix, "output[0] (syslog) host siem.example-hospital.org is not the declared siem_host"])},
	}
}

test_denied_declared_siem_host_service_of_the_plan if {
	props := object.union(_props, {"siem_host": "siem-collector.phistack-logging"})
	text := _edit("host: siem.example-hospital.org", "host: siem-collector.phistack-logging")
	phi_log_001.findings(fx.ctx([_phi, _shipper_with(props), _cm(text), _ds(_pod)])) == {
		{"id": "PHI-LOG-001", "urn": _shipper_urn, "msg": "PHI-LOG-001: the declared log shipping is weakened: siem_host is not an external host name"},
		{"id": "PHI-LOG-001", "urn": _ds_urn, "msg": concat("", [_prefix, "output[0] (syslog) host siem-collector.phistack-logging is a cluster-internal <service>.<namespace> name"])},
	}
}

test_missing_declared_fields if {
	phi_log_001.findings(fx.ctx([_phi, _shipper_with({"siem_host": "siem.example-hospital.org"}), _cm(_config), _ds(_pod)])) == {{"id": "PHI-LOG-001", "urn": _shipper_urn, "msg": "PHI-LOG-001: the declared log shipping is weakened: min_tls_version is not 1.3; protocol is not syslog-tls or https; the SIEM certificate is not verified; the kubernetes-audit source is not shipped; the phistack-audit source is not shipped"}}
}

# --- the output: TLS, verification, host -----------------------------------------------------------------

test_denied_tls_off if {
	_deny_text(_edit("tls: 'on'", "tls: 'off'")) == _denied(["output[0] (syslog) tls is not on"])
}

test_missing_tls_key if {
	_deny_text(_edit(concat(_nl, ["    tls: 'on'", ""]), "")) == _denied(["output[0] (syslog) tls is not on"])
}

test_denied_tls_verify_off if {
	_deny_text(_edit("tls.verify: 'on'", "tls.verify: 'off'")) == _denied(["output[0] (syslog) tls.verify is not on"])
}

test_denied_tls_verify_yaml_false if {
	_deny_text(_edit("tls.verify: 'on'", "tls.verify: false")) == _denied(["output[0] (syslog) tls.verify is not on"])
}

# Anything that is not clearly on is off.
test_denied_tls_verify_unclear if {
	_deny_text(_edit("tls.verify: 'on'", "tls.verify: 'enabled'")) == _denied(["output[0] (syslog) tls.verify is not on"])
}

test_denied_tls_verify_hostname_off if {
	_deny_text(_edit("tls.verify_hostname: 'on'", "tls.verify_hostname: 'off'")) == _denied(["output[0] (syslog) tls.verify_hostname is not on"])
}

test_denied_tls_min_version_12 if {
	_deny_text(_edit("TLSv1.3", "TLSv1.2")) == _denied(["output[0] (syslog) tls.min_version is not TLSv1.3"])
}

test_denied_syslog_mode_tcp if {
	_deny_text(_edit("mode: tls", "mode: tcp")) == _denied(["output[0] (syslog) mode is not tls"])
}

test_missing_host if {
	_deny_text(_edit(concat(_nl, ["  - host: siem.example-hospital.org", "    match"]), "  - match")) == _denied(["output[0] (syslog) has no host"])
}

test_denied_host_in_cluster_service_name if {
	_deny_text(_edit("host: siem.example-hospital.org", "host: siem-collector.phistack-logging")) == _denied([
		"output[0] (syslog) host siem-collector.phistack-logging is a cluster-internal <service>.<namespace> name",
		"output[0] (syslog) host siem-collector.phistack-logging is not the declared siem_host",
	])
}

test_denied_host_svc_cluster_local if {
	_deny_text(_edit("host: siem.example-hospital.org", "host: siem.phistack-logging.svc.cluster.local")) == _denied([
		"output[0] (syslog) host siem.phistack-logging.svc.cluster.local is a cluster DNS name (*.svc, *.cluster.local, *.local, *.pod)",
		"output[0] (syslog) host siem.phistack-logging.svc.cluster.local is not the declared siem_host",
	])
}

test_denied_host_short_name if {
	_deny_text(_edit("host: siem.example-hospital.org", "host: siem")) == _denied([
		"output[0] (syslog) host siem is a short name that resolves inside the cluster",
		"output[0] (syslog) host siem is not the declared siem_host",
	])
}

test_denied_host_localhost if {
	_deny_text(_edit("host: siem.example-hospital.org", "host: localhost")) == _denied([
		"output[0] (syslog) host localhost is a loopback name",
		"output[0] (syslog) host localhost is not the declared siem_host",
	])
}

test_denied_host_loopback_ip if {
	_deny_text(_edit("host: siem.example-hospital.org", "host: 127.0.0.1")) == _denied([
		"output[0] (syslog) host 127.0.0.1 is an IP literal that is not a plain public or private address (loopback, link-local, unspecified or abbreviated)",
		"output[0] (syslog) host 127.0.0.1 is not the declared siem_host",
	])
}

# inet_aton reads 127.1 as 127.0.0.1.
test_denied_host_abbreviated_ip if {
	_deny_text(_edit("host: siem.example-hospital.org", "host: '127.1'")) == _denied([
		"output[0] (syslog) host 127.1 is an IP literal that is not a plain public or private address (loopback, link-local, unspecified or abbreviated)",
		"output[0] (syslog) host 127.1 is not the declared siem_host",
	])
}

test_denied_host_link_local if {
	_deny_text(_edit("host: siem.example-hospital.org", "host: 169.254.169.254")) == _denied([
		"output[0] (syslog) host 169.254.169.254 is an IP literal that is not a plain public or private address (loopback, link-local, unspecified or abbreviated)",
		"output[0] (syslog) host 169.254.169.254 is not the declared siem_host",
	])
}

# An external host that is not the declared SIEM.
test_denied_host_not_declared if {
	_deny_text(_edit("host: siem.example-hospital.org", "host: logs.example.net")) == _denied(["output[0] (syslog) host logs.example.net is not the declared siem_host"])
}

test_allowed_host_case_and_trailing_dot if {
	_deny_text(_edit("host: siem.example-hospital.org", "host: SIEM.Example-Hospital.org.")) == set()
}

# Every output must be safe: an extra plaintext output leaks the logs.
test_denied_extra_forward_output if {
	text := _edit(concat(_nl, ["  outputs:", ""]), concat(_nl, [
	"  outputs:",
	"  - host: collector.example-hospital.org",
	"    match: '*'",
	"    name: forward",
	"    port: 24224",
	"",
]))
	_deny_text(text) == _denied(["output[0] (forward) is a plugin the gate does not understand"])
}

test_denied_extra_plain_http_output if {
	extra := concat(_nl, [
	"    tls.verify_hostname: 'on'",
	"  - host: siem.example-hospital.org",
	"    match: audit.*",
	"    name: http",
	"    port: 80",
	"    tls: 'off'",
	"",
])
	_deny_text(_edit(concat(_nl, ["    tls.verify_hostname: 'on'", ""]), extra)) == _denied([
		"output[1] (http) tls is not on",
		"output[1] (http) tls.min_version is not TLSv1.3",
		"output[1] (http) tls.verify is not on",
		"output[1] (http) tls.verify_hostname is not on",
	])
}

# A property that redirects verification (tls.vhost) or routing (match_regex) is not understood.
test_denied_unknown_output_property if {
	_deny_text(_edit("tls: 'on'", concat(_nl, ["tls: 'on'", "    tls.vhost: attacker.example.net"]))) == _denied(["output[0] (syslog) has the property tls.vhost, which the gate does not understand"])
}

# The audit records (audit.kubernetes, audit.phistack) are no longer shipped.
test_denied_output_match_narrowed if {
	_deny_text(_edit("match: '*'", "match: kube.*")) == _denied([
		"filter[1] (rewrite_tag) has a rule that is not understood or re-tags records to a tag no output ships",
		"no input tails /var/log/kubernetes/audit/*.log under a tag an output ships: the Kubernetes audit log is not shipped",
	])
}

# --- the inputs and filters --------------------------------------------------------------------------------

test_denied_audit_input_removed if {
	_deny_text(_edit(concat(_nl, [
	"  - db: /var/lib/phistack-log-buffer/audit.db",
	"    name: tail",
	"    path: /var/log/kubernetes/audit/*.log",
	"    storage.type: filesystem",
	"    tag: audit.kubernetes",
	"",
]), "")) == _denied(["no input tails /var/log/kubernetes/audit/*.log under a tag an output ships: the Kubernetes audit log is not shipped"])
}

test_denied_container_input_path_changed if {
	_deny_text(_edit("path: /var/log/containers/*.log", "path: /var/log/containers/nothing-*.log")) == _denied(["no input tails /var/log/containers/*.log under a tag an output ships: the container logs (the phistack runtime's audit records) is not shipped"])
}

test_denied_exclude_path if {
	_deny_text(_edit(concat(_nl, ["    tag: audit.kubernetes", ""]), concat(_nl, ["    tag: audit.kubernetes", "    exclude_path: /var/log/kubernetes/audit/*.log", ""]))) == _denied(["input[1] (tail) has the property exclude_path, which the gate does not understand"])
}

# Pods could opt out of shipping with an annotation.
test_denied_kubernetes_filter_exclude if {
	_deny_text(_edit("merge_log: 'on'", concat(_nl, ["merge_log: 'on'", "    k8s-logging.exclude: 'on'"]))) == _denied(["filter[0] (kubernetes) has the property k8s-logging.exclude, which the gate does not understand"])
}

test_denied_grep_filter if {
	_deny_text(_edit(concat(_nl, ["  filters:", ""]), concat(_nl, [
	"  filters:",
	"  - exclude: log .*",
	"    match: audit.*",
	"    name: grep",
	"",
]))) == _denied(["filter[0] (grep) is a plugin the gate does not understand"])
}

# --- a configuration the gate cannot read ----------------------------------------------------------------

test_denied_config_unparsable if {
	_deny_text(concat(_nl, ["pipeline: [outputs: [name: syslog", "  tls: on", ""])) == _denied(["its configuration is not valid YAML (a classic-format configuration is not understood)"])
}

test_denied_config_classic_format if {
	_deny_text(concat(_nl, [
	"[SERVICE]",
	"    Flush 1",
	"[OUTPUT]",
	"    Name syslog",
	"    Match *",
	"    Host siem.example-hospital.org",
	"    Mode tls",
	"    tls On",
	"",
])) == _denied(["its configuration is not valid YAML (a classic-format configuration is not understood)"])
}

test_denied_config_empty if {
	_deny_text("") == _denied(["its configuration is empty"])
}

test_denied_config_not_a_mapping if {
	_deny_text(concat(_nl, ["just text", ""])) == _denied(["its configuration is not a YAML mapping"])
}

test_denied_environment_substitution if {
	_deny_text(_edit("host: siem.example-hospital.org", "host: ${SIEM_HOST}")) == _denied(["its configuration contains '{' (flow mappings and ${...} environment substitution are not understood)"])
}

test_denied_yaml_escape if {
	_deny_text(_edit("tls.verify: 'on'", concat("", ["tls.verify: ", _dq, _bs, "x6fn", _dq]))) == _denied(["its configuration contains a backslash (YAML escapes are not understood)"])
}

test_denied_yaml_alias if {
	_deny_text(_edit("tls: 'on'", concat(_nl, ["tls: &t 'on'", "    tls.verify_x: *t"]))) == _denied(["its configuration uses YAML anchors, aliases or tags"])
}

# Both engines keep the last of two equal keys; Fluent Bit may keep the first.
test_denied_repeated_key if {
	_deny_text(_edit(concat(_nl, ["    tls: 'on'", ""]), concat(_nl, ["    tls: 'off'", "    tls: 'on'", ""]))) == _denied(["its configuration repeats a key (or writes one where the gate cannot read it)"])
}

# Fluent Bit's keys are case-insensitive.
test_denied_key_in_another_case if {
	_deny_text(_edit(concat(_nl, ["    tls: 'on'", ""]), concat(_nl, ["    tls: 'on'", "    TLS: 'off'", ""]))) == _denied(["output[0] (syslog) repeats a key in another case"])
}

test_denied_unknown_top_level_section if {
	_deny_text(concat("", [_config, concat(_nl, ["includes:", "- extra.yaml", ""])])) == _denied(["the configuration has the property includes, which the gate does not understand"])
}

test_denied_config_secret if {
	_deny_with(_cm_named("log-forwarder-config", _ns, {"fluent-bit.yaml": {"__secret__": true}}), _ds(_pod)) == _denied(["ConfigMap log-forwarder-config has no text under the key fluent-bit.yaml the forwarder loads"])
}

# --- what the DaemonSet loads --------------------------------------------------------------------------

test_denied_config_key_renamed if {
	_deny_with(_cm_named("log-forwarder-config", _ns, {"fluent-bit.yml": _config}), _ds(_pod)) == _denied(["ConfigMap log-forwarder-config has no text under the key fluent-bit.yaml the forwarder loads"])
}

test_denied_configmap_removed if {
	phi_log_001.findings(fx.ctx([_phi, _shipper, _ds(_pod)])) == _denied(["it loads ConfigMap phistack-logging/log-forwarder-config, which the plan does not create"])
}

test_denied_configmap_in_another_namespace if {
	_deny_with(_cm_named("log-forwarder-config", "default", {"fluent-bit.yaml": _config}), _ds(_pod)) == _denied(["it loads ConfigMap phistack-logging/log-forwarder-config, which the plan does not create"])
}

test_denied_config_volume_repointed if {
	volumes := array.concat([{"name": "config", "configMap": {"name": "fluent-bit-handwritten"}}], array.slice(_volumes, 1, 3))
	_deny_pod(_pod_with([_container], volumes, [{"operator": "Exists"}])) == _denied(["it loads ConfigMap phistack-logging/fluent-bit-handwritten, which the plan does not create"])
}

test_denied_config_from_empty_dir if {
	volumes := array.concat([{"name": "config", "emptyDir": {}}], array.slice(_volumes, 1, 3))
	_deny_pod(_pod_with([_container], volumes, [{"operator": "Exists"}])) == _denied(["the configuration file it loads is not in a ConfigMap volume (only configMap volumes are understood)"])
}

test_denied_args_other_config if {
	pod := _pod_with([_container_with(["--config=/etc/fluent-bit-local/fluent-bit.yaml"], _mounts)], _volumes, [{"operator": "Exists"}])
	_deny_pod(pod) == _denied(["the configuration file it loads is not mounted from a volume of its pod"])
}

# A command-line output (-o) would ship next to the judged configuration.
test_denied_args_extra_output if {
	pod := _pod_with([_container_with(["--config=/fluent-bit/etc/fluent-bit.yaml", "-o", "stdout"], _mounts)], _volumes, [{"operator": "Exists"}])
	_deny_pod(pod) == _denied(["its container's args do not name exactly one configuration file (--config=<file> or -c <file>, nothing else)"])
}

test_missing_args if {
	pod := _pod_with([object.remove(_container, ["args"])], _volumes, [{"operator": "Exists"}])
	_deny_pod(pod) == _denied(["its container's args do not name exactly one configuration file (--config=<file> or -c <file>, nothing else)"])
}

test_denied_command_override if {
	pod := _pod_with([object.union(_container, {"command": ["/bin/sh", "-c"]})], _volumes, [{"operator": "Exists"}])
	_deny_pod(pod) == _denied(["its container overrides the command (only /fluent-bit/bin/fluent-bit is understood)"])
}

test_denied_path_traversal if {
	pod := _pod_with([_container_with(["--config=/fluent-bit/etc/../fluent-bit.yaml"], _mounts)], _volumes, [{"operator": "Exists"}])
	_deny_pod(pod) == _denied(["the configuration file it loads is not a plain absolute path"])
}

test_denied_classic_config_file if {
	pod := _pod_with([_container_with(["--config=/fluent-bit/etc/fluent-bit.conf"], _mounts)], _volumes, [{"operator": "Exists"}])
	_deny_pod(pod) == _denied(["the configuration file it loads is not YAML (.yaml or .yml): a classic-format configuration is not understood"])
}

test_denied_sidecar if {
	sidecar := {"name": "shipper", "image": "registry.example.net/shipper@sha256:89e7a0272792aa172c1995cb3f683ff50c9e1782c8b89a41900f737b586a6efa"}
	_deny_pod(_pod_with([_container, sidecar], _volumes, [{"operator": "Exists"}])) == _denied(["its pod must run exactly one container, Fluent Bit"])
}

test_denied_not_fluent_bit if {
	pod := _pod_with([object.union(_container, {"image": "registry.example.net/forwarder:1"})], _volumes, [{"operator": "Exists"}])
	_deny_pod(pod) == _denied(["its container does not run a Fluent Bit image"])
}

# The node's logs are replaced by an empty directory: nothing to ship.
test_denied_logs_from_empty_dir if {
	volumes := [_volumes[0], {"name": "varlog", "emptyDir": {}}, _volumes[2]]
	_deny_pod(_pod_with([_container], volumes, [{"operator": "Exists"}])) == _denied([
		"it does not read the node's /var/log/containers (a read-only hostPath mount of that directory)",
		"it does not read the node's /var/log/kubernetes/audit (a read-only hostPath mount of that directory)",
		"it does not read the node's /var/log/pods (a read-only hostPath mount of that directory)",
	])
}

# A second Fluent Bit DaemonSet, outside AuditLogShipping, ships in plaintext: denied too.
test_denied_second_forwarder_plaintext if {
	rogue := object.union(_ds_named("rogue", _pod), {"parent": null, "urn": fx.urn("kubernetes:apps/v1:DaemonSet", "rogue")})
	cm := _cm(_edit("tls: 'on'", "tls: 'off'"))
	findings := phi_log_001.findings(fx.ctx([_phi, _shipper, cm, _ds(_pod), rogue]))
	findings == {
		{"id": "PHI-LOG-001", "urn": _ds_urn, "msg": concat("", [_prefix, "output[0] (syslog) tls is not on"])},
		{"id": "PHI-LOG-001", "urn": rogue.urn, "msg": concat("", [_prefix, "output[0] (syslog) tls is not on"])},
	}
}

# --- scheduling: on the PHI nodes --------------------------------------------------------------------------

test_denied_tolerations_removed if {
	_deny_pod(object.remove(_pod, ["tolerations"])) == _denied(["it does not tolerate every taint PHI workload nlp tolerates (nvidia.com/gpu Exists NoSchedule)"])
}

test_denied_toleration_of_another_effect if {
	_deny_pod(_pod_with([_container], _volumes, [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}])) == _denied(["it does not tolerate every taint PHI workload nlp tolerates (nvidia.com/gpu Exists NoSchedule)"])
}

# A NoExecute toleration with tolerationSeconds gets the forwarder evicted.
test_denied_toleration_seconds if {
	_deny_pod(_pod_with([_container], _volumes, [{"operator": "Exists", "tolerationSeconds": 60}])) == _denied(["it does not tolerate every taint PHI workload nlp tolerates (nvidia.com/gpu Exists NoSchedule)"])
}

test_denied_node_selector_no_gpu if {
	_deny_pod(object.union(_pod, {"nodeSelector": {"nvidia.com/gpu.present": "false"}})) == _denied(["its nodeSelector nvidia.com/gpu.present may keep it off the nodes of PHI workload nlp"])
}

test_denied_node_selector_system_pool if {
	_deny_pod(object.union(_pod, {"nodeSelector": {"node-role.kubernetes.io/control-plane": ""}})) == _denied(["its nodeSelector node-role.kubernetes.io/control-plane may keep it off the nodes of PHI workload nlp"])
}

test_denied_required_node_affinity if {
	affinity := {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["system"]}]}]}}}
	_deny_pod(object.union(_pod, {"affinity": affinity})) == _denied(["it has a required nodeAffinity, which may keep it off the PHI nodes"])
}

test_denied_node_name if {
	_deny_pod(object.union(_pod, {"nodeName": "system-0"})) == _denied(["its pod sets nodeName, which may keep it off the PHI nodes"])
}

# The PHI workload's RuntimeClass adds a toleration the forwarder lacks.
test_denied_runtime_class_toleration_not_covered if {
	rc := object.union(fx.runtime_class("kata-qemu-nvidia-gpu-snp", fx.cc_selector), {"inputs": {
		"apiVersion": "node.k8s.io/v1",
		"kind": "RuntimeClass",
		"metadata": {"name": "kata-qemu-nvidia-gpu-snp"},
		"handler": "kata-qemu-nvidia-gpu-snp",
		"scheduling": {"nodeSelector": fx.cc_selector, "tolerations": [{"key": "confidential", "operator": "Equal", "value": "snp", "effect": "NoSchedule"}]},
	}})
	pod := _pod_with([_container], _volumes, [{"key": "nvidia.com/gpu", "operator": "Exists"}])
	phi_log_001.findings(fx.ctx([_phi, rc, _shipper, _cm(_config), _ds(pod)])) == _denied(["it does not tolerate every taint PHI workload nlp tolerates (confidential Equal NoSchedule)"])
}

# --- unknown values ----------------------------------------------------------------------------------------

test_unknown_siem_host if {
	props := object.union(_props, {"siem_host": fx.unknown})
	phi_log_001.findings(fx.ctx([_phi, _shipper_with(props), _cm(_config), _ds(_pod)])) == {{"id": "PHI-LOG-001", "urn": _shipper_urn, "msg": "PHI-LOG-001: the SIEM destination is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["siem_host"]}}
}

test_unknown_config_text if {
	_deny_with(_cm_named("log-forwarder-config", _ns, {"fluent-bit.yaml": fx.unknown}), _ds(_pod)) == {{"id": "PHI-LOG-001", "urn": _cm_urn, "msg": "PHI-LOG-001: the log forwarder's launch or configuration is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["data[\"fluent-bit.yaml\"]"]}}
}

test_unknown_config_data if {
	_deny_with(_cm_named("log-forwarder-config", _ns, fx.unknown), _ds(_pod)) == {{"id": "PHI-LOG-001", "urn": _cm_urn, "msg": "PHI-LOG-001: the log forwarder's launch or configuration is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["data"]}}
}

test_unknown_tolerations if {
	_deny_pod(_pod_with([_container], _volumes, fx.unknown)) == {{"id": "PHI-LOG-001", "urn": _ds_urn, "msg": "PHI-LOG-001: the log forwarder's launch or configuration is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["spec.template.spec.tolerations"]}}
}

test_unknown_args if {
	pod := _pod_with([_container_with(["--config=/fluent-bit/etc/fluent-bit.yaml", fx.unknown], _mounts)], _volumes, [{"operator": "Exists"}])
	_deny_pod(pod) == {{"id": "PHI-LOG-001", "urn": _ds_urn, "msg": "PHI-LOG-001: the log forwarder's launch or configuration is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["spec.template.spec.containers[0].args[1]"]}}
}

test_unknown_config_volume if {
	volumes := array.concat([{"name": "config", "configMap": {"name": fx.unknown}}], array.slice(_volumes, 1, 3))
	_deny_pod(_pod_with([_container], volumes, [{"operator": "Exists"}])) == {{"id": "PHI-LOG-001", "urn": _ds_urn, "msg": "PHI-LOG-001: the log forwarder's launch or configuration is unknown at plan time; the control cannot be verified, so it fails closed", "unknown": ["spec.template.spec.volumes[0].configMap.name"]}}
}
