# METADATA
# title: Audit logs ship to an external SIEM over TLS 1.3, from a forwarder that runs on the PHI nodes
# description: A stack that handles PHI declares AuditLogShipping and deploys a log forwarder that will
#   run and ship there. The gate judges what Kubernetes runs, not the component's declared props alone
#   - a DaemonSet running Fluent Bit, started with --config naming a YAML file that its pod mounts from a
#   ConfigMap of the plan in its namespace. That configuration is parsed - every output is syslog with
#   mode tls or http, with tls, tls.verify and tls.verify_hostname on and tls.min_version TLSv1.3, to a
#   host outside the cluster (no short, *.svc, *.cluster.local, <service>.<namespace>, loopback or
#   link-local name) that is the declared siem_host. The inputs tail the Kubernetes audit log and the
#   container logs (the phistack runtime writes its audit records to stdout), and an output ships
#   their tags. The DaemonSet tolerates every taint the PHI workloads tolerate and no nodeSelector,
#   required affinity, nodeName or runtime class keeps it off their nodes. A configuration the gate
#   cannot read (classic format, YAML it cannot parse, a plugin or property it does not know, a repeated
#   key, anchors, environment substitution, a ConfigMap not in the plan) denies. Declared settings are a
#   cross-check - a weakened declaration denies too. Unknown values fail closed.
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(b)
#   description: '45 CFR 164.312(b) Audit controls: Implement hardware, software, and/or procedural mechanisms
#     that record and examine activity in information systems that contain or use electronic protected health
#     information.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(D)
#   description: '45 CFR 164.308(a)(1)(ii)(D) Information system activity review (Required): Implement procedures
#     to regularly review records of information system activity, such as audit logs, access reports, and
#     security incident tracking reports.'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(e)(1)
#   description: '45 CFR 164.312(e)(1) Transmission security: Implement technical security measures to guard
#     against unauthorized access to electronic protected health information that is being transmitted over
#     an electronic communications network.'
# custom:
#   id: PHI-LOG-001
#   severity: critical
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(b)
#     title: Audit controls
#     type: required
#   - cfr: 45 CFR 164.308(a)(1)(ii)(D)
#     title: Information system activity review
#     type: required
#   - cfr: 45 CFR 164.312(e)(1)
#     title: Transmission security
#     type: required
#   remediation: Deploy the forwarder with AuditLogShipping (siem_host the SIEM's external DNS name, protocol
#     syslog-tls or https, min_tls_version "1.3", verify_certificate true, the kubernetes-audit and
#     phistack-audit sources) and do not edit its ConfigMap or DaemonSet by hand.
package phistack.rules.logging.phi_log_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := _findings(ctx, _judged(ctx, forwarders(ctx))) if ctx.handles_phi

else := set()

# Each forwarder is read once and judged once: {"fw": forwarder, "problems": set or "unknown"}.
_judged(ctx, fws) := [j |
	some fw in fws
	j := {"fw": fw, "problems": _problems_or_unknown(ctx, fw)}
]

_problems_or_unknown(ctx, fw) := "unknown" if fw.launch.unknown

else := _problems(ctx, fw)

_findings(ctx, judged) := ({f |
	count(lib.components(ctx, "AuditLogShipping")) == 0
	f := lib.finding("PHI-LOG-001", ctx.stack_urn, "the stack handles PHI but declares no AuditLogShipping: audit logs do not reach the organisation's SIEM")
} | {f |
	some s in lib.components(ctx, "AuditLogShipping")
	f := _component_finding(ctx, judged, s)
}) | {f |
	some j in judged
	f := _forwarder_finding(j)
}

# --- the forwarders: shared with PHI-LOG-002 and PHI-LOG-003 -----------------------------------------
#
# A forwarder is a DaemonSet an AuditLogShipping deploys or one whose containers run a Fluent Bit
# image. forwarders(ctx) reads each one the way Kubernetes and Fluent Bit would and returns
# {"resource": the DaemonSet, "launch": L} where L is one of
#   {"unknown": {"urn": u, "paths": [...]}}  a value the launch depends on is unknown at plan time
#   {"problems": [...]}                      the configuration it loads is not understood
#   {"container": c, "config": cfg}          c the Fluent Bit container, cfg the parsed configuration
# with "configmap" added once the ConfigMap it loads is found. cfg is {"service": {...}, "inputs":
# [...], "filters": [...], "outputs": [...]}, every key lower-case (Fluent Bit's keys are
# case-insensitive), every plugin and property one the gate knows.
forwarders(ctx) := [fw |
	some ds in lib.of_type(ctx, "kubernetes:apps/v1:DaemonSet")
	_is_forwarder(ctx, ds)
	fw := {"resource": ds, "launch": _launch(ctx, ds)}
]

# The volume, mount and path inside the volume that a path of the forwarder container resolves to:
# the longest mountPath that contains it. Undefined when no mount (or more than one) contains it.
mount_source(ds, c, path) := {"mount": m, "volume": v, "rel": _rel(_trim(m.mountPath), path)} if {
	mounts := [m |
		some m in object.get(c, "volumeMounts", [])
		_covers(m.mountPath, path)
	]
	count(mounts) > 0
	longest := max([count(_trim(m.mountPath)) | some m in mounts])
	best := [m | some m in mounts; count(_trim(m.mountPath)) == longest]
	count(best) == 1
	m := best[0]
	volumes := [v | some v in object.get(lib.pod_spec(ds), "volumes", []); v.name == m.name]
	count(volumes) == 1
	v := volumes[0]
}

