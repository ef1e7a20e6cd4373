package phistack.rules.workload.phi_pod_001_test

import rego.v1

import data.phistack.lib.fixtures_test as fx
import data.phistack.lib.hipaa as lib
import data.phistack.rules.workload.phi_pod_001

_deny(resources) := phi_pod_001.findings(fx.ctx(resources))

_urn := fx.urn("kubernetes:apps/v1:Deployment", "nlp")

# --- builders: a pod that meets the restricted standard, and ways to weaken it ---

_container_sc := {
	"allowPrivilegeEscalation": false,
	"capabilities": {"drop": ["ALL"]},
	"privileged": false,
	"readOnlyRootFilesystem": true,
	"runAsNonRoot": true,
	"runAsUser": 65532,
	"seccompProfile": {"type": "RuntimeDefault"},
}

_pod_sc := {"runAsNonRoot": true, "runAsUser": 65532, "fsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}}

_container_with(name, sc) := {"name": name, "image": fx.image, "env": fx.env, "securityContext": sc}

_container := _container_with("runtime", _container_sc)

# A pod spec of the given containers with some top-level fields replaced (shallow: the engines
# disagree on nested object.union).
_pod_spec_with(containers, extra) := _replace({
	"runtimeClassName": "kata-qemu-nvidia-gpu-snp",
	"securityContext": _pod_sc,
	"containers": containers,
	"volumes": [],
}, extra)

_replace(obj, fields) := object.union(object.remove(obj, object.keys(fields)), fields)

_phi(spec) := fx.deployment("nlp", "phi", spec)

_with_sc(sc) := _phi(_pod_spec_with([_container_with("runtime", sc)], {}))

# The container's securityContext with one field set (or removed with `null`).
_sc_set(key, value) := _replace(_container_sc, {key: value})

_sc_without(key) := object.remove(_container_sc, {key})

_head := "PHI-POD-001: PHI workload nlp does not meet the restricted Pod Security Standard: "

_denied(problems) := {{"id": "PHI-POD-001", "urn": _urn, "msg": concat("", [_head, concat("; ", sort(problems))])}}

_c := "spec.template.spec.containers[0]"

_fails_closed(paths) := {{
	"id": "PHI-POD-001",
	"urn": _urn,
	"msg": "PHI-POD-001: the pod security settings is unknown at plan time; the control cannot be verified, so it fails closed",
	"unknown": paths,
}}

# --- allowed ---

test_allowed_restricted_pod if {
	_deny([_phi(_pod_spec_with([_container], {}))]) == set()
}

test_allowed_container_level_settings_without_pod_context if {
	_deny([_phi(object.remove(_pod_spec_with([_container], {}), {"securityContext"}))]) == set()
}

test_allowed_pod_level_defaults_inherited if {
	sc := object.remove(_container_sc, {"runAsNonRoot", "runAsUser", "seccompProfile"})
	_deny([_with_sc(sc)]) == set()
}

test_allowed_net_bind_service_localhost_seccomp_safe_sysctl_and_apparmor if {
	sc := _replace(_container_sc, {
		"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
		"seccompProfile": {"type": "Localhost", "localhostProfile": "phi.json"},
		"appArmorProfile": {"type": "RuntimeDefault"},
		"seLinuxOptions": {"type": "container_t", "level": "s0:c123,c456"},
		"procMount": "Default",
	})
	pod_sc := _replace(_pod_sc, {"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]})
	w := _phi(_pod_spec_with([_container_with("runtime", sc)], {"securityContext": pod_sc, "volumes": [
		{"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
		{"name": "cfg", "configMap": {"name": "cfg"}},
	]}))
	_deny([w]) == set()
}

test_allowed_non_phi_privileged if {
	w := fx.deployment("sim", "none", _pod_spec_with([_container_with("runtime", _sc_set("privileged", true))], {"hostNetwork": true}))
	_deny([w]) == set()
}

test_allowed_unknown_env_value_is_not_read if {
	c := _replace(_container, {"env": [{"name": "X", "value": fx.unknown}], "image": fx.unknown})
	_deny([_phi(_pod_spec_with([c], {}))]) == set()
}

# --- denied: the reviewer's weakenings ---

test_denied_privileged if {
	_deny([_with_sc(_sc_set("privileged", true))]) == _denied([concat("", [_c, ".securityContext.privileged must be false"])])
}

test_denied_host_network_pid_ipc if {
	w := _phi(_pod_spec_with([_container], {"hostNetwork": true, "hostPID": true, "hostIPC": true}))
	_deny([w]) == _denied([
		"spec.template.spec.hostIPC must be false",
		"spec.template.spec.hostNetwork must be false",
		"spec.template.spec.hostPID must be false",
	])
}

test_denied_allow_privilege_escalation if {
	_deny([_with_sc(_sc_set("allowPrivilegeEscalation", true))]) == _denied([concat("", [_c, ".securityContext.allowPrivilegeEscalation must be false"])])
}

# Kubernetes allows escalation unless it is explicitly false.
test_missing_allow_privilege_escalation if {
	_deny([_with_sc(_sc_without("allowPrivilegeEscalation"))]) == _denied([concat("", [_c, ".securityContext.allowPrivilegeEscalation must be false"])])
}

test_denied_read_only_root_filesystem_false if {
	_deny([_with_sc(_sc_set("readOnlyRootFilesystem", false))]) == _denied([concat("", [_c, ".securityContext.readOnlyRootFilesystem must be true"])])
}

test_missing_read_only_root_filesystem if {
	_deny([_with_sc(_sc_without("readOnlyRootFilesystem"))]) == _denied([concat("", [_c, ".securityContext.readOnlyRootFilesystem must be true"])])
}

# --- run as non-root: the container's value overrides the pod's ---

test_denied_container_run_as_non_root_false_overrides_pod if {
	_deny([_with_sc(_sc_set("runAsNonRoot", false))]) == _denied([concat("", [_c, ".securityContext.runAsNonRoot must be true"])])
}

test_denied_pod_run_as_non_root_false_even_when_container_sets_true if {
	w := _phi(_pod_spec_with([_container], {"securityContext": _replace(_pod_sc, {"runAsNonRoot": false})}))
	_deny([w]) == _denied(["spec.template.spec.securityContext.runAsNonRoot must be true"])
}

test_missing_run_as_non_root_at_both_levels if {
	w := _phi(_pod_spec_with([_container_with("runtime", _sc_without("runAsNonRoot"))], {"securityContext": object.remove(_pod_sc, {"runAsNonRoot"})}))
	_deny([w]) == _denied([concat("", [_c, ".securityContext.runAsNonRoot must be true (neither the container nor the pod sets it)"])])
}

test_denied_run_as_user_zero_in_container if {
	_deny([_with_sc(_sc_set("runAsUser", 0))]) == _denied([concat("", [_c, ".securityContext.runAsUser must be a non-zero UID"])])
}

test_denied_run_as_user_zero_in_pod if {
	w := _phi(_pod_spec_with([_container_with("runtime", _sc_without("runAsUser"))], {"securityContext": _replace(_pod_sc, {"runAsUser": 0})}))
	_deny([w]) == _denied(["spec.template.spec.securityContext.runAsUser must be a non-zero UID"])
}

test_denied_run_as_user_string_zero if {
	_deny([_with_sc(_sc_set("runAsUser", "0"))]) == _denied([concat("", [_c, ".securityContext.runAsUser must be a non-zero UID"])])
}

# --- seccomp: the pod-level profile applies unless the container sets its own ---

test_denied_pod_seccomp_unconfined_applies_to_container_without_own if {
	w := _phi(_pod_spec_with([_container_with("runtime", _sc_without("seccompProfile"))], {"securityContext": _replace(_pod_sc, {"seccompProfile": {"type": "Unconfined"}})}))
	_deny([w]) == _denied([
		concat("", [_c, ".securityContext.seccompProfile.type must be RuntimeDefault or Localhost (no valid pod-level profile applies)"]),
		"spec.template.spec.securityContext.seccompProfile.type must be RuntimeDefault or Localhost",
	])
}

test_denied_container_seccomp_unconfined_overrides_pod if {
	_deny([_with_sc(_sc_set("seccompProfile", {"type": "Unconfined"}))]) == _denied([concat("", [_c, ".securityContext.seccompProfile.type must be RuntimeDefault or Localhost"])])
}

test_missing_seccomp_at_both_levels if {
	w := _phi(_pod_spec_with([_container_with("runtime", _sc_without("seccompProfile"))], {"securityContext": object.remove(_pod_sc, {"seccompProfile"})}))
	_deny([w]) == _denied([concat("", [_c, ".securityContext.seccompProfile.type must be RuntimeDefault or Localhost (no valid pod-level profile applies)"])])
}

# --- capabilities ---

test_denied_capability_added if {
	sc := _sc_set("capabilities", {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "SYS_ADMIN", "NET_RAW"]})
	_deny([_with_sc(sc)]) == _denied([
		concat("", [_c, ".securityContext.capabilities.add must not add NET_RAW"]),
		concat("", [_c, ".securityContext.capabilities.add must not add SYS_ADMIN"]),
	])
}

test_denied_capability_add_all if {
	_deny([_with_sc(_sc_set("capabilities", {"drop": ["ALL"], "add": ["ALL"]}))]) == _denied([concat("", [_c, ".securityContext.capabilities.add must not add ALL"])])
}

test_missing_capabilities_drop_all if {
	_deny([_with_sc(_sc_without("capabilities"))]) == _denied([concat("", [_c, ".securityContext.capabilities.drop must include ALL"])])
}

# The standard compares the literal "ALL".
test_denied_capabilities_drop_lowercase_all if {
	_deny([_with_sc(_sc_set("capabilities", {"drop": ["all"]}))]) == _denied([concat("", [_c, ".securityContext.capabilities.drop must include ALL"])])
}

# --- host access ---

test_denied_host_port if {
	c := _replace(_container, {"ports": [{"containerPort": 8443}, {"containerPort": 9090, "hostPort": 9090}]})
	_deny([_phi(_pod_spec_with([c], {}))]) == _denied([concat("", [_c, ".ports[1].hostPort must be unset or 0"])])
}

test_allowed_host_port_zero if {
	c := _replace(_container, {"ports": [{"containerPort": 8443, "hostPort": 0}]})
	_deny([_phi(_pod_spec_with([c], {}))]) == set()
}

test_denied_host_path_and_nfs_volumes if {
	w := _phi(_pod_spec_with([_container], {"volumes": [
		{"name": "dev", "hostPath": {"path": "/dev"}},
		{"name": "share", "nfs": {"server": "10.0.0.5", "path": "/phi"}},
	]}))
	_deny([w]) == _denied([
		"spec.template.spec.volumes[0] is a hostPath volume, which the standard forbids",
		"spec.template.spec.volumes[1] is a nfs volume, which the standard forbids",
	])
}

test_denied_probe_and_lifecycle_host if {
	c := _replace(_container, {
		"livenessProbe": {"httpGet": {"path": "/healthz", "port": 8443, "host": "10.0.0.1"}},
		"lifecycle": {"preStop": {"tcpSocket": {"port": 22, "host": "node.internal"}}},
	})
	_deny([_phi(_pod_spec_with([c], {}))]) == _denied([
		concat("", [_c, ".lifecycle.preStop.tcpSocket.host must be unset"]),
		concat("", [_c, ".livenessProbe.httpGet.host must be unset"]),
	])
}

test_denied_windows_host_process if {
	_deny([_with_sc(_sc_set("windowsOptions", {"hostProcess": true}))]) == _denied([concat("", [_c, ".securityContext.windowsOptions.hostProcess must be false"])])
}

# --- kernel confinement ---

test_denied_proc_mount_unmasked if {
	_deny([_with_sc(_sc_set("procMount", "Unmasked"))]) == _denied([concat("", [_c, ".securityContext.procMount must be Default"])])
}

test_denied_apparmor_profile_unconfined if {
	_deny([_with_sc(_sc_set("appArmorProfile", {"type": "Unconfined"}))]) == _denied([concat("", [_c, ".securityContext.appArmorProfile.type must be RuntimeDefault or Localhost"])])
}

test_denied_apparmor_annotation_unconfined if {
	spec := _pod_spec_with([_container], {})
	w := fx.resource("kubernetes:apps/v1:Deployment", "nlp", {
		"metadata": {"name": "nlp", "namespace": "clinical"},
		"spec": {"template": {
			"metadata": {
				"labels": {"phistack.io/data-classification": "phi"},
				"annotations": {"container.apparmor.security.beta.kubernetes.io/runtime": "unconfined"},
			},
			"spec": spec,
		}},
	})
	_deny([w]) == _denied(["spec.template.metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/runtime\"] must be runtime/default or localhost/<profile>"])
}

test_denied_selinux_custom_type_and_user if {
	_deny([_with_sc(_sc_set("seLinuxOptions", {"type": "spc_t", "user": "system_u"}))]) == _denied([concat("", [_c, ".securityContext.seLinuxOptions must not set a custom type, user or role"])])
}

test_denied_unsafe_sysctl if {
	pod_sc := _replace(_pod_sc, {"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}, {"name": "kernel.msgmax", "value": "65536"}]})
	_deny([_phi(_pod_spec_with([_container], {"securityContext": pod_sc}))]) == _denied(["spec.template.spec.securityContext.sysctls[1] is not a safe sysctl"])
}

# --- every container counts: init, sidecar (an init container that keeps running), ephemeral ---

_privileged_sc := _replace(_container_sc, {"privileged": true, "allowPrivilegeEscalation": true})

test_denied_privileged_init_container if {
	w := _phi(_pod_spec_with([_container], {"initContainers": [_container_with("setup", _privileged_sc)]}))
	_deny([w]) == _denied([
		"spec.template.spec.initContainers[0].securityContext.allowPrivilegeEscalation must be false",
		"spec.template.spec.initContainers[0].securityContext.privileged must be false",
	])
}

test_denied_privileged_sidecar if {
	sidecar := _replace(_container_with("proxy", _privileged_sc), {"restartPolicy": "Always"})
	w := _phi(_pod_spec_with([_container], {"initContainers": [sidecar]}))
	_deny([w]) == _denied([
		"spec.template.spec.initContainers[0].securityContext.allowPrivilegeEscalation must be false",
		"spec.template.spec.initContainers[0].securityContext.privileged must be false",
	])
}

test_denied_ephemeral_container_without_security_context if {
	w := _phi(_pod_spec_with([_container], {"ephemeralContainers": [{"name": "debug", "image": "busybox"}]}))
	e := "spec.template.spec.ephemeralContainers[0]"
	_deny([w]) == _denied([
		concat("", [e, ".securityContext.allowPrivilegeEscalation must be false"]),
		concat("", [e, ".securityContext.capabilities.drop must include ALL"]),
		concat("", [e, ".securityContext.readOnlyRootFilesystem must be true"]),
	])
}

test_denied_second_container_of_a_bare_pod if {
	pod := fx.resource("kubernetes:core/v1:Pod", "nlp", {
		"metadata": {"name": "nlp", "namespace": "clinical", "labels": {"phistack.io/data-classification": "genetic"}},
		"spec": _pod_spec_with([_container, _container_with("sidecar", _sc_set("privileged", true))], {}),
	})
	{f.msg | some f in _deny([pod])} == {concat("", [_head, "spec.containers[1].securityContext.privileged must be false"])}
}

test_denied_cron_job_paths if {
	job := fx.resource("kubernetes:batch/v1:CronJob", "nightly", {
		"metadata": {"name": "nightly", "namespace": "clinical"},
		"spec": {"jobTemplate": {"spec": {"template": {
			"metadata": {"labels": {"phistack.io/data-classification": "phi"}},
			"spec": _pod_spec_with([_container_with("runtime", _sc_set("privileged", true))], {}),
		}}}},
	})
	{f.msg | some f in _deny([job])} == {"PHI-POD-001: PHI workload nightly does not meet the restricted Pod Security Standard: spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged must be false"}
}

test_missing_security_contexts if {
	w := _phi(object.remove(_pod_spec_with([{"name": "runtime", "image": fx.image}], {}), {"securityContext"}))
	_deny([w]) == _denied([
		concat("", [_c, ".securityContext.allowPrivilegeEscalation must be false"]),
		concat("", [_c, ".securityContext.capabilities.drop must include ALL"]),
		concat("", [_c, ".securityContext.readOnlyRootFilesystem must be true"]),
		concat("", [_c, ".securityContext.runAsNonRoot must be true (neither the container nor the pod sets it)"]),
		concat("", [_c, ".securityContext.seccompProfile.type must be RuntimeDefault or Localhost (no valid pod-level profile applies)"]),
	])
}

# --- unknown values fail closed ---

test_unknown_privileged if {
	_deny([_with_sc(_sc_set("privileged", fx.unknown))]) == _fails_closed([concat("", [_c, ".securityContext.privileged"])])
}

test_unknown_container_security_context if {
	c := _replace(_container, {"securityContext": fx.unknown})
	_deny([_phi(_pod_spec_with([c], {}))]) == _fails_closed([concat("", [_c, ".securityContext"])])
}

test_unknown_capability_in_list if {
	_deny([_with_sc(_sc_set("capabilities", {"drop": ["ALL"], "add": [fx.unknown]}))]) == _fails_closed([concat("", [_c, ".securityContext.capabilities.add[0]"])])
}

test_unknown_pod_security_context_and_host_network if {
	w := _phi(_pod_spec_with([_container], {"securityContext": fx.unknown, "hostNetwork": fx.unknown}))
	_deny([w]) == _fails_closed(["spec.template.spec.hostNetwork", "spec.template.spec.securityContext"])
}

test_unknown_container_list if {
	_deny([_phi(_pod_spec_with(fx.unknown, {}))]) == _fails_closed(["spec.template.spec.containers"])
}

test_unknown_init_container if {
	_deny([_phi(_pod_spec_with([_container], {"initContainers": [fx.unknown]}))]) == _fails_closed(["spec.template.spec.initContainers[0]"])
}

test_unknown_pod_spec if {
	w := fx.resource("kubernetes:apps/v1:Deployment", "nlp", {
		"metadata": {"name": "nlp", "namespace": "clinical", "labels": {"phistack.io/data-classification": "phi"}},
		"spec": {"template": fx.unknown},
	})
	_deny([w]) == _fails_closed(["spec.template"])
}

test_unknown_volume_and_host_port if {
	c := _replace(_container, {"ports": [{"containerPort": 8443, "hostPort": fx.unknown}]})
	w := _phi(_pod_spec_with([c], {"volumes": [fx.unknown]}))
	_deny([w]) == _fails_closed([concat("", [_c, ".ports[0].hostPort"]), "spec.template.spec.volumes[0]"])
}

test_unknown_probe_host if {
	c := _replace(_container, {"readinessProbe": {"httpGet": {"path": "/readyz", "port": 8443, "host": fx.unknown}}})
	_deny([_phi(_pod_spec_with([c], {}))]) == _fails_closed([concat("", [_c, ".readinessProbe.httpGet.host"])])
}

test_unknown_apparmor_annotation if {
	w := fx.resource("kubernetes:apps/v1:Deployment", "nlp", {
		"metadata": {"name": "nlp", "namespace": "clinical"},
		"spec": {"template": {
			"metadata": {
				"labels": {"phistack.io/data-classification": "phi"},
				"annotations": {"container.apparmor.security.beta.kubernetes.io/runtime": fx.unknown, "checksum": fx.unknown},
			},
			"spec": _pod_spec_with([_container], {}),
		}},
	})
	_deny([w]) == _fails_closed(["spec.template.metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/runtime\"]"])
}

# --- each workload is judged on its own ---

test_denied_each_workload_on_its_own if {
	clean := fx.deployment("clean", "phi", _pod_spec_with([_container], {}))
	job := fx.resource("kubernetes:batch/v1:Job", "batch", {
		"metadata": {"name": "batch", "namespace": "clinical"},
		"spec": {"template": {
			"metadata": {"labels": {"phistack.io/data-classification": "genetic"}},
			"spec": _pod_spec_with([_container], {"hostPID": true}),
		}},
	})
	_deny([clean, _with_sc(_sc_set("privileged", true)), job]) == {
		{"id": "PHI-POD-001", "urn": _urn, "msg": concat("", [_head, _c, ".securityContext.privileged must be false"])},
		{"id": "PHI-POD-001", "urn": fx.urn("kubernetes:batch/v1:Job", "batch"), "msg": "PHI-POD-001: PHI workload batch does not meet the restricted Pod Security Standard: spec.template.spec.hostPID must be false"},
	}
}

# The shortcut the unknown search takes: only an "__unknown__" key, however deep, counts.
test_holds_unknown_finds_a_marker_at_any_depth if {
	lib.holds_unknown({"a": [{"b": {"__unknown__": true}}]})
	not lib.holds_unknown({"a": [{"b": "the word __unknown__ inside a value"}], "c": 1})
}
