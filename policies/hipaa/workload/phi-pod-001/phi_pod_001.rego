# METADATA
# title: PHI pods meet the restricted Pod Security Standard
# description: 'Every PHI or genetic pod workload meets the Kubernetes "restricted" Pod Security Standard, read
#   from the pod spec that will run (pod-level securityContext applies unless a container overrides it; init,
#   sidecar and ephemeral containers count): no privileged container, allowPrivilegeEscalation false, no host
#   network, PID or IPC namespace, no hostPath or other non-core volume type, no hostPort, capabilities.drop
#   ALL with nothing added but NET_BIND_SERVICE, runAsNonRoot true and no runAsUser 0, a RuntimeDefault or
#   Localhost seccomp profile, no unconfined AppArmor profile, no custom SELinux type, user or role, no
#   unsafe sysctl, the default procMount, no Windows hostProcess, no probe or lifecycle host; and, beyond the
#   standard, readOnlyRootFilesystem true on every container. A value the plan cannot tell denies.'
# related_resources:
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(a)(1)
#   description: '45 CFR 164.312(a)(1) Access control: Implement technical policies and procedures for electronic
#     information systems that maintain electronic protected health information to allow access only to
#     those persons or software programs that have been granted access rights as specified in § 164.308(a)(4).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.308#p-164.308(a)(1)(ii)(B)
#   description: '45 CFR 164.308(a)(1)(ii)(B) Risk management (Required): Implement security measures sufficient
#     to reduce risks and vulnerabilities to a reasonable and appropriate level to comply with § 164.306(a).'
# - ref: https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C/section-164.312#p-164.312(c)(1)
#   description: '45 CFR 164.312(c)(1) Integrity: Implement policies and procedures to protect electronic
#     protected health information from improper alteration or destruction.'
# custom:
#   id: PHI-POD-001
#   severity: critical
#   enforcement: mandatory
#   citations:
#   - cfr: 45 CFR 164.312(a)(1)
#     title: Access control
#     type: required
#   - cfr: 45 CFR 164.308(a)(1)(ii)(B)
#     title: Risk management
#     type: required
#   - cfr: 45 CFR 164.312(c)(1)
#     title: Integrity
#     type: required
#   remediation: 'Deploy PHI containers through AttestedWorkload with its default SecuritySettings (runAsNonRoot,
#     a non-zero runAsUser, readOnlyRootFilesystem, allowPrivilegeEscalation false, privileged false,
#     capabilities.drop ALL, seccomp RuntimeDefault); give every added init, sidecar or ephemeral container the
#     same securityContext, and remove host namespaces, hostPath volumes and hostPorts.'
package phistack.rules.workload.phi_pod_001

import rego.v1

import data.phistack.lib.hipaa as lib

deny contains f if {
	some f in findings(lib.ctx)
}

# Every finding of this rule for a rule context (lib.context of a gate input).
findings(ctx) := {f |
	some w in ctx.phi_workloads
	f := _workload_finding(w)
}

# One finding per workload: unknown values fail closed, else every departure from the standard, sorted.
_workload_finding(w) := lib.unknown_finding("PHI-POD-001", w.urn, "the pod security settings", lib.sorted(paths)) if {
	paths := _unknown(w)
	count(paths) > 0
} else := f if {
	problems := _workload_problems(w)
	count(problems) > 0
	f := lib.finding("PHI-POD-001", w.urn, concat("", [
		"PHI workload ", _name(w), " does not meet the restricted Pod Security Standard: ",
		concat("; ", lib.sorted(problems)),
	]))
}

_name(w) := name if {
	name := lib.name_of(w)
	is_string(name)
} else := w.name

# --- unknown values -------------------------------------------------------------------------------

# Dotted paths (as the plan writes them) of the unknown values this rule reads: anything in the pod or
# a container securityContext, the host namespace flags, a whole volume, container or container list,
# a port's hostPort, a probe's or lifecycle hook's host, and the AppArmor annotations.
# A workload with no "__unknown__" key anywhere in its inputs has none of these: one serialisation
# answers for most workloads instead of a walk of the whole pod spec.
_unknown(w) := set() if {
	not lib.holds_unknown(w.inputs)
} else := {path} if {
	path := lib.unknown_path(w.inputs, lib.pod_spec_path(w))
} else := {path |
	walk(lib.pod_spec(w), [p, v])
	lib.is_unknown(v)
	_relevant(p)
	path := _dotted_path(_prefix(w), p)
} | _unknown_annotations(w)

_relevant(p) if p[0] in {"hostNetwork", "hostPID", "hostIPC", "securityContext"}

_relevant(p) if {
	p[0] in {"volumes", "containers", "initContainers", "ephemeralContainers"}
	count(p) <= 2
}

_relevant(p) if {
	p[0] in _container_fields
	p[2] == "securityContext"
}

_relevant(p) if {
	p[0] in _container_fields
	p[2] == "ports"
	count(p) <= 4
}