# The node directory a path of the forwarder container shows (through a hostPath volume), and
# whether the container may write it.
host_path(ds, c, path) := {"path": concat("", [_trim(src.volume.hostPath.path), _suffix(src.rel)]), "writable": object.get(src.mount, "readOnly", false) != true} if {
	src := mount_source(ds, c, path)
	is_string(src.volume.hostPath.path)
	object.get(src.mount, "subPath", "") == ""
	object.get(src.mount, "subPathExpr", "") == ""
}

# A plain absolute path: no `.` or `..` segments, no doubled or trailing slash.
plain_path(p) if regex.match(`^(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+$`, p)

# Fluent Bit's reading of a boolean property: on, true or yes (any case), or a YAML true. Anything
# else, missing included, is off.
fluent_on(v) if v == true

fluent_on(v) if {
	is_string(v)
	lower(trim_space(v)) in {"on", "true", "yes"}
}

# A property as a lower-case string ("" when it is missing or not a string).
fluent_string(m, key) := lower(trim_space(m[key])) if is_string(m[key])

else := ""

# --- findings ---------------------------------------------------------------------------------------

_component_finding(ctx, judged, s) := lib.unknown_finding("PHI-LOG-001", s.urn, "the SIEM destination", paths) if {
	paths := lib.unknown_props(s, _fields)
	count(paths) > 0
} else := lib.finding("PHI-LOG-001", s.urn, concat("", ["the declared log shipping is weakened: ", concat("; ", lib.sorted(problems))])) if {
	problems := _declared_problems(ctx, s.inputs)
	count(problems) > 0
} else := lib.finding("PHI-LOG-001", s.urn, concat("", ["no log forwarder that will run ships to the declared SIEM ", s.inputs.siem_host, ": the plan has no Fluent Bit DaemonSet for this AuditLogShipping"])) if {
	not _owns_forwarder(ctx, judged, s)
	not _served(judged, s.inputs.siem_host)
}

_forwarder_finding(j) := lib.unknown_finding("PHI-LOG-001", j.fw.launch.unknown.urn, "the log forwarder's launch or configuration", j.fw.launch.unknown.paths) if {
	j.problems == "unknown"
} else := lib.finding("PHI-LOG-001", j.fw.resource.urn, concat("", ["log forwarder ", _display(j.fw.resource), " does not ship audit logs safely to the external SIEM: ", concat("; ", lib.sorted(j.problems))])) if {
	is_set(j.problems)
	count(j.problems) > 0
}

_display(r) := concat("/", [lib.namespace_of(r), lib.name_of(r)])

# A value of the plan or of a configuration, shown in a message only when it is made of plain
# characters: a quote or a control character does not survive every engine's output.
_shown(v) := v if {
	is_string(v)
	regex.match(`^[A-Za-z0-9._/:@*+=<>-]{1,100}$`, v)
} else := "(a value not shown)"

# Declared settings: a cross-check of the component, never the only evidence.
_fields := ["siem_host", "protocol", "min_tls_version", "verify_certificate", "sources"]

_declared_problems(ctx, p) := {m | some m in [
	_check(object.get(p, "protocol", "") in {"syslog-tls", "https"}, "protocol is not syslog-tls or https"),
	_check(object.get(p, "min_tls_version", "") == "1.3", "min_tls_version is not 1.3"),
	_check(object.get(p, "verify_certificate", false) == true, "the SIEM certificate is not verified"),
	_check(_declared_host_ok(ctx, object.get(p, "siem_host", "")), "siem_host is not an external host name"),
	_check("kubernetes-audit" in object.get(p, "sources", []), "the kubernetes-audit source is not shipped"),
	_check("phistack-audit" in object.get(p, "sources", []), "the phistack-audit source is not shipped"),
]; m != ""}

_check(ok, message) := "" if ok

else := message

# A boolean either way: an undefined argument would drop the whole list of checks.
_declared_host_ok(ctx, host) := true if {
	lib.non_empty_string(host)
	count(_host_problems(ctx, host)) == 0
} else := false

# --- which DaemonSets are forwarders, and whom they serve --------------------------------------------

_is_forwarder(ctx, ds) if count(_owners(ctx, ds)) > 0

_is_forwarder(_, ds) if {
	some c in lib.containers(ds)
	is_string(c.container.image)
	_fluent_bit_image(c.container.image)
}

_fluent_bit_image(image) if regex.match(`^([^/@\s]+/)*fluent-bit(:[^/@\s]+)?(@sha256:[0-9a-f]{64})?$`, image)

# The AuditLogShipping components a resource descends from.
_owners(ctx, r) := [s |
	some a in lib.ancestors(ctx, r)
	s := ctx.by_urn[a]
	lib.component_kind(s) == "AuditLogShipping"
]

_owns_forwarder(ctx, judged, s) if {
	some j in judged
	some o in _owners(ctx, j.fw.resource)
	o.urn == s.urn
}

# Some forwarder that passes every check has an output to `host`.
_served(judged, host) if {
	some j in judged
	j.fw.launch.config
	is_set(j.problems)
	count(j.problems) == 0
	some o in j.fw.launch.config.outputs
	_norm_host(fluent_string(o, "host")) == _norm_host(host)
}

# The SIEM hosts a forwarder may ship to: its owners' siem_host, or every declared one when no
# AuditLogShipping owns it; "unknown" when an owner's host is unknown (that component denies).
_expected_hosts(ctx, ds) := "unknown" if {
	some s in _owners(ctx, ds)
	lib.is_unknown(object.get(s.inputs, "siem_host", null))
} else := hosts if {
	owners := _owners(ctx, ds)
	count(owners) > 0
	hosts := {h | some s in owners; is_string(s.inputs.siem_host); h := _norm_host(s.inputs.siem_host)}
} else := hosts if {
	hosts := {h | some s in lib.components(ctx, "AuditLogShipping"); is_string(s.inputs.siem_host); h := _norm_host(s.inputs.siem_host)}
}

_norm_host(h) := trim_suffix(lower(trim_space(h)), ".")

# --- launch: the container, the file it loads and the configuration in it ----------------------------

_spec := ["spec", "template", "spec"]

_spec_dotted := "spec.template.spec"

_launch(ctx, ds) := {"unknown": {"urn": ds.urn, "paths": paths}} if {
	paths := lib.sorted(_pod_unknowns(ds))
	count(paths) > 0
} else := {"problems": problems} if {
	problems := lib.sorted(_shape_problems(ds))
	count(problems) > 0
} else := launch if {
	launch := _launch_container(ctx, ds, lib.pod_spec(ds).containers[0])
} else := {"problems": ["the gate cannot tell how its container starts"]}

# Every value the launch, the scheduling or the log mounts depend on that is unknown at plan time.
_pod_unknowns(ds) := (((({p |
	some f in ["containers", "initContainers", "ephemeralContainers", "volumes", "tolerations", "nodeSelector", "affinity", "nodeName", "runtimeClassName", "schedulerName"]
	p := lib.unknown_path(ds.inputs, array.concat(_spec, [f]))
} | {p | p := lib.unknown_path(ds.inputs, ["metadata", "namespace"])}) | _container_unknowns(ds)) | _volume_unknowns(ds)) | _toleration_unknowns(ds)) | _selector_unknowns(ds)

_container_unknowns(ds) := {p |
	cs := object.get(lib.pod_spec(ds), "containers", [])
	is_array(cs)
	some i
	c := cs[i]
	base := concat("", [_spec_dotted, ".containers[", format_int(i, 10), "]"])
	some p in _one_container_unknowns(c, base)
}

_one_container_unknowns(c, base) := {base} if lib.is_unknown(c)

else := (({x |
	some f in ["image", "command", "args", "volumeMounts"]
	p := lib.unknown_path(c, [f])
	x := concat(".", [base, p])
} | _item_unknowns(c, "command", base)) | _item_unknowns(c, "args", base)) | {p |
	mounts := object.get(c, "volumeMounts", [])
	is_array(mounts)
	some i
	m := mounts[i]
	some p in _entry_unknowns(m, concat("", [base, ".volumeMounts[", format_int(i, 10), "]"]), ["name", "mountPath", "subPath", "subPathExpr", "readOnly"])
}

# base.field[i] for every unknown item of the list c[field].
_item_unknowns(c, field, base) := {x |
	items := object.get(c, field, [])
	is_array(items)
	some i
	item := items[i]
	lib.is_unknown(item)
	x := concat("", [base, ".", field, "[", format_int(i, 10), "]"])
}

# The entry itself, or those of its fields, that are unknown.
_entry_unknowns(e, base, fields) := {base} if lib.is_unknown(e)

else := {x |
	is_object(e)
	some f in fields
	p := lib.unknown_path(e, [f])
	x := concat(".", [base, p])
}

_volume_unknowns(ds) := {p |
	vs := object.get(lib.pod_spec(ds), "volumes", [])
	is_array(vs)
	some i
	v := vs[i]
	base := concat("", [_spec_dotted, ".volumes[", format_int(i, 10), "]"])
	some p in _one_volume_unknowns(v, base)
}

_one_volume_unknowns(v, base) := {base} if lib.is_unknown(v)

else := ({x |
	is_object(v)
	some path in [["name"], ["configMap"], ["configMap", "name"], ["configMap", "items"], ["hostPath"], ["hostPath", "path"]]
	p := lib.unknown_path(v, path)
	x := concat(".", [base, p])
} | _item_unknowns(object.get(v, "configMap", {}), "items", concat("", [base, ".configMap"]))) | {p |
	items := object.get(v, ["configMap", "items"], [])
	is_array(items)
	some i
	item := items[i]
	some p in _entry_unknowns(item, concat("", [base, ".configMap.items[", format_int(i, 10), "]"]), ["key", "path"])
}

_toleration_unknowns(ds) := {p |
	ts := object.get(lib.pod_spec(ds), "tolerations", [])
	is_array(ts)
	some i
	t := ts[i]
	some p in _entry_unknowns(t, concat("", [_spec_dotted, ".tolerations[", format_int(i, 10), "]"]), ["key", "operator", "value", "effect", "tolerationSeconds"])
}

_selector_unknowns(ds) := {x |
	sel := object.get(lib.pod_spec(ds), "nodeSelector", {})
	is_object(sel)
	some k
	value := sel[k]
	lib.is_unknown(value)
	x := concat("", [_spec_dotted, ".nodeSelector", _join_key(k)])
}

# How the plan writes a key in a dotted path (see phistack/plan/values.py).
_join_key(k) := concat("", ["[\"", k, "\"]"]) if contains(k, ".")

else := concat("", ["[\"", k, "\"]"]) if contains(k, "[")

else := concat("", [".", k])

# The pod runs exactly one container, Fluent Bit, and nothing else the gate would not judge.
_shape_problems(ds) := {m |
	cs := object.get(lib.pod_spec(ds), "containers", [])
	not _single(cs)
	m := "its pod must run exactly one container, Fluent Bit"
} | {m |
	some f in ["initContainers", "ephemeralContainers"]
	count(object.get(lib.pod_spec(ds), f, [])) > 0
	m := concat("", ["its pod has ", f, ", which the gate does not judge"])
}

_single(cs) if {
	is_array(cs)
	count(cs) == 1
	is_object(cs[0])
}