_relevant(p) if {
	p[0] in _container_fields
	p[2] == "ports"
	p[4] == "hostPort"
}

_relevant(p) if {
	p[0] in _container_fields
	p[2] in _probes
	_handler_host(array.slice(p, 3, count(p)))
}

_relevant(p) if {
	p[0] in _container_fields
	p[2] == "lifecycle"
	count(p) <= 4
}

_relevant(p) if {
	p[0] in _container_fields
	p[2] == "lifecycle"
	_handler_host(array.slice(p, 4, count(p)))
}

# A path below a probe or lifecycle handler that can carry a host: the handler or its host field.
_handler_host(rest) if count(rest) == 0

_handler_host(rest) if {
	rest[0] in {"httpGet", "tcpSocket"}
	count(rest) == 1
}

_handler_host(rest) if {
	rest[0] in {"httpGet", "tcpSocket"}
	rest[1] == "host"
}

_unknown_annotations(w) := {path |
	path := lib.unknown_path(w.inputs, _meta_path(w))
} | {path |
	annotations := object.get(w.inputs, _meta_path(w), {})
	is_object(annotations)
	some key
	value := annotations[key]
	startswith(key, _apparmor_prefix)
	lib.is_unknown(value)
	path := _dotted_path(concat(".", _meta_path(w)), [key])
}

# The dotted form of a path below `prefix`, as the plan writes paths (keys with dots in brackets).
_dotted_path(prefix, p) := concat("", array.concat([prefix], [s |
	some i
	x := p[i]
	s := _segment(x)
]))

_segment(x) := concat("", ["[", format_int(x, 10), "]"]) if is_number(x)

else := concat("", ["[\"", x, "\"]"]) if contains(x, ".")

else := concat("", [".", x])

# --- problems -------------------------------------------------------------------------------------

_container_fields := {"containers", "initContainers", "ephemeralContainers"}

_probes := {"livenessProbe", "readinessProbe", "startupProbe"}

_prefix(w) := concat(".", lib.pod_spec_path(w))

# Where the pod template's annotations live (metadata.annotations for a bare Pod).
_meta_path(w) := array.concat(array.slice(path, 0, count(path) - 1), ["metadata", "annotations"]) if {
	path := lib.pod_spec_path(w)
}

_spec(w) := spec if {
	spec := lib.pod_spec(w)
	is_object(spec)
} else := {}

_object(x) := x if is_object(x)

else := {}

_pod_sc(w) := _object(object.get(_spec(w), "securityContext", {}))

_workload_problems(w) := ((_pod_problems(w) | _volume_problems(w)) | _annotation_problems(w)) | _container_problems(w)

_pod_problems(w) := {msg |
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	not object.get(_spec(w), field, false) in {false, null}
	msg := concat("", [_prefix(w), ".", field, " must be false"])
} | {msg |
	some problem in _context_problems(_pod_sc(w))
	msg := concat("", [_prefix(w), ".securityContext.", problem])
} | {msg |
	sysctls := object.get(_pod_sc(w), "sysctls", [])
	is_array(sysctls)
	some i
	sysctl := sysctls[i]
	not _safe_sysctl(sysctl)
	msg := concat("", [_prefix(w), ".securityContext.sysctls[", format_int(i, 10), "] is not a safe sysctl"])
}

# Fields that mean the same at pod and container level (a container's own value overrides the pod's).
_context_problems(sc) := {"runAsNonRoot must be true" |
	not object.get(sc, "runAsNonRoot", null) in {true, null}
} | {"runAsUser must be a non-zero UID" |
	uid := object.get(sc, "runAsUser", null)
	uid != null
	not _non_zero(uid)
} | {"seccompProfile.type must be RuntimeDefault or Localhost" |
	object.get(sc, "seccompProfile", null) != null
	not _confined(sc.seccompProfile)
} | {"appArmorProfile.type must be RuntimeDefault or Localhost" |
	object.get(sc, "appArmorProfile", null) != null
	not _confined(sc.appArmorProfile)
} | {"seLinuxOptions must not set a custom type, user or role" |
	object.get(sc, "seLinuxOptions", null) != null
	not _selinux_allowed(sc.seLinuxOptions)
} | {"windowsOptions.hostProcess must be false" |
	not object.get(sc, ["windowsOptions", "hostProcess"], null) in {false, null}
}

_non_zero(uid) if {
	is_number(uid)
	uid != 0
}

_confined(profile) if {
	is_object(profile)
	object.get(profile, "type", null) in {"RuntimeDefault", "Localhost"}
}