_launch_container(ctx, ds, c) := {"problems": problems} if {
	problems := lib.sorted(_container_problems(c))
	count(problems) > 0
} else := {"problems": ["its container's args do not name exactly one configuration file (--config=<file> or -c <file>, nothing else)"]} if {
	not _config_path(c)
} else := {"problems": ["the configuration file it loads is not a plain absolute path"]} if {
	not plain_path(_config_path(c))
} else := {"problems": ["the configuration file it loads is not YAML (.yaml or .yml): a classic-format configuration is not understood"]} if {
	not regex.match(`\.ya?ml$`, _config_path(c))
} else := launch if {
	launch := _launch_file(ctx, ds, c, _config_path(c))
} else := {"problems": ["the gate cannot resolve the configuration file it loads"]}

_container_problems(c) := {m |
	not _fluent_bit_container(c)
	m := "its container does not run a Fluent Bit image"
} | {m |
	not object.get(c, "command", null) in {null, ["/fluent-bit/bin/fluent-bit"]}
	m := "its container overrides the command (only /fluent-bit/bin/fluent-bit is understood)"
}

_fluent_bit_container(c) if {
	is_string(c.image)
	_fluent_bit_image(c.image)
}

# The one configuration file the args name: exactly `--config=<f>`, `-c <f>` or `--config <f>`.
_config_path(c) := substring(args[0], count("--config="), -1) if {
	args := c.args
	is_array(args)
	count(args) == 1
	is_string(args[0])
	startswith(args[0], "--config=")
} else := args[1] if {
	args := c.args
	is_array(args)
	count(args) == 2
	args[0] in {"-c", "--config"}
	is_string(args[1])
}

# The ConfigMap key behind a file of the container, and the ConfigMap's name.
_launch_file(ctx, ds, c, path) := {"problems": ["the configuration file it loads is not mounted from a volume of its pod"]} if {
	not mount_source(ds, c, path)
} else := {"problems": ["the configuration file it loads is not in a ConfigMap volume (only configMap volumes are understood)"]} if {
	not is_string(mount_source(ds, c, path).volume.configMap.name)
} else := {"problems": ["the configuration file it loads is mounted with subPathExpr, which the gate does not resolve"]} if {
	object.get(mount_source(ds, c, path).mount, "subPathExpr", "") != ""
} else := {"problems": ["the configuration file it loads is not a key of its ConfigMap"]} if {
	not _config_key(mount_source(ds, c, path))
} else := launch if {
	src := mount_source(ds, c, path)
	launch := _launch_map(ctx, ds, c, src.volume.configMap.name, _config_key(src))
} else := {"problems": ["the gate cannot resolve the ConfigMap it loads"]}

_config_key(src) := key if {
	file := _volume_file(src)
	not is_array(object.get(src.volume.configMap, "items", null))
	not contains(file, "/")
	file != ""
	key := file
} else := key if {
	file := _volume_file(src)
	keys := [item.key | some item in src.volume.configMap.items; item.path == file]
	count(keys) == 1
	key := keys[0]
	is_string(key)
}

# The file's path inside the volume (through subPath when the mount has one).
_volume_file(src) := src.rel if object.get(src.mount, "subPath", "") == ""

else := src.mount.subPath if src.rel == ""

else := concat("/", [src.mount.subPath, src.rel])

_launch_map(ctx, ds, c, name, key) := {"problems": [concat("", ["it loads ConfigMap ", lib.namespace_of(ds), "/", _shown(name), ", which the plan does not create"])]} if {
	count(_config_maps(ctx, ds, name)) == 0
} else := {"problems": [concat("", ["ConfigMap ", lib.namespace_of(ds), "/", _shown(name), " is declared more than once"])]} if {
	count(_config_maps(ctx, ds, name)) > 1
} else := launch if {
	cm := _config_maps(ctx, ds, name)[0]
	launch := object.union(_launch_text(c, cm, key), {"configmap": cm})
}

_config_maps(ctx, ds, name) := lib.named(ctx, "kubernetes:core/v1:ConfigMap", lib.namespace_of(ds), name)

_launch_text(c, cm, key) := {"unknown": {"urn": cm.urn, "paths": [p]}} if {
	p := lib.unknown_path(cm.inputs, ["data"])
} else := {"unknown": {"urn": cm.urn, "paths": [concat("", ["data", _join_key(key)])]}} if {
	lib.is_unknown(object.get(cm.inputs, ["data", key], null))
} else := {"problems": [concat("", ["ConfigMap ", lib.name_of(cm), " has no text under the key ", _shown(key), " the forwarder loads"])]} if {
	not is_string(object.get(cm.inputs, ["data", key], null))
} else := launch if {
	launch := _launch_parsed(c, cm.inputs.data[key])
} else := {"problems": ["the gate cannot read its configuration"]}

# Guards before parsing keep both engines on the same side: regopy hangs on an empty document and
# fails on YAML escapes, regorus fails on what is not YAML; anchors, aliases, tags, flow mappings,
# explicit keys and ${...} substitution are read differently by Fluent Bit, so they are refused.
_launch_parsed(c, text) := {"problems": problems} if {
	problems := lib.sorted(_text_problems(text))
	count(problems) > 0
} else := {"problems": ["its configuration is not valid YAML (a classic-format configuration is not understood)"]} if {
	not yaml.is_valid(text)
} else := launch if {
	doc := yaml.unmarshal(text)
	launch := _launch_structure(c, text, doc)
} else := {"problems": ["its configuration cannot be parsed as one YAML document"]}

_text_problems(text) := {m |
	trim_space(text) == ""
	m := "its configuration is empty"
} | {m |
	regex.match(`\\`, text)
	m := "its configuration contains a backslash (YAML escapes are not understood)"
} | {m |
	contains(text, "{")
	m := "its configuration contains '{' (flow mappings and ${...} environment substitution are not understood)"
} | {m |
	regex.match(`(^|[\s\[,])[&*!][^\s,\]]`, text)
	m := "its configuration uses YAML anchors, aliases or tags"
} | {m |
	regex.match(`(^|\n)[ \t-]*\?([ \t]|\n|$)`, text)
	m := "its configuration uses explicit YAML keys (?)"
}

_launch_structure(c, text, doc) := {"problems": problems} if {
	problems := lib.sorted(_structure_problems(text, doc))
	count(problems) > 0
} else := {"container": c, "config": cfg} if {
	cfg := _normalized(doc)
} else := {"problems": ["the gate cannot read its configuration's structure"]}

# --- the configuration's structure: only what the gate understands ----------------------------------

_top_keys := {"service", "pipeline"}

_pipeline_keys := {"inputs", "filters", "outputs"}

_service_keys := {"flush", "grace", "log_level", "storage.path", "storage.sync", "storage.checksum", "storage.backlog.mem_limit", "storage.max_chunks_up", "storage.metrics", "http_server", "http_listen", "http_port", "health_check", "hc_errors_count", "hc_retry_failure_count", "hc_period"}

_tls_keys := {"tls", "tls.verify", "tls.verify_hostname", "tls.min_version", "tls.ca_file", "tls.ca_path", "tls.crt_file", "tls.key_file", "tls.key_passwd", "tls.ciphers"}

# Known plugins and their known properties, by section. A property outside these (exclude_path,
# match_regex, processors, tls.vhost, k8s-logging.exclude, upstream, proxy, ...) can change what is
# read, dropped or where it goes: not understood.
_plugin_keys := {
	"inputs": {"tail": _tail_keys, "systemd": _systemd_keys},
	"filters": {"kubernetes": _kubernetes_keys, "rewrite_tag": _rewrite_tag_keys},
	"outputs": {"syslog": _syslog_keys, "http": _http_keys},
}

_tail_keys := {"name", "alias", "tag", "path", "db", "db.sync", "db.locking", "db.journal_mode", "multiline.parser", "parser", "storage.type", "mem_buf_limit", "buffer_chunk_size", "buffer_max_size", "refresh_interval", "rotate_wait", "read_from_head", "threaded"}

_systemd_keys := {"name", "alias", "tag", "path", "db", "db.sync", "systemd_filter", "systemd_filter_type", "read_from_head", "strip_underscores", "lowercase", "max_entries", "max_fields", "storage.type", "mem_buf_limit", "threaded"}

_kubernetes_keys := {"name", "alias", "match", "merge_log", "merge_log_key", "labels", "annotations", "kube_url", "kube_ca_file", "kube_token_file", "kube_tag_prefix", "kube_meta_cache_ttl", "buffer_size", "use_kubelet", "kubelet_port"}

_rewrite_tag_keys := {"name", "alias", "match", "rule", "emitter_name", "emitter_storage.type", "emitter_mem_buf_limit"}

_syslog_keys := {"name", "alias", "match", "host", "port", "mode", "retry_limit", "storage.total_limit_size", "workers", "syslog_format", "syslog_maxsize", "syslog_severity_key", "syslog_severity_preset", "syslog_facility_key", "syslog_facility_preset", "syslog_hostname_key", "syslog_hostname_preset", "syslog_appname_key", "syslog_appname_preset", "syslog_procid_key", "syslog_procid_preset", "syslog_msgid_key", "syslog_msgid_preset", "syslog_sd_key", "syslog_message_key"} | _tls_keys

_http_keys := {"name", "alias", "match", "host", "port", "uri", "format", "json_date_key", "json_date_format", "header", "http_user", "http_passwd", "compress", "retry_limit", "storage.total_limit_size", "workers"} | _tls_keys

_structure_problems(text, doc) := {m |
	not is_object(doc)
	m := "its configuration is not a YAML mapping"
} | {m |
	is_object(doc)
	some m in _map_problems(doc, "the configuration", _top_keys)
} | {m |
	is_object(doc)
	service := _get(doc, "service", {})
	some m in _section_problems(service, "service", _service_keys)
} | {m |
	is_object(doc)
	not is_object(_get(doc, "pipeline", null))
	m := "its configuration has no pipeline"
} | {m |
	is_object(doc)
	pipeline := _get(doc, "pipeline", null)
	is_object(pipeline)
	some m in _pipeline_problems(pipeline)
} | {m |
	is_object(doc)
	count(_map_problems(doc, "", _top_keys)) == 0
	some m in _repeated_keys(text, doc)
}

_section_problems(m, what, allowed) := {concat("", [what, " is not a mapping"])} if not is_object(m)

else := _map_problems(m, what, allowed)

# A mapping's keys are strings, distinct once lower-cased, and known.
_map_problems(m, what, allowed) := {p |
	some k in object.keys(m)
	not is_string(k)
	p := concat("", [what, " has a key that is not a string"])
} | {p |
	keys := [k | some k; m[k]; is_string(k)]
	count({lower(k) | some k in keys}) != count(keys)
	p := concat("", [what, " repeats a key in another case"])
} | {p |
	some k in object.keys(m)
	is_string(k)
	not lower(k) in allowed
	p := concat("", [what, " has the property ", _shown(lower(k)), ", which the gate does not understand"])
}

_pipeline_problems(pipeline) := _map_problems(pipeline, "the pipeline", _pipeline_keys) | {m |
	some section in ["inputs", "filters", "outputs"]
	items := _get(pipeline, section, [])
	not is_array(items)
	m := concat("", ["pipeline ", section, " is not a list"])
} | {m |
	some section in ["inputs", "filters", "outputs"]
	items := _get(pipeline, section, [])
	is_array(items)
	some i
	item := items[i]
	some m in _plugin_problems(section, i, item)
}