_selinux_allowed(opts) if {
	is_object(opts)
	object.get(opts, "type", "") in {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
	object.get(opts, "user", "") == ""
	object.get(opts, "role", "") == ""
}

# The sysctls the standard allows (namespaced and isolated from other pods on the node).
_safe_sysctls := {
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
}

_safe_sysctl(sysctl) if {
	is_object(sysctl)
	object.get(sysctl, "name", null) in _safe_sysctls
}

# The core volume types the standard allows; PHI-VOL-001 narrows them further for PHI.
_volume_types := {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}

_volume_problems(w) := {msg |
	volumes := object.get(_spec(w), "volumes", [])
	is_array(volumes)
	some i
	volume := volumes[i]
	is_object(volume)
	some kind in object.keys(volume)
	kind != "name"
	volume[kind] != null
	not kind in _volume_types
	msg := concat("", [_prefix(w), ".volumes[", format_int(i, 10), "] is a ", kind, " volume, which the standard forbids"])
}

_apparmor_prefix := "container.apparmor.security.beta.kubernetes.io/"

_annotation_problems(w) := {msg |
	annotations := object.get(w.inputs, _meta_path(w), {})
	is_object(annotations)
	some key
	value := annotations[key]
	startswith(key, _apparmor_prefix)
	not _apparmor_allowed(value)
	msg := concat("", [_dotted_path(concat(".", _meta_path(w)), [key]), " must be runtime/default or localhost/<profile>"])
}

_apparmor_allowed(value) if value in {"", "runtime/default"}

_apparmor_allowed(value) if {
	is_string(value)
	startswith(value, "localhost/")
}

# lib.containers reads every container list by index: only call it when each list is an array.
_container_lists_ok(w) if {
	spec := lib.pod_spec(w)
	is_object(spec)
	every field in _container_fields {
		_list_or_absent(object.get(spec, field, null))
	}
}

_list_or_absent(x) if x == null

_list_or_absent(x) if is_array(x)

_container_problems(w) := {msg |
	_container_lists_ok(w)
	pod_sc := _pod_sc(w)
	some c in lib.containers(w)
	some problem in _container(_object(c.container), pod_sc)
	msg := concat("", [c.path, problem])
}

# What is wrong with one container (given the pod-level securityContext), as suffixes of its path.
_container(c, pod_sc) := ((_container_context(c, pod_sc) | _container_capabilities(c)) | _container_ports(c)) | _container_hosts(c)

_sc(c) := _object(object.get(c, "securityContext", {}))

_container_context(c, pod_sc) := {p |
	some problem in _context_problems(_sc(c))
	p := concat("", [".securityContext.", problem])
} | {".securityContext.privileged must be false" |
	not object.get(_sc(c), "privileged", null) in {false, null}
} | {".securityContext.allowPrivilegeEscalation must be false" |
	object.get(_sc(c), "allowPrivilegeEscalation", null) != false
} | {".securityContext.readOnlyRootFilesystem must be true" |
	object.get(_sc(c), "readOnlyRootFilesystem", null) != true
} | {".securityContext.procMount must be Default" |
	not object.get(_sc(c), "procMount", null) in {"Default", null}
} | {".securityContext.runAsNonRoot must be true (neither the container nor the pod sets it)" |
	object.get(_sc(c), "runAsNonRoot", null) == null
	object.get(pod_sc, "runAsNonRoot", null) != true
} | {".securityContext.seccompProfile.type must be RuntimeDefault or Localhost (no valid pod-level profile applies)" |
	object.get(_sc(c), "seccompProfile", null) == null
	not _confined(object.get(pod_sc, "seccompProfile", null))
}

_container_capabilities(c) := {".securityContext.capabilities.drop must include ALL" |
	not _drops_all(_sc(c))
} | {p |
	added := object.get(_sc(c), ["capabilities", "add"], null)
	added != null
	some cap in _as_list(added)
	cap != "NET_BIND_SERVICE"
	p := concat("", [".securityContext.capabilities.add must not add ", _capability_name(cap)])
}

_drops_all(sc) if {
	dropped := object.get(sc, ["capabilities", "drop"], [])
	is_array(dropped)
	"ALL" in dropped
}

_as_list(x) := x if is_array(x)

else := [x]

_capability_name(cap) := cap if is_string(cap)

else := "a non-string value"

_container_ports(c) := {p |
	ports := object.get(c, "ports", [])
	is_array(ports)
	some j
	port := ports[j]
	is_object(port)
	not object.get(port, "hostPort", null) in {0, null}
	p := concat("", [".ports[", format_int(j, 10), "].hostPort must be unset or 0"])
}

_container_hosts(c) := {p |
	some probe in ["livenessProbe", "readinessProbe", "startupProbe"]
	some handler in ["httpGet", "tcpSocket"]
	not object.get(c, [probe, handler, "host"], null) in {"", null}
	p := concat("", [".", probe, ".", handler, ".host must be unset"])
} | {p |
	some hook in ["postStart", "preStop"]
	some handler in ["httpGet", "tcpSocket"]
	not object.get(c, ["lifecycle", hook, handler, "host"], null) in {"", null}
	p := concat("", [".lifecycle.", hook, ".", handler, ".host must be unset"])
}