_plugin_problems(section, i, item) := {concat("", [_item_name(section, i), " is not a mapping"])} if {
	not is_object(item)
} else := {concat("", [_item_name(section, i), " has no plugin name"])} if {
	not is_string(_get(item, "name", null))
} else := {concat("", [_item_name(section, i), " (", _shown(_plugin(item)), ") is a plugin the gate does not understand"])} if {
	not _plugin_keys[section][_plugin(item)]
} else := _map_problems(item, concat("", [_item_name(section, i), " (", _plugin(item), ")"]), _plugin_keys[section][_plugin(item)])

_item_name(section, i) := concat("", [trim_suffix(section, "s"), "[", format_int(i, 10), "]"])

_plugin(item) := lower(trim_space(_get(item, "name", "")))

# A key looked up case-insensitively (the structure check refuses keys repeated in another case).
_get(m, key, default_value) := values[0] if {
	is_object(m)
	values := [v | some k; v := m[k]; is_string(k); lower(k) == key]
	count(values) == 1
} else := default_value

# Both engines keep the last of two equal keys; Fluent Bit may not. So the text must have exactly as
# many `key:` lines as the parsed mappings have keys (one key a line: flow mappings are refused).
_repeated_keys(text, doc) := {"its configuration repeats a key (or writes one where the gate cannot read it)"} if {
	key_lines := count([l | some l in regex.split(`\n`, text); regex.match(`^[ \t]*(-[ \t]+)*[^\s#-][^#]*?:([ \t]|$)`, l)])
	parsed := sum([count(object.keys(m)) | some m in _maps(doc)])
	key_lines != parsed
} else := set()

# Every mapping of a configuration whose structure is understood.
_maps(doc) := array.concat([doc, _get(doc, "service", {}), _get(doc, "pipeline", {})], [item |
	some section in ["inputs", "filters", "outputs"]
	items := _get(_get(doc, "pipeline", {}), section, [])
	is_array(items)
	some item in items
	is_object(item)
])

_lower(m) := {lower(k): v | some k; v := m[k]}

_normalized(doc) := {
	"service": _lower(_get(doc, "service", {})),
	"inputs": _section(doc, "inputs"),
	"filters": _section(doc, "filters"),
	"outputs": _section(doc, "outputs"),
}

_section(doc, section) := [_lower(x) |
	items := _get(_get(doc, "pipeline", {}), section, [])
	is_array(items)
	some i
	x := items[i]
]

# --- what the forwarder does ------------------------------------------------------------------------

# Everything wrong with a forwarder whose launch values are known.
_problems(ctx, fw) := ((_launch_problems(fw) | _scheduling_problems(ctx, fw.resource)) | _log_mount_problems(fw)) | _config_problems(ctx, fw)

_launch_problems(fw) := {p | some p in fw.launch.problems}

_log_mount_problems(fw) := {m |
	c := fw.launch.container
	some dir in ["/var/log/containers", "/var/log/pods", "/var/log/kubernetes/audit"]
	not _reads_node_dir(fw.resource, c, dir)
	m := concat("", ["it does not read the node's ", dir, " (a read-only hostPath mount of that directory)"])
}

_reads_node_dir(ds, c, dir) if host_path(ds, c, dir).path == dir

_config_problems(ctx, fw) := (_output_problems(ctx, fw) | _input_problems(fw.launch.config)) | _filter_problems(fw.launch.config) if {
	fw.launch.config
} else := set()

_output_problems(ctx, fw) := {m |
	count(fw.launch.config.outputs) == 0
	m := "its configuration has no output"
} | {m |
	hosts := _expected_hosts(ctx, fw.resource)
	some i
	o := fw.launch.config.outputs[i]
	some p in _one_output_problems(ctx, o, hosts)
	m := concat("", ["output[", format_int(i, 10), "] (", fluent_string(o, "name"), ") ", p])
}

_one_output_problems(ctx, o, hosts) := {m |
	fluent_string(o, "name") == "syslog"
	fluent_string(o, "mode") != "tls"
	m := "mode is not tls"
} | {m |
	some check in _tls_checks
	not _tls_ok(o, check.key)
	m := check.message
} | {m |
	not lib.non_empty_string(object.get(o, "host", null))
	m := "has no host"
} | {concat("", ["host ", _shown(o.host), " ", p]) |
	lib.non_empty_string(object.get(o, "host", null))
	some p in _host_problems(ctx, o.host)
} | {concat("", ["host ", _shown(o.host), " is not the declared siem_host"]) |
	lib.non_empty_string(object.get(o, "host", null))
	is_set(hosts)
	not _norm_host(o.host) in hosts
}

_tls_checks := [
	{"key": "tls", "message": "tls is not on"},
	{"key": "tls.verify", "message": "tls.verify is not on"},
	{"key": "tls.verify_hostname", "message": "tls.verify_hostname is not on"},
	{"key": "tls.min_version", "message": "tls.min_version is not TLSv1.3"},
]

_tls_ok(o, "tls.min_version") if fluent_string(o, "tls.min_version") == "tlsv1.3"

_tls_ok(o, key) if {
	key != "tls.min_version"
	fluent_on(object.get(o, key, null))
}

# Whether a host name leaves the cluster. ctx may be {} (declared hosts): then the plan's Services
# and namespaces are not consulted.
_host_problems(ctx, raw) := {"is not a host name"} if {
	host := _norm_host(raw)
	not regex.match(`^[a-z0-9]([a-z0-9_-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]*[a-z0-9])?)*$`, host)
} else := {"is a loopback name"} if {
	host := _norm_host(raw)
	_loopback_name(host)
} else := {"is an IP literal that is not a plain public or private address (loopback, link-local, unspecified or abbreviated)"} if {
	host := _norm_host(raw)
	_numeric_labels(host)
	not _plain_ipv4(host)
} else := set() if {
	_plain_ipv4(_norm_host(raw))
} else := {"is a short name that resolves inside the cluster"} if {
	not contains(_norm_host(raw), ".")
} else := {"is a cluster DNS name (*.svc, *.cluster.local, *.local, *.pod)"} if {
	_cluster_suffix(_norm_host(raw))
} else := {"is a cluster-internal <service>.<namespace> name"} if {
	labels := split(_norm_host(raw), ".")
	count(labels) == 2
	_cluster_pair(ctx, labels[0], labels[1])
} else := set()

_loopback_name(host) if host in {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}

_loopback_name(host) if endswith(host, ".localhost")

_numeric_labels(host) if {
	labels := split(host, ".")
	every l in labels {
		regex.match(`^(0x[0-9a-f]+|[0-9]+)$`, l)
	}
}

# a.b.c.d in decimal without leading zeros, outside 0/8, 127/8, 169.254/16 and 224/3.
_plain_ipv4(host) if {
	regex.match(`^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}$`, host)
	octets := [to_number(x) | some x in split(host, ".")]
	every o in octets {
		o <= 255
	}
	not octets[0] in {0, 127}
	octets[0] < 224
	not _link_local(octets)
}

_link_local(octets) if {
	octets[0] == 169
	octets[1] == 254
}

_cluster_suffix(host) if {
	some suffix in [".svc", ".cluster.local", ".local", ".pod"]
	endswith(host, suffix)
}

_cluster_suffix(host) if {
	some label in split(host, ".")
	label == "svc"
}

_cluster_pair(ctx, _, ns) if ns in _namespaces(ctx)

_cluster_pair(ctx, name, _) if name in _service_names(ctx)

_namespaces(ctx) := ({"default", "kube-system", "kube-public", "kube-node-lease"} | {lib.name_of(r) | some r in object.get(ctx, "resources", []); r.type == "kubernetes:core/v1:Namespace"}) | ({r.inputs.metadata.namespace | some r in object.get(ctx, "resources", []); is_string(r.inputs.metadata.namespace)} | {n |
	some r in object.get(ctx, "resources", [])
	lib.component_kind(r) in {"AuditLogShipping", "AttestedWorkload"}
	n := r.inputs.namespace
	is_string(n)
}) | {ns.name | some r in object.get(ctx, "resources", []); lib.component_kind(r) == "ConfidentialGpuCluster"; some ns in r.inputs.namespaces}

_service_names(ctx) := {lib.name_of(r) | some r in object.get(ctx, "resources", []); r.type == "kubernetes:core/v1:Service"}

# The inputs tail the Kubernetes audit log and the container logs, under tags an output ships.
_required_inputs := [
	{"what": "the Kubernetes audit log", "path": "/var/log/kubernetes/audit/*.log", "file": "var.log.kubernetes.audit.audit.log"},
	{"what": "the container logs (the phistack runtime's audit records)", "path": "/var/log/containers/*.log", "file": "var.log.containers.runtime_clinical_runtime-0.log"},
]

_input_problems(cfg) := {m |
	some req in _required_inputs
	not _tails(cfg, req)
	m := concat("", ["no input tails ", req.path, " under a tag an output ships: ", req.what, " is not shipped"])
}

_tails(cfg, req) if {
	some i in cfg.inputs
	fluent_string(i, "name") == "tail"
	is_string(i.path)
	req.path in {trim_space(p) | some p in split(i.path, ",")}
	is_string(i.tag)
	_shipped(cfg, replace(i.tag, "*", req.file))
}

# Some output's match pattern (Fluent Bit's `*` wildcard) covers the tag.
_shipped(cfg, tag) if {
	some o in cfg.outputs
	is_string(o.match)
	regex.match(`^[A-Za-z0-9._*-]+$`, o.match)
	regex.match(concat("", ["^", replace(replace(o.match, ".", `\.`), "*", ".*"), "$"]), tag)
}

# rewrite_tag moves records to a new tag (dropping the original unless keep is true): the new tag
# must be shipped too.
_filter_problems(cfg) := {m |
	some i
	f := cfg.filters[i]
	fluent_string(f, "name") == "rewrite_tag"
	some rule in _rules(f)
	not _rule_shipped(cfg, rule)
	m := concat("", ["filter[", format_int(i, 10), "] (rewrite_tag) has a rule that is not understood or re-tags records to a tag no output ships"])
} | {m |
	some i
	f := cfg.filters[i]
	fluent_string(f, "name") == "rewrite_tag"
	count(_rules(f)) == 0
	m := concat("", ["filter[", format_int(i, 10), "] (rewrite_tag) has no rule"])
}

_rules(f) := [f.rule] if is_string(f.rule)

else := f.rule if is_array(f.rule)

else := []

_rule_shipped(cfg, rule) if {
	is_string(rule)
	parts := regex.split(`[ \t]+`, trim_space(rule))
	count(parts) >= 4
	tag := parts[count(parts) - 2]
	lower(parts[count(parts) - 1]) in {"true", "false"}
	regex.match(`^[A-Za-z0-9._-]+$`, tag)
	_shipped(cfg, tag)
}

# --- scheduling: the forwarder runs where the PHI workloads run --------------------------------------

_scheduling_problems(ctx, ds) := ((_toleration_problems(ctx, ds) | _selector_problems(ctx, ds)) | _affinity_problems(ds)) | _placement_problems(ds)

_toleration_problems(ctx, ds) := {m |
	mine := _tolerations(lib.pod_spec(ds))
	some w in ctx.phi_workloads
	some t in _phi_tolerations(ctx, w)
	not _tolerated(mine, t)
	m := concat("", ["it does not tolerate every taint PHI workload ", lib.name_of(w), " tolerates (", _toleration_text(t), ")"])
}

_tolerations(spec) := ts if {
	ts := object.get(spec, "tolerations", [])
	is_array(ts)
} else := []

# What a PHI workload tolerates: its own tolerations and its RuntimeClass's. A value the plan
# cannot tell stands for "anything" ({"operator": "Exists"}).
_phi_tolerations(ctx, w) := array.concat(_known_tolerations(lib.pod_spec(w)), _runtime_class_tolerations(ctx, lib.pod_spec(w)))

_known_tolerations(spec) := [{"operator": "Exists"}] if {
	lib.is_unknown(object.get(spec, "tolerations", []))
} else := [_known_toleration(t) | some t in _tolerations(spec)]

_known_toleration(t) := {"operator": "Exists"} if {
	not is_object(t)
} else := {"operator": "Exists"} if {
	some k in ["key", "operator", "value", "effect"]
	lib.is_unknown(object.get(t, k, null))
} else := t

_runtime_class_tolerations(ctx, spec) := [] if {
	object.get(spec, "runtimeClassName", null) == null
} else := [{"operator": "Exists"}] if {
	not is_string(spec.runtimeClassName)
} else := [_known_toleration(t) |
	some rc in lib.of_type(ctx, "kubernetes:node.k8s.io/v1:RuntimeClass")
	lib.name_of(rc) == spec.runtimeClassName
	ts := object.get(rc.inputs, ["scheduling", "tolerations"], [])
	some t in _rc_tolerations(ts)
]

_rc_tolerations(ts) := [{"operator": "Exists"}] if lib.is_unknown(ts)

else := ts if is_array(ts)

else := []

# A toleration of the forwarder covers `t` (the one a PHI workload has) for every taint `t` covers.
_tolerated(mine, t) if {
	some x in mine
	is_object(x)
	object.get(x, "tolerationSeconds", null) == null
	_effect_covers(object.get(x, "effect", ""), object.get(t, "effect", ""))
	_key_covers(x, t)
}

_effect_covers(mine, _) if mine in {"", null}

_effect_covers(mine, theirs) if {
	mine == theirs
	not theirs in {"", null}
}

_key_covers(x, _) if {
	object.get(x, "operator", "Equal") == "Exists"
	object.get(x, "key", "") in {"", null}
}

_key_covers(x, t) if {
	object.get(x, "operator", "Equal") == "Exists"
	not object.get(x, "key", "") in {"", null}
	object.get(x, "key", "") == object.get(t, "key", "")
}

_key_covers(x, t) if {
	object.get(x, "operator", "Equal") == "Equal"
	object.get(t, "operator", "Equal") == "Equal"
	not object.get(x, "key", "") in {"", null}
	object.get(x, "key", "") == object.get(t, "key", "")
	object.get(x, "value", "") == object.get(t, "value", "")
}

_toleration_text(t) := concat(" ", [_shown(object.get(t, "key", "*")), _shown(object.get(t, "operator", "Equal")), _shown(object.get(t, "effect", "any-effect"))])

# Every nodeSelector entry of the forwarder must hold on the nodes of every PHI workload: their own
# nodeSelector or their RuntimeClass's says so.
_selector_problems(ctx, ds) := {m |
	sel := object.get(lib.pod_spec(ds), "nodeSelector", {})
	is_object(sel)
	some k
	v := sel[k]
	some w in ctx.phi_workloads
	not _selects(ctx, w, k, v)
	m := concat("", ["its nodeSelector ", _shown(k), " may keep it off the nodes of PHI workload ", lib.name_of(w)])
} | {m |
	sel := object.get(lib.pod_spec(ds), "nodeSelector", {})
	not is_object(sel)
	sel != null
	m := "its nodeSelector is not a mapping"
}

_selects(_, w, k, v) if object.get(lib.pod_spec(w), ["nodeSelector", k], null) == v

_selects(ctx, w, k, v) if {
	name := lib.pod_spec(w).runtimeClassName
	is_string(name)
	[name, k, v] in ctx.runtime_class_selectors
}

_affinity_problems(ds) := {m |
	some kind in ["nodeAffinity", "podAffinity", "podAntiAffinity"]
	object.get(lib.pod_spec(ds), ["affinity", kind, "requiredDuringSchedulingIgnoredDuringExecution"], null) != null
	m := concat("", ["it has a required ", kind, ", which may keep it off the PHI nodes"])
}

_placement_problems(ds) := {m |
	some f in ["nodeName", "runtimeClassName"]
	not object.get(lib.pod_spec(ds), f, "") in {"", null}
	m := concat("", ["its pod sets ", f, ", which may keep it off the PHI nodes"])
} | {m |
	not object.get(lib.pod_spec(ds), "schedulerName", "default-scheduler") in {"default-scheduler", "", null}
	m := "its pod names a scheduler other than default-scheduler"
}

# --- paths -------------------------------------------------------------------------------------------

_trim(p) := trim_right(p, "/") if is_string(p)

_covers(mount_path, path) if {
	is_string(mount_path)
	dir := _trim(mount_path)
	path == dir
}

_covers(mount_path, path) if {
	is_string(mount_path)
	startswith(path, concat("", [_trim(mount_path), "/"]))
}

_rel(dir, path) := "" if path == dir

else := substring(path, count(dir) + 1, -1)

_suffix(rel) := "" if rel == ""

else := concat("", ["/", rel])
