"""Mutation operators: each one weakens one control of a compliant reference plan.

An operator is an id, a class (the family of controls it attacks), a description, the rule id(s)
that must block the mutated plan, and a function ``plan -> plan`` that makes the one weakening on a
deep copy. Operators find their target by resource TYPE and PROPERTY PATH (see targets.py), never
by a resource's name or urn. An operator that finds no target raises ``NoTarget``, which fails the
test; one that only makes sense for some reference stacks (a Gateway, a PVC, genetic data) says
which in ``stacks``.

Expected rules: each entry of ``expect`` must be among the blocking findings; an entry may list
alternatives separated by ``|``, and ``*`` accepts any blocking rule. ``unknown`` demands that a
blocking finding of an expected rule lists the unknown path(s) (the fail-closed contract).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tests.mutation import targets as t
from tests.mutation.targets import NoTarget, Plan

__all__ = ["BASE_STACKS", "CLASSES", "CLOUD_STACKS", "OPERATORS", "NoTarget", "Operator", "mutants"]

ANY_RULE = "*"

# The compliant reference stacks that handle PHI or genetic data, smallest plan first.
BASE_STACKS = ("genomics", "clinical-nlp", "clinical-decision-support")
GATEWAY_STACKS = ("clinical-nlp", "clinical-decision-support")  # expose a Gateway (TlsEndpoint)
STORAGE_STACKS = ("genomics", "clinical-nlp")  # the PHI pod mounts a claim of an EncryptedStorage
GENETIC_STACKS = ("genomics",)
SAMD_STACKS = ("clinical-decision-support",)
# The compliant reference stacks that provision their cluster on a cloud (the gke and aks backends).
GKE_STACKS = ("clinical-nlp-gke",)
AKS_STACKS = ("genomics-aks",)
CLOUD_STACKS = GKE_STACKS + AKS_STACKS

# Every family of controls the suite attacks (a test proves each is represented).
CLASSES = {
    "log-shipping": "the forwarder's TLS destination, its config and its presence on every node (PHI-LOG-001)",
    "log-buffering": "the forwarder's disk buffer (PHI-LOG-002)",
    "log-retention": "the declared retention of audit logs (PHI-LOG-003)",
    "effective-env": "the container environment Kubernetes really applies (PHI-CC-003, PHI-LOG-004)",
    "pod-security": "the PHI pods' security context and host namespaces (PHI-POD-001)",
    "pod-security-admission": "the PHI namespace's Pod Security Admission level (PHI-POD-002)",
    "secrets": "credentials written into the plan in clear (PHI-SEC-001)",
    "volumes": "what the PHI pods mount (PHI-VOL-001)",
    "network": "the PHI namespace's NetworkPolicies (PHI-NET-001)",
    "rbac": "bindings of powerful roles (PHI-IAM-002)",
    "gpu": "the node pools' confidential-computing GPUs (PHI-GPU-001)",
    "unknown-types": "resources of types no rule understands (PHI-SCOPE-001)",
    "unknown-values": "values unknown at plan time fail closed",
    "existing-controls": "the controls that already deny (regressions show here)",
    "deidentification": "a PHI workload relabelled deidentified without a verified manifest (PHI-DEID-001)",
    "cloud": "the cloud cluster's pools, keys, control plane, credentials and audit route (PHI-GPU-001, PHI-CLOUD-*)",
}


@dataclass(frozen=True)
class Operator:
    id: str
    cls: str
    description: str
    expect: tuple[str, ...]
    fn: Callable[[Plan], Plan]
    stacks: tuple[str, ...] = BASE_STACKS
    unknown: bool = False
    deid: dict[str, Any] | None = None
    """``input.deid`` for the mutant (the verified manifests phistack passes beside the plan); None: none."""

    def apply(self, plan: Plan) -> Plan:
        """The mutant of ``plan``: a deep copy with the one weakening (``plan`` is left as it was)."""
        return self.fn(copy.deepcopy(plan))

    def expected_ids(self) -> set[str]:
        return {rule for entry in self.expect for rule in entry.split("|")}


OPERATORS: list[Operator] = []


def _add(op: Operator) -> None:
    if op.cls not in CLASSES:
        raise ValueError(f"{op.id}: unknown class {op.cls}")
    if any(existing.id == op.id for existing in OPERATORS):
        raise ValueError(f"operator id {op.id} is registered twice")
    if any(stack not in BASE_STACKS + CLOUD_STACKS for stack in op.stacks):
        raise ValueError(f"{op.id}: stacks must be base or cloud stacks")
    OPERATORS.append(op)


def op(
    op_id: str,
    cls: str,
    description: str,
    expect: str | tuple[str, ...],
    edit: Callable[[Plan], Any],
    *,
    stacks: tuple[str, ...] = BASE_STACKS,
    unknown: bool = False,
    deid: dict[str, Any] | None = None,
) -> None:
    """Register an operator whose ``edit(plan)`` changes the deep copy in place."""

    def mutate(plan: Plan) -> Plan:
        edit(plan)
        return plan

    expected = (expect,) if isinstance(expect, str) else expect
    _add(Operator(op_id, cls, description, expected, mutate, stacks, unknown, deid))


def mutants() -> Iterator[tuple[str, Operator]]:
    """Every (base stack, operator) pair the suite evaluates."""
    for operator in OPERATORS:
        for stack in operator.stacks:
            yield stack, operator


def _set(getter: Callable[[Plan], dict[str, Any]], key: str, value: Any) -> Callable[[Plan], None]:
    """An edit that sets ``getter(plan)[key] = value`` (the key may be new)."""

    def edit(plan: Plan) -> None:
        getter(plan)[key] = copy.deepcopy(value)

    return edit


def _delete(getter: Callable[[Plan], dict[str, Any]], key: str) -> Callable[[Plan], None]:
    """An edit that removes ``key`` from ``getter(plan)`` (a missing key means no target)."""

    def edit(plan: Plan) -> None:
        node = getter(plan)
        if key not in node:
            raise NoTarget(f"no {key} to remove")
        del node[key]

    return edit


def _unknown(getter: Callable[[Plan], t.Resource], *path: str | int) -> Callable[[Plan], None]:
    """An edit that makes a value of a resource unknown at plan time (it must exist in the base plan)."""

    def edit(plan: Plan) -> None:
        resource = getter(plan)
        node: Any = resource["inputs"]
        for key in path:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                raise NoTarget(f"{resource['type']} has no {'.'.join(map(str, path))}") from None
        t.mark_unknown(resource, list(path))

    return edit


# --- log shipping: the forwarder's own config decides where audit records go (PHI-LOG-001) ----------

LOG1 = "PHI-LOG-001"


def _fluent(edit: Callable[[dict[str, Any]], None]) -> Callable[[Plan], None]:
    return lambda plan: t.edit_fluent_bit(plan, edit)


def _siem_output_set(key: str, value: Any) -> Callable[[Plan], None]:
    def edit(doc: dict[str, Any]) -> None:
        t.siem_output(doc)[key] = value

    return _fluent(edit)


for _id, _key, _value, _what in [
    ("log-output-tls-off", "tls", "off", "`tls: off` on the SIEM output"),
    ("log-output-tls-verify-off", "tls.verify", "off", "`tls.verify: off` on the SIEM output"),
    (
        "log-output-tls-verify-false-bool",
        "tls.verify",
        False,
        "`tls.verify: false` (a YAML boolean) on the SIEM output",
    ),
    (
        "log-output-tls-verify-hostname-off",
        "tls.verify_hostname",
        "off",
        "`tls.verify_hostname: off` on the SIEM output",
    ),
    ("log-output-tls-min-version-1.2", "tls.min_version", "TLSv1.2", "`tls.min_version: TLSv1.2` on the SIEM output"),
    ("log-output-mode-tcp", "mode", "tcp", "syslog output `mode: tcp` (plaintext)"),
    ("log-output-mode-udp", "mode", "udp", "syslog output `mode: udp` (plaintext, lossy)"),
    (
        "log-output-host-in-cluster",
        "host",
        "siem-collector.phistack-logging",
        "SIEM output host an in-cluster Service name",
    ),
    (
        "log-output-host-svc-cluster-local",
        "host",
        "siem.phistack-logging.svc.cluster.local",
        "SIEM output host *.svc.cluster.local",
    ),
    ("log-output-host-localhost", "host", "localhost", "SIEM output host localhost"),
    ("log-output-host-loopback-ip", "host", "127.0.0.1", "SIEM output host 127.0.0.1"),
    ("log-output-match-narrowed", "match", "kube.*", "SIEM output matches only kube.* (audit.* records are dropped)"),
]:
    op(_id, "log-shipping", f"forwarder ConfigMap {t.FLUENT_BIT_KEY}: {_what}", LOG1, _siem_output_set(_key, _value))


def _tls_key_removed(doc: dict[str, Any]) -> None:
    output = t.siem_output(doc)
    if "tls" not in output:
        raise NoTarget("no tls key")
    del output["tls"]


op(
    "log-output-tls-key-removed",
    "log-shipping",
    "SIEM output without its `tls` key (fluent-bit default: off)",
    LOG1,
    _fluent(_tls_key_removed),
)


def _extra_plain_output(doc: dict[str, Any]) -> None:
    doc["pipeline"]["outputs"].append(
        {"name": "forward", "match": "*", "host": "collector.example-hospital.org", "port": 24224}
    )


op(
    "log-extra-plain-output",
    "log-shipping",
    "an extra forward output without TLS next to the SIEM output",
    LOG1,
    _fluent(_extra_plain_output),
)


def _extra_http_output(doc: dict[str, Any]) -> None:
    doc["pipeline"]["outputs"].append(
        {"name": "http", "match": "audit.*", "host": "analytics.example.net", "port": 80, "tls": "off"}
    )


op(
    "log-extra-http-output",
    "log-shipping",
    "an extra plaintext http output of audit.* to an outside host",
    LOG1,
    _fluent(_extra_http_output),
)


def _drop_audit_input(doc: dict[str, Any]) -> None:
    inputs = t.inputs_of(doc)
    kept = [i for i in inputs if "audit" not in str(i.get("path", ""))]
    if len(kept) == len(inputs):
        raise NoTarget("no input tailing the Kubernetes audit log")
    doc["pipeline"]["inputs"] = kept


op(
    "log-input-kubernetes-audit-removed",
    "log-shipping",
    "the input tailing the Kubernetes audit log removed",
    LOG1,
    _fluent(_drop_audit_input),
)


def _config_text(text: str) -> Callable[[Plan], None]:
    def edit(plan: Plan) -> None:
        t.forwarder_config_map(plan)["inputs"]["data"][t.FLUENT_BIT_KEY] = text

    return edit


op(
    "log-config-unparsable",
    "log-shipping",
    f"{t.FLUENT_BIT_KEY} replaced by text that is not YAML",
    LOG1,
    _config_text("pipeline: [outputs: {name: syslog\n  tls: on\n"),
)
op(
    "log-config-classic-format",
    "log-shipping",
    f"{t.FLUENT_BIT_KEY} replaced by a classic-format config (unverifiable; fluent-bit fails to load it as YAML)",
    LOG1,
    _config_text(
        "[SERVICE]\n    Flush 1\n[INPUT]\n    Name tail\n    Path /var/log/containers/*.log\n"
        "[OUTPUT]\n    Name syslog\n    Match *\n    Host siem.example-hospital.org\n    Port 6514\n"
        "    Mode tls\n    tls On\n    tls.verify On\n"
    ),
)
op("log-config-empty", "log-shipping", f"{t.FLUENT_BIT_KEY} emptied", LOG1, _config_text(""))


def _rename_config_key(plan: Plan) -> None:
    data = t.forwarder_config_map(plan)["inputs"]["data"]
    data["fluent-bit.yml"] = data.pop(t.FLUENT_BIT_KEY)


op(
    "log-config-key-renamed",
    "log-shipping",
    f"the ConfigMap key {t.FLUENT_BIT_KEY} renamed (the file the forwarder loads is gone)",
    LOG1,
    _rename_config_key,
)
op(
    "log-configmap-removed",
    "log-shipping",
    "the forwarder's ConfigMap removed (the DaemonSet still mounts it)",
    LOG1,
    lambda p: t.remove_resources(p, [t.forwarder_config_map(p)]),
)
op(
    "log-daemonset-removed",
    "log-shipping",
    "the forwarder DaemonSet removed (the AuditLogShipping component stays)",
    LOG1,
    lambda p: t.remove_resources(p, [t.forwarder_daemon_set(p)]),
)
op(
    "log-daemonset-config-volume-repointed",
    "log-shipping",
    "the forwarder's config volume mounts a ConfigMap the plan does not create",
    LOG1,
    lambda p: t.forwarder_config_volume(p)["configMap"].update(name="fluent-bit-handwritten"),
)
op(
    "log-daemonset-tolerations-removed",
    "log-shipping",
    "the forwarder DaemonSet's tolerations removed (it no longer runs on tainted GPU nodes)",
    LOG1,
    _delete(lambda p: t.pod_spec(t.forwarder_daemon_set(p)), "tolerations"),
)
op(
    "log-daemonset-nodeselector-no-gpu",
    "log-shipping",
    "a nodeSelector nvidia.com/gpu.present=false on the forwarder (GPU nodes are excluded)",
    LOG1,
    _set(lambda p: t.pod_spec(t.forwarder_daemon_set(p)), "nodeSelector", {"nvidia.com/gpu.present": "false"}),
)
op(
    "log-daemonset-nodeselector-system-pool",
    "log-shipping",
    "a nodeSelector pinning the forwarder to a system pool (GPU nodes are excluded)",
    LOG1,
    _set(
        lambda p: t.pod_spec(t.forwarder_daemon_set(p)), "nodeSelector", {"node-role.kubernetes.io/control-plane": ""}
    ),
)


def _forwarder_args(plan: Plan) -> None:
    container = t.pod_spec(t.forwarder_daemon_set(plan))["containers"][0]
    container["args"] = ["--config=/etc/fluent-bit-local/fluent-bit.yaml"]


op(
    "log-daemonset-args-other-config",
    "log-shipping",
    "the forwarder started with --config naming a file outside the judged ConfigMap",
    LOG1,
    _forwarder_args,
)
op(
    "log-component-siem-host-short-name",
    "log-shipping",
    "AuditLogShipping siem_host a short in-cluster name",
    LOG1,
    _set(lambda p: t.component(p, t.T_LOG_SHIPPING)["inputs"], "siem_host", "siem-collector"),
)

# --- log buffering (PHI-LOG-002) and retention (PHI-LOG-003) -------------------------------------------


def _input_storage_memory(doc: dict[str, Any]) -> None:
    t.inputs_of(doc)[0]["storage.type"] = "memory"


def _drop_total_limit(doc: dict[str, Any]) -> None:
    output = t.siem_output(doc)
    if "storage.total_limit_size" not in output:
        raise NoTarget("no storage.total_limit_size")
    del output["storage.total_limit_size"]


def _drop_storage_path(doc: dict[str, Any]) -> None:
    if "storage.path" not in doc.get("service", {}):
        raise NoTarget("no service storage.path")
    del doc["service"]["storage.path"]


op(
    "log-input-storage-memory",
    "log-buffering",
    "the first forwarder input buffers in memory (storage.type: memory)",
    "PHI-LOG-002",
    _fluent(_input_storage_memory),
)
op(
    "log-output-total-limit-removed",
    "log-buffering",
    "storage.total_limit_size removed from the SIEM output",
    "PHI-LOG-002",
    _fluent(_drop_total_limit),
)
op(
    "log-output-retry-limit-number",
    "log-buffering",
    "retry_limit 5 on the SIEM output (records dropped after 5 failures)",
    "PHI-LOG-002",
    _siem_output_set("retry_limit", 5),
)
op(
    "log-service-storage-path-removed",
    "log-buffering",
    "service storage.path removed (filesystem buffering has nowhere to go)",
    "PHI-LOG-002",
    _fluent(_drop_storage_path),
)

RETENTION = "phistack.io/retention-days"
op(
    "log-retention-annotation-lowered",
    "log-retention",
    f"the forwarder ConfigMap's {RETENTION} annotation lowered to 30",
    "PHI-LOG-003",
    _set(lambda p: t.forwarder_config_map(p)["inputs"]["metadata"]["annotations"], RETENTION, "30"),
)
op(
    "log-retention-annotation-removed",
    "log-retention",
    f"the forwarder ConfigMap's {RETENTION} annotation removed",
    "PHI-LOG-003",
    _delete(lambda p: t.forwarder_config_map(p)["inputs"]["metadata"]["annotations"], RETENTION),
)
op(
    "log-retention-annotation-not-a-number",
    "log-retention",
    f"the forwarder ConfigMap's {RETENTION} annotation set to 'P6Y' (not a day count)",
    "PHI-LOG-003",
    _set(lambda p: t.forwarder_config_map(p)["inputs"]["metadata"]["annotations"], RETENTION, "P6Y"),
)

# --- effective environment: what Kubernetes applies, not the first entry (PHI-CC-003, PHI-LOG-004) ---

CC3 = "PHI-CC-003"
LOG4 = "PHI-LOG-004"
BROKER = "PHISTACK_KEY_BROKER_URL"
POLICY = "PHISTACK_ATTESTATION_POLICY"
SINK = "PHISTACK_AUDIT_SINK"


def _append_env(name: str, value: str) -> Callable[[Plan], None]:
    def edit(plan: Plan) -> None:
        container = t.phi_container(plan)
        t.env_entry(container, name)  # the compliant definition exists; the new one comes after it
        t.set_env(container, name, value)

    return edit


def _broker_from_missing_config_map(plan: Plan) -> None:
    entry = t.env_entry(t.phi_container(plan), BROKER)
    entry.pop("value")
    entry["valueFrom"] = {"configMapKeyRef": {"name": "kbs-settings", "key": "url"}}


def _add_env_config_map(plan: Plan, name: str, data: dict[str, str]) -> None:
    ns = t.phi_namespace(plan)
    t.add_resource(plan, t.T_CONFIG_MAP, f"{name}-cm", t.k8s("ConfigMap", "v1", name, ns, data=data))


def _broker_from_env_from(plan: Plan) -> None:
    container = t.phi_container(plan)
    t.drop_env(container, BROKER)
    _add_env_config_map(plan, "kbs-settings", {BROKER: "http://kbs.example-hospital.org"})
    container.setdefault("envFrom", []).append({"configMapRef": {"name": "kbs-settings"}})


def _broker_from_env_from_prefix(plan: Plan) -> None:
    container = t.phi_container(plan)
    t.drop_env(container, BROKER)
    _add_env_config_map(plan, "phistack-settings", {"KEY_BROKER_URL": "http://kbs.example-hospital.org"})
    container.setdefault("envFrom", []).append({"prefix": "PHISTACK_", "configMapRef": {"name": "phistack-settings"}})


def _sink_from_secret(plan: Plan) -> None:
    entry = t.env_entry(t.phi_container(plan), SINK)
    entry.pop("value")
    entry["valueFrom"] = {"secretKeyRef": {"name": "audit-sink", "key": "address"}}


op(
    "env-broker-url-http-appended",
    "effective-env",
    f"a second {BROKER}=http://... after the https one (the last wins)",
    CC3,
    _append_env(BROKER, "http://kbs.example-hospital.org"),
)
op(
    "env-attestation-policy-empty-appended",
    "effective-env",
    f"a second, empty {POLICY} after the real one",
    CC3,
    _append_env(POLICY, ""),
)
op(
    "env-attestation-policy-removed",
    "effective-env",
    f"{POLICY} removed",
    CC3,
    lambda p: t.drop_env(t.phi_container(p), POLICY),
)
op(
    "env-broker-url-removed",
    "effective-env",
    f"{BROKER} removed",
    CC3,
    lambda p: t.drop_env(t.phi_container(p), BROKER),
)
op(
    "env-broker-url-missing-configmap",
    "effective-env",
    f"{BROKER} read through valueFrom from a ConfigMap the plan does not create",
    CC3,
    _broker_from_missing_config_map,
    unknown=True,
)
op(
    "env-broker-url-envfrom-http",
    "effective-env",
    f"{BROKER} moved into an envFrom ConfigMap of the plan that says http",
    CC3,
    _broker_from_env_from,
)
op(
    "env-broker-url-envfrom-prefix-http",
    "effective-env",
    f"{BROKER} defined by envFrom prefix PHISTACK_ over a plan ConfigMap key KEY_BROKER_URL=http://...",
    CC3,
    _broker_from_env_from_prefix,
)
op(
    "env-audit-sink-empty-appended",
    "effective-env",
    f"a second, empty {SINK} after the real one",
    LOG4,
    _append_env(SINK, ""),
)
op("env-audit-sink-removed", "effective-env", f"{SINK} removed", LOG4, lambda p: t.drop_env(t.phi_container(p), SINK))
op(
    "env-audit-sink-secret-ref",
    "effective-env",
    f"{SINK} read from a Secret the plan does not create",
    LOG4,
    _sink_from_secret,
    unknown=True,
)

# --- pod security of the PHI pod (PHI-POD-001) and its namespace (PHI-POD-002) ------------------------

POD1 = "PHI-POD-001"


def _container_sc(plan: Plan) -> dict[str, Any]:
    return t.phi_container(plan).setdefault("securityContext", {})


def _pod_sc(plan: Plan) -> dict[str, Any]:
    return t.phi_pod(plan).setdefault("securityContext", {})


def _add_capability(cap: str) -> Callable[[Plan], None]:
    def edit(plan: Plan) -> None:
        _container_sc(plan).setdefault("capabilities", {}).setdefault("add", []).append(cap)

    return edit


def _host_port(plan: Plan) -> None:
    ports = t.phi_container(plan).get("ports") or []
    if not ports:
        raise NoTarget("the PHI container declares no ports")
    ports[0]["hostPort"] = ports[0]["containerPort"]


def _privileged_extra(field: str, name: str) -> Callable[[Plan], None]:
    def edit(plan: Plan) -> None:
        container = t.restricted_container(plan, name)
        container["securityContext"].update(privileged=True, allowPrivilegeEscalation=True)
        t.phi_pod(plan).setdefault(field, []).append(container)

    return edit


def _seccomp_pod_unconfined(plan: Plan) -> None:
    _pod_sc(plan)["seccompProfile"] = {"type": "Unconfined"}
    if "seccompProfile" not in _container_sc(plan):
        raise NoTarget("the container sets no seccompProfile")
    del _container_sc(plan)["seccompProfile"]


def _non_root_unset(plan: Plan) -> None:
    for sc in (_pod_sc(plan), _container_sc(plan)):
        for key in ("runAsNonRoot", "runAsUser"):
            sc.pop(key, None)


for _id, _key, _value, _what in [
    ("pod-privileged", "privileged", True, "privileged: true"),
    ("pod-allow-privilege-escalation", "allowPrivilegeEscalation", True, "allowPrivilegeEscalation: true"),
    ("pod-run-as-non-root-false", "runAsNonRoot", False, "runAsNonRoot: false"),
    ("pod-run-as-user-0", "runAsUser", 0, "runAsUser: 0"),
    ("pod-seccomp-unconfined", "seccompProfile", {"type": "Unconfined"}, "seccompProfile Unconfined"),
    ("pod-read-only-root-fs-false", "readOnlyRootFilesystem", False, "readOnlyRootFilesystem: false"),
    ("pod-proc-mount-unmasked", "procMount", "Unmasked", "procMount: Unmasked"),
    ("pod-apparmor-unconfined", "appArmorProfile", {"type": "Unconfined"}, "appArmorProfile Unconfined"),
]:
    op(_id, "pod-security", f"the PHI container's securityContext: {_what}", POD1, _set(_container_sc, _key, _value))

for _id, _key, _what in [
    ("pod-host-network", "hostNetwork", "hostNetwork: true"),
    ("pod-host-pid", "hostPID", "hostPID: true"),
    ("pod-host-ipc", "hostIPC", "hostIPC: true"),
]:
    op(_id, "pod-security", f"the PHI pod: {_what}", POD1, _set(t.phi_pod, _key, True))

op(
    "pod-cap-add-sys-admin",
    "pod-security",
    "capabilities.add SYS_ADMIN on the PHI container",
    POD1,
    _add_capability("SYS_ADMIN"),
)
op(
    "pod-cap-add-net-raw",
    "pod-security",
    "capabilities.add NET_RAW on the PHI container",
    POD1,
    _add_capability("NET_RAW"),
)
op("pod-cap-add-all", "pod-security", "capabilities.add ALL on the PHI container", POD1, _add_capability("ALL"))
op(
    "pod-cap-drop-removed",
    "pod-security",
    "capabilities.drop ALL removed from the PHI container",
    POD1,
    _delete(_container_sc, "capabilities"),
)
op("pod-host-port", "pod-security", "a hostPort on the PHI container's port", POD1, _host_port)
op(
    "pod-privileged-init-container",
    "pod-security",
    "an added privileged initContainer in the PHI pod",
    POD1,
    _privileged_extra("initContainers", "setup"),
)
op(
    "pod-privileged-ephemeral-container",
    "pod-security",
    "an added privileged ephemeral container in the PHI pod",
    POD1,
    _privileged_extra("ephemeralContainers", "debug"),
)
op(
    "pod-privileged-sidecar",
    "pod-security",
    "an added privileged sidecar container in the PHI pod",
    POD1,
    _privileged_extra("containers", "sidecar"),
)
op(
    "pod-container-security-context-removed",
    "pod-security",
    "the PHI container's securityContext removed (defaults: escalation allowed, caps kept, writable root)",
    POD1,
    _delete(t.phi_container, "securityContext"),
)
op(
    "pod-seccomp-unconfined-pod-level",
    "pod-security",
    "seccompProfile Unconfined at pod level and the container's own profile removed (the pod level applies)",
    POD1,
    _seccomp_pod_unconfined,
)
op(
    "pod-run-as-root-by-default",
    "pod-security",
    "runAsNonRoot and runAsUser removed at pod and container level (the image's user, maybe root)",
    POD1,
    _non_root_unset,
)
op(
    "pod-host-path-device",
    "pod-security",
    "a hostPath mount of /dev in the PHI pod",
    (POD1 + "|PHI-VOL-001",),
    lambda p: t.mount(p, {"name": "dev", "hostPath": {"path": "/dev"}}, "/host-dev"),
)

POD2 = "PHI-POD-002"


def _phi_namespace_labels(plan: Plan) -> dict[str, Any]:
    return t.namespace_resource(plan, t.phi_namespace(plan))["inputs"]["metadata"]["labels"]


op(
    "psa-enforce-privileged",
    "pod-security-admission",
    f"the PHI namespace label {t.PSA_ENFORCE}=privileged",
    POD2,
    _set(_phi_namespace_labels, t.PSA_ENFORCE, "privileged"),
)
op(
    "psa-enforce-baseline",
    "pod-security-admission",
    f"the PHI namespace label {t.PSA_ENFORCE}=baseline",
    POD2,
    _set(_phi_namespace_labels, t.PSA_ENFORCE, "baseline"),
)
op(
    "psa-enforce-removed",
    "pod-security-admission",
    f"the PHI namespace label {t.PSA_ENFORCE} removed",
    POD2,
    _delete(_phi_namespace_labels, t.PSA_ENFORCE),
)
op(
    "psa-enforce-version-old",
    "pod-security-admission",
    f"the PHI namespace's {t.PSA_ENFORCE}-version pinned to v1.22",
    POD2,
    _set(_phi_namespace_labels, t.PSA_ENFORCE + "-version", "v1.22"),
)

# --- secrets in clear (PHI-SEC-001) ---------------------------------------------------------------------

SEC1 = "PHI-SEC-001"


def _literal_env(name: str, value: str) -> Callable[[Plan], None]:
    return lambda plan: t.set_env(t.phi_container(plan), name, value)


PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----\n"
)
for _id, _name, _value, _what in [
    ("secret-env-db-password", "DB_PASSWORD", "Winter2026!clinical", "DB_PASSWORD as a literal"),
    ("secret-env-api-token", "API_TOKEN", "tok_live_8f3b2c1d9e7a6b5c4d3e2f1a0b9c8d7e", "API_TOKEN as a literal"),
    (
        "secret-env-aws-key-shaped",
        "OBJECT_STORE_ID",
        "AKIAQ3EGWTPZ4X7NDR5K",
        "an AWS access key id under a neutral name",
    ),
    (
        "secret-env-aws-secret-access-key",
        "AWS_SECRET_ACCESS_KEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
        "AWS_SECRET_ACCESS_KEY as a literal",
    ),
    ("secret-env-pem-private-key", "TLS_KEY", PEM, "a PEM private key"),
    (
        "secret-env-database-url-credentials",
        "DATABASE_URL",
        "postgres://etl:S3cr3t-pw@db.example-hospital.org:5432/notes",
        "a database URL with a password",
    ),
]:
    op(
        _id,
        "secrets",
        f"the PHI container's env: {_what}",
        SEC1,
        _literal_env(_name, _value),
    )

op(
    "secret-args-password",
    "secrets",
    "--password=... in the PHI container's args",
    SEC1,
    _set(t.phi_container, "args", ["--password=Winter2026!clinical"]),
)
op(
    "secret-args-password-split",
    "secrets",
    "--password followed by the password as the next arg",
    SEC1,
    _set(t.phi_container, "args", ["--password", "Winter2026!clinical"]),
)


def _secret_in_env_from_config_map(plan: Plan) -> None:
    _add_env_config_map(
        plan, "db-settings", {"DB_HOST": "db.example-hospital.org", "DB_PASSWORD": "Winter2026!clinical"}
    )
    t.phi_container(plan).setdefault("envFrom", []).append({"configMapRef": {"name": "db-settings"}})


op(
    "secret-configmap-envfrom-password",
    "secrets",
    "DB_PASSWORD in clear in a ConfigMap that the PHI container loads with envFrom",
    SEC1,
    _secret_in_env_from_config_map,
)

# --- volumes of the PHI pod (PHI-VOL-001) -----------------------------------------------------------

VOL1 = "PHI-VOL-001"


def _mount_volume(volume: dict[str, Any]) -> Callable[[Plan], None]:
    return lambda plan: t.mount(plan, {"name": "scratch", **copy.deepcopy(volume)})


_VOLUMES: list[tuple[str, dict[str, Any], tuple[str, ...], str]] = [
    (
        "vol-undeclared-claim",
        {"persistentVolumeClaim": {"claimName": "scratch-undeclared"}},
        (VOL1,),
        "a claim the plan does not declare",
    ),
    ("vol-inline-nfs", {"nfs": {"server": "10.0.0.5", "path": "/exports/phi"}}, (VOL1,), "an inline NFS share"),
    (
        "vol-host-path",
        {"hostPath": {"path": "/mnt/phi", "type": "DirectoryOrCreate"}},
        (VOL1, "PHI-ENC-002"),
        "a hostPath",
    ),
    ("vol-empty-dir-disk", {"emptyDir": {}}, (VOL1,), "a disk-backed emptyDir"),
    (
        "vol-iscsi",
        {"iscsi": {"targetPortal": "10.0.0.9:3260", "iqn": "iqn.2001-04.com.example:phi", "lun": 0}},
        (VOL1,),
        "an iSCSI LUN",
    ),
    (
        "vol-inline-csi",
        {"csi": {"driver": "nfs.csi.k8s.io", "volumeAttributes": {"server": "10.0.0.5", "share": "/phi"}}},
        (VOL1,),
        "an inline CSI volume",
    ),
    (
        "vol-aws-ebs-inline",
        {"awsElasticBlockStore": {"volumeID": "vol-0abc1234", "fsType": "ext4"}},
        (VOL1,),
        "an inline EBS volume (no StorageClass encryption)",
    ),
    (
        "vol-ephemeral-undeclared-class",
        {
            "ephemeral": {
                "volumeClaimTemplate": {
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": "standard",
                        "resources": {"requests": {"storage": "100Gi"}},
                    }
                }
            }
        },
        (VOL1,),
        "a generic ephemeral volume of an undeclared StorageClass",
    ),
]
for _id, _volume, _expect, _what in _VOLUMES:
    op(
        _id,
        "volumes",
        f"the PHI pod mounts {_what}",
        _expect,
        _mount_volume(_volume),
    )


def _declared_claim_other_class(plan: Plan) -> None:
    ns = t.phi_namespace(plan)
    spec = {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "standard",
        "resources": {"requests": {"storage": "1Ti"}},
    }
    t.add_resource(plan, t.T_PVC, "exports-pvc", t.k8s("PersistentVolumeClaim", "v1", "exports", ns, spec=spec))
    t.mount(plan, {"name": "exports", "persistentVolumeClaim": {"claimName": "exports"}}, "/exports")


op(
    "vol-new-claim-unencrypted-class",
    "volumes",
    "the PHI pod mounts a new claim of the plan whose StorageClass the plan does not declare",
    (VOL1 + "|PHI-ENC-001",),
    _declared_claim_other_class,
)
op(
    "vol-phi-claim-storage-class-removed",
    "volumes",
    "the PHI claim's spec.storageClassName removed (the cluster default class applies)",
    VOL1,
    _delete(lambda p: t.phi_claim(p)["inputs"]["spec"], "storageClassName"),
    stacks=STORAGE_STACKS,
)
op(
    "vol-phi-claim-storage-class-standard",
    "volumes",
    "the PHI claim's spec.storageClassName changed to an undeclared class",
    (VOL1 + "|PHI-ENC-001",),
    _set(lambda p: t.phi_claim(p)["inputs"]["spec"], "storageClassName", "standard"),
    stacks=STORAGE_STACKS,
)

# --- network policies of the PHI namespace (PHI-NET-001) ----------------------------------------------

NET1 = "PHI-NET-001"


def _egress_policy(peers: list[dict[str, Any]] | None, ports: bool) -> Callable[[Plan], None]:
    return lambda plan: t.add_egress_policy(plan, "allow-egress-wide", copy.deepcopy(peers), ports)


_EGRESS: list[tuple[str, list[dict[str, Any]] | None, bool, str]] = [
    ("net-egress-any-ipv4", [{"ipBlock": {"cidr": "0.0.0.0/0"}}], False, "egress to 0.0.0.0/0"),
    ("net-egress-any-ipv6", [{"ipBlock": {"cidr": "::/0"}}], False, "egress to ::/0"),
    ("net-egress-private-10-8", [{"ipBlock": {"cidr": "10.0.0.0/8"}}], False, "egress to 10.0.0.0/8"),
    (
        "net-egress-split-halves",
        [{"ipBlock": {"cidr": "0.0.0.0/1"}}, {"ipBlock": {"cidr": "128.0.0.0/1"}}],
        False,
        "egress to 0.0.0.0/1 and 128.0.0.0/1",
    ),
    (
        "net-egress-any-with-except",
        [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}],
        False,
        "egress to 0.0.0.0/0 except 10.0.0.0/8",
    ),
    ("net-egress-no-to", None, True, "an egress rule on port 443 with no `to` (every destination)"),
    ("net-egress-empty-rule", None, False, "an empty egress rule (everything)"),
    (
        "net-egress-namespace-selector-empty",
        [{"namespaceSelector": {}}],
        False,
        "egress to namespaceSelector {} (every pod of every namespace)",
    ),
]
for _id, _peers, _ports, _what in _EGRESS:
    op(
        _id,
        "network",
        f"a NetworkPolicy in the PHI namespace allowing {_what}",
        NET1,
        _egress_policy(_peers, _ports),
    )

op(
    "net-default-deny-removed",
    "network",
    "the PHI namespace's default-deny NetworkPolicy removed",
    NET1,
    lambda p: t.remove_resources(p, [t.default_deny(p)]),
)


def _default_deny_ingress_only(plan: Plan) -> None:
    t.default_deny(plan)["inputs"]["spec"]["policyTypes"] = ["Ingress"]


op(
    "net-default-deny-egress-type-removed",
    "network",
    "Egress removed from the default-deny policyTypes",
    NET1,
    _default_deny_ingress_only,
)
op(
    "net-default-deny-narrowed",
    "network",
    "the default-deny podSelector narrowed to a label no pod has",
    NET1,
    _set(
        lambda p: t.default_deny(p)["inputs"]["spec"],
        "podSelector",
        {"matchLabels": {"phistack.io/quarantine": "true"}},
    ),
)
op(
    "net-allow-widened",
    "network",
    "an existing egress allow's ipBlock widened to 0.0.0.0/0",
    NET1,
    _set(t.ip_allow, "cidr", "0.0.0.0/0"),
)
op(
    "net-ingress-any",
    "network",
    "a NetworkPolicy in the PHI namespace allowing ingress from 0.0.0.0/0",
    NET1,
    lambda p: t.add_network_policy(
        p,
        "allow-ingress-any",
        {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]},
    ),
)

# --- RBAC (PHI-IAM-002) -----------------------------------------------------------------------------

IAM2 = "PHI-IAM-002"


def _cluster_binding(role: str, subject: dict[str, Any]) -> Callable[[Plan], None]:
    return lambda plan: t.add_binding(plan, "ClusterRoleBinding", f"grant-{role}", "ClusterRole", role, [subject])


for _id, _role, _subject, _what in [
    ("rbac-crb-admin-group", "admin", t.group("research-staff"), "admin to a Group"),
    ("rbac-crb-edit-user", "edit", t.user("contractor@example.net"), "edit to a User"),
    ("rbac-crb-cluster-admin-group", "cluster-admin", t.group("platform-team"), "cluster-admin to a Group"),
    (
        "rbac-crb-cluster-admin-authenticated",
        "cluster-admin",
        t.group("system:authenticated"),
        "cluster-admin to system:authenticated",
    ),
]:
    op(
        _id,
        "rbac",
        f"a ClusterRoleBinding of {_what}",
        IAM2,
        _cluster_binding(_role, _subject),
    )


def _cluster_admin_to_phi_service_account(plan: Plan) -> None:
    pod = t.phi_pod(plan)
    subject = {"kind": "ServiceAccount", "name": pod["serviceAccountName"], "namespace": t.phi_namespace(plan)}
    t.add_binding(plan, "ClusterRoleBinding", "workload-admin", "ClusterRole", "cluster-admin", [subject])


op(
    "rbac-crb-cluster-admin-phi-service-account",
    "rbac",
    "a ClusterRoleBinding of cluster-admin to the PHI pod's ServiceAccount",
    IAM2,
    _cluster_admin_to_phi_service_account,
)
op(
    "rbac-rb-admin-phi-namespace",
    "rbac",
    "a RoleBinding in the PHI namespace of ClusterRole admin to a Group",
    IAM2,
    lambda p: t.add_binding(
        p, "RoleBinding", "ns-admin", "ClusterRole", "admin", [t.group("research-staff")], t.phi_namespace(p)
    ),
)
op(
    "rbac-rb-edit-all-service-accounts",
    "rbac",
    "a RoleBinding in the PHI namespace of ClusterRole edit to every ServiceAccount",
    IAM2,
    lambda p: t.add_binding(
        p, "RoleBinding", "ns-edit", "ClusterRole", "edit", [t.group("system:serviceaccounts")], t.phi_namespace(p)
    ),
)
op(
    "rbac-rb-roleref-unknown",
    "rbac",
    "the PHI namespace RoleBinding's roleRef.name unknown at plan time",
    IAM2,
    _unknown(t.phi_role_binding, "roleRef", "name"),
    unknown=True,
)
op(
    "rbac-rb-subjects-unknown",
    "rbac",
    "the PHI namespace RoleBinding's subjects unknown at plan time",
    IAM2,
    _unknown(t.phi_role_binding, "subjects"),
    unknown=True,
)


def _existing_cluster_binding_escalated(plan: Plan) -> None:
    binding = t.one(t.of_type(plan, t.T_CLUSTER_ROLE_BINDING), "ClusterRoleBinding")
    binding["inputs"]["roleRef"]["name"] = "cluster-admin"


op(
    "rbac-existing-crb-to-cluster-admin",
    "rbac",
    "an existing ClusterRoleBinding's roleRef changed to cluster-admin",
    IAM2,
    _existing_cluster_binding_escalated,
)

# --- GPUs (PHI-GPU-001) -----------------------------------------------------------------------------

GPU1 = "PHI-GPU-001"


def _every_pool(key: str, value: Any) -> Callable[[Plan], None]:
    def edit(plan: Plan) -> None:
        for pool in t.every_pool(plan):
            pool[key] = copy.deepcopy(value)

    return edit


def _non_cc_pool_claims_cc(plan: Plan) -> None:
    t.every_pool(plan).append(
        {"name": "l40s-pool", "gpu_model": "L40S", "gpu_count": 8, "node_count": 2, "cc_capable": True}
    )


def _gpu_models_unknown(plan: Plan) -> None:
    cluster = t.component(plan, t.T_CLUSTER)
    for i in range(len(t.every_pool(plan))):
        t.mark_unknown(cluster, ["node_pools", i, "gpu_model"])


op(
    "gpu-model-a100",
    "gpu",
    "every node pool's gpu_model 'A100 80GB' while cc_capable stays true",
    GPU1,
    _every_pool("gpu_model", "A100 80GB"),
)
op(
    "gpu-model-rtx-4090",
    "gpu",
    "every node pool's gpu_model 'RTX 4090' while cc_capable stays true",
    GPU1,
    _every_pool("gpu_model", "RTX 4090"),
)
op(
    "gpu-non-cc-pool-claims-cc",
    "gpu",
    "an added L40S pool that declares cc_capable: true",
    GPU1,
    _non_cc_pool_claims_cc,
)
op(
    "gpu-model-unknown",
    "gpu",
    "every node pool's gpu_model unknown at plan time",
    GPU1,
    _gpu_models_unknown,
    unknown=True,
)
op(
    "gpu-pools-not-cc",
    "gpu",
    "every node pool's cc_capable false (PHI workloads have no CC pool)",
    GPU1,
    _every_pool("cc_capable", False),
)

# --- resources of types no rule understands (PHI-SCOPE-001) -------------------------------------------

SCOPE1 = "PHI-SCOPE-001"


def _add_unknown_typed(type_: str, name: str, inputs: Callable[[Plan], dict[str, Any]]) -> Callable[[Plan], None]:
    def edit(plan: Plan) -> None:
        t.add_resource(plan, type_, name, inputs(plan))

    return edit


op(
    "scope-crd-phicache",
    "unknown-types",
    "an example.com/v1 PhiCache labelled phi, connected to nothing",
    SCOPE1,
    _add_unknown_typed(
        "kubernetes:example.com/v1:PhiCache",
        "notes-cache",
        lambda p: {
            "apiVersion": "example.com/v1",
            "kind": "PhiCache",
            "metadata": {"name": "notes-cache", "namespace": t.phi_namespace(p), "labels": {t.CLASS_LABEL: "phi"}},
            "spec": {"size": "200Gi"},
        },
    ),
)
op(
    "scope-s3-bucket-tagged",
    "unknown-types",
    "an aws:s3 BucketV2 tagged data-classification=phi",
    SCOPE1,
    _add_unknown_typed(
        "aws:s3/bucketV2:BucketV2",
        "phi-exports",
        lambda p: {"bucket": "phi-exports", "tags": {"data-classification": "phi"}},
    ),
)
op(
    "scope-gcs-bucket-genetic",
    "unknown-types",
    "a gcp:storage Bucket labelled classification=genetic",
    SCOPE1,
    _add_unknown_typed(
        "gcp:storage/bucket:Bucket",
        "variant-dumps",
        lambda p: {"name": "variant-dumps", "location": "US", "labels": {"classification": "genetic"}},
    ),
)


def _retype_phi_workload(plan: Plan) -> None:
    w = t.phi_workload(plan)
    api = w["type"].split(":")[1]
    w["type"] = w["type"].replace(api, api + "beta2", 1)
    w["inputs"]["apiVersion"] = str(w["inputs"].get("apiVersion", api)) + "beta2"


op(
    "scope-phi-workload-old-api",
    "unknown-types",
    "the PHI pod workload declared under a v1beta2 API version no rule reads",
    SCOPE1,
    _retype_phi_workload,
)


def _knative_service(plan: Plan) -> dict[str, Any]:
    container = copy.deepcopy(t.phi_container(plan))
    return t.k8s(
        "Service",
        "serving.knative.dev/v1",
        "notes-fn",
        t.phi_namespace(plan),
        spec={"template": {"spec": {"containers": [container]}}},
    )


op(
    "scope-knative-service",
    "unknown-types",
    "a Knative Service running the PHI container in the PHI namespace",
    SCOPE1,
    _add_unknown_typed("kubernetes:serving.knative.dev/v1:Service", "notes-fn", _knative_service),
)


def _argo_workflow(plan: Plan) -> dict[str, Any]:
    container = copy.deepcopy(t.phi_container(plan))
    spec = {"entrypoint": "main", "templates": [{"name": "main", "container": container}]}
    return t.k8s("Workflow", "argoproj.io/v1alpha1", "reindex", t.phi_namespace(plan), spec=spec)


op(
    "scope-argo-workflow",
    "unknown-types",
    "an Argo Workflow (a template's single `container`) running the PHI container",
    SCOPE1,
    _add_unknown_typed("kubernetes:argoproj.io/v1alpha1:Workflow", "reindex", _argo_workflow),
)

# --- unknown values fail closed --------------------------------------------------------------------

op(
    "unknown-phi-claim-storage-class",
    "unknown-values",
    "the PHI claim's spec.storageClassName unknown at plan time",
    ("PHI-VOL-001|PHI-ENC-001|PHI-FLOW-001",),
    _unknown(t.phi_claim, "spec", "storageClassName"),
    stacks=STORAGE_STACKS,
)
op(
    "unknown-gateway-listener-protocol",
    "unknown-values",
    "the Gateway's first listener protocol unknown at plan time",
    "PHI-TLS-002",
    _unknown(t.gateway, "spec", "listeners", 0, "protocol"),
    stacks=GATEWAY_STACKS,
    unknown=True,
)


def _phi_pod_path(*path: str | int) -> Callable[[Plan], None]:
    def edit(plan: Plan) -> None:
        w = t.phi_workload(plan)
        _unknown(lambda _: w, *t.POD_SPEC_PATHS[w["type"]], *path)(plan)

    return edit


def _phi_container_path(*path: str | int) -> Callable[[Plan], None]:
    return _phi_pod_path("containers", 0, *path)


def _broker_env_index(plan: Plan) -> int:
    env = t.phi_container(plan).get("env", [])
    for i, entry in enumerate(env):
        if entry.get("name") == BROKER:
            return i
    raise NoTarget(f"no {BROKER}")


op(
    "unknown-runtime-class-name",
    "unknown-values",
    "the PHI pod's runtimeClassName unknown",
    "PHI-CC-001",
    _phi_pod_path("runtimeClassName"),
    unknown=True,
)
op(
    "unknown-image",
    "unknown-values",
    "the PHI container's image unknown",
    "PHI-CC-004",
    _phi_container_path("image"),
    unknown=True,
)
op(
    "unknown-broker-url",
    "unknown-values",
    f"the PHI container's {BROKER} value unknown",
    CC3,
    lambda p: _phi_container_path("env", _broker_env_index(p), "value")(p),
    unknown=True,
)
op(
    "unknown-env-list",
    "unknown-values",
    "the PHI container's whole env list unknown",
    CC3,
    _phi_container_path("env"),
    unknown=True,
)
op(
    "unknown-container-security-context",
    "unknown-values",
    "the PHI container's securityContext unknown",
    POD1,
    _phi_container_path("securityContext"),
    unknown=True,
)
op(
    "unknown-privileged",
    "unknown-values",
    "the PHI container's securityContext.privileged unknown",
    POD1,
    _phi_container_path("securityContext", "privileged"),
    unknown=True,
)
op(
    "unknown-pod-volumes",
    "unknown-values",
    "the PHI pod's volumes unknown",
    ("PHI-ENC-002|PHI-VOL-001",),
    _phi_pod_path("volumes"),
    unknown=True,
)
op(
    "unknown-node-selector",
    "unknown-values",
    "the PHI pod's nodeSelector unknown",
    "PHI-CC-002",
    lambda p: (t.phi_pod(p).setdefault("nodeSelector", {}), _phi_pod_path("nodeSelector")(p)),
    unknown=True,
)
op(
    "unknown-siem-host",
    "unknown-values",
    "AuditLogShipping siem_host unknown",
    LOG1,
    _unknown(lambda p: t.component(p, t.T_LOG_SHIPPING), "siem_host"),
    unknown=True,
)
op(
    "unknown-forwarder-config",
    "unknown-values",
    f"the forwarder ConfigMap's {t.FLUENT_BIT_KEY} unknown",
    LOG1,
    _unknown(t.forwarder_config_map, "data", t.FLUENT_BIT_KEY),
    unknown=True,
)
op(
    "unknown-forwarder-tolerations",
    "unknown-values",
    "the forwarder DaemonSet's tolerations unknown",
    LOG1,
    _unknown(t.forwarder_daemon_set, "spec", "template", "spec", "tolerations"),
    unknown=True,
)
op(
    "unknown-retention-annotation",
    "unknown-values",
    f"the forwarder ConfigMap's {RETENTION} annotation unknown",
    "PHI-LOG-003",
    _unknown(t.forwarder_config_map, "metadata", "annotations", RETENTION),
    unknown=True,
)
op(
    "unknown-psa-enforce",
    "unknown-values",
    f"the PHI namespace's {t.PSA_ENFORCE} label unknown",
    POD2,
    _unknown(lambda p: t.namespace_resource(p, t.phi_namespace(p)), "metadata", "labels", t.PSA_ENFORCE),
    unknown=True,
)
op(
    "unknown-network-policy-egress",
    "unknown-values",
    "an egress allow of the PHI namespace: its egress rules unknown",
    NET1,
    lambda p: _unknown(lambda _: _allow_policy(p), "spec", "egress")(p),
    unknown=True,
)
op(
    "unknown-default-deny-policy-types",
    "unknown-values",
    "the default-deny policy's policyTypes unknown",
    NET1,
    _unknown(t.default_deny, "spec", "policyTypes"),
    unknown=True,
)
op(
    "unknown-client-traffic-policy-min-version",
    "unknown-values",
    "the ClientTrafficPolicy's tls.minVersion unknown",
    "PHI-TLS-001",
    _unknown(t.client_traffic_policy, "spec", "tls", "minVersion"),
    stacks=GATEWAY_STACKS,
    unknown=True,
)
op(
    "unknown-baa-reference",
    "unknown-values",
    "the ProviderProfile's baa.reference unknown",
    "PHI-BAA-001",
    _unknown(lambda p: t.component(p, t.T_PROVIDER), "baa", "reference"),
    unknown=True,
)
op(
    "unknown-storage-class-encrypted",
    "unknown-values",
    "the PHI StorageClass's parameters.encrypted unknown",
    "PHI-ENC-001",
    _unknown(t.storage_class, "parameters", "encrypted"),
    stacks=STORAGE_STACKS,
    unknown=True,
)
op(
    "unknown-role-rules",
    "unknown-values",
    "the PHI namespace Role's rules unknown",
    "PHI-IAM-001",
    _unknown(t.phi_role, "rules"),
    unknown=True,
)
op(
    "unknown-idp-mfa",
    "unknown-values",
    "the cluster's identity_provider.mfa_required unknown",
    "PHI-IAM-003",
    _unknown(lambda p: t.component(p, t.T_CLUSTER), "identity_provider", "mfa_required"),
    unknown=True,
)
op(
    "unknown-genetic-purpose",
    "unknown-values",
    "the genetic AttestedWorkload's purpose unknown",
    "PHI-GEN-001",
    _unknown(lambda p: t.attested_workload(p, {"genetic"}), "purpose"),
    stacks=GENETIC_STACKS,
    unknown=True,
)
op(
    "unknown-samd-model-digest",
    "unknown-values",
    "the SaMD workload's model_provenance.model_digest unknown",
    "PHI-SAMD-001",
    _unknown(t.samd_workload, "model_provenance", "model_digest"),
    stacks=SAMD_STACKS,
    unknown=True,
)
op(
    "unknown-runtime-class-selector",
    "unknown-values",
    "the PHI RuntimeClass's scheduling.nodeSelector unknown",
    "PHI-CC-002",
    _unknown(t.runtime_class, "scheduling", "nodeSelector"),
    unknown=True,
)


def _allow_policy(plan: Plan) -> t.Resource:
    return t.one(
        [
            np
            for np in t.in_namespace(plan, t.T_NETWORK_POLICY, t.phi_namespace(plan))
            if np["inputs"]["spec"].get("egress")
        ],
        "egress allow NetworkPolicy in the PHI namespace",
    )


# --- existing controls (regressions) ----------------------------------------------------------------

EXISTING = "existing-controls"
op(
    "cc-runtime-class-runc",
    EXISTING,
    "the PHI pod's runtimeClassName runc",
    "PHI-CC-001",
    _set(t.phi_pod, "runtimeClassName", "runc"),
)
op(
    "cc-runtime-class-removed",
    EXISTING,
    "the PHI pod's runtimeClassName removed",
    "PHI-CC-001",
    _delete(t.phi_pod, "runtimeClassName"),
)
op(
    "cc-runtime-class-dev",
    EXISTING,
    "the PHI pod's runtimeClassName a CoCo development runtime",
    "PHI-CC-001",
    _set(t.phi_pod, "runtimeClassName", "kata-qemu-nvidia-gpu-coco-dev"),
)
op(
    "cc-runtime-class-handler-runc",
    EXISTING,
    "the PHI RuntimeClass's handler runc",
    "PHI-CC-001",
    _set(lambda p: t.runtime_class(p)["inputs"], "handler", "runc"),
)
op(
    "cc-node-selector-removed",
    EXISTING,
    "the cc nodeSelector removed from the PHI RuntimeClass's scheduling",
    "PHI-CC-002",
    _delete(lambda p: t.runtime_class(p)["inputs"]["scheduling"], "nodeSelector"),
)


def _cc_mode_off(plan: Plan) -> None:
    selector = t.runtime_class(plan)["inputs"]["scheduling"]["nodeSelector"]
    key = next((k for k in selector if k.endswith("cc.mode.state")), None)
    if key is None:
        raise NoTarget("no cc.mode.state selector")
    selector[key] = "off"


op(
    "cc-node-selector-mode-off",
    EXISTING,
    "the PHI RuntimeClass selects nodes with cc.mode.state=off",
    "PHI-CC-002",
    _cc_mode_off,
)


def _image_by_tag(plan: Plan) -> None:
    container = t.phi_container(plan)
    container["image"] = container["image"].split("@", 1)[0] + ":latest"


def _image_short_digest(plan: Plan) -> None:
    container = t.phi_container(plan)
    container["image"] = container["image"][:-40]


def _sidecar_by_tag(plan: Plan) -> None:
    t.phi_pod(plan)["containers"].append(
        t.restricted_container(plan, "metrics", "docker.io/prom/statsd-exporter:v0.26.0")
    )


op("cc-image-by-tag", EXISTING, "the PHI container's image by tag", "PHI-CC-004", _image_by_tag)
op("cc-image-short-digest", EXISTING, "the PHI container's image digest truncated", "PHI-CC-004", _image_short_digest)
op(
    "cc-sidecar-image-by-tag",
    EXISTING,
    "an added sidecar (restricted) whose image is by tag",
    "PHI-CC-004",
    _sidecar_by_tag,
)

TLS1 = "PHI-TLS-001"
TLS2 = "PHI-TLS-002"
op(
    "tls-ctp-min-version-1.2",
    EXISTING,
    "the ClientTrafficPolicy's tls.minVersion 1.2",
    TLS1,
    _set(lambda p: t.client_traffic_policy(p)["inputs"]["spec"]["tls"], "minVersion", "1.2"),
    stacks=GATEWAY_STACKS,
)
op(
    "tls-ctp-removed",
    EXISTING,
    "the Gateway's ClientTrafficPolicy removed",
    TLS1,
    lambda p: t.remove_resources(p, [t.client_traffic_policy(p)]),
    stacks=GATEWAY_STACKS,
)
op(
    "tls-ctp-retargeted",
    EXISTING,
    "the ClientTrafficPolicy retargeted to a Gateway that does not exist",
    TLS1,
    lambda p: t.client_traffic_policy(p)["inputs"]["spec"]["targetRefs"][0].update(name="legacy"),
    stacks=GATEWAY_STACKS,
)


def _second_weak_ctp(plan: Plan) -> None:
    ctp = t.client_traffic_policy(plan)
    inputs = copy.deepcopy(ctp["inputs"])
    inputs["metadata"]["name"] = "compat-tls"
    inputs["spec"]["tls"]["minVersion"] = "1.2"
    t.add_resource(plan, ctp["type"], "compat-tls-ctp", inputs)


op(
    "tls-second-ctp-1.2",
    EXISTING,
    "a second ClientTrafficPolicy on the same Gateway with minVersion 1.2",
    TLS1,
    _second_weak_ctp,
    stacks=GATEWAY_STACKS,
)


def _http_listener(plan: Plan) -> None:
    listeners = t.gateway(plan)["inputs"]["spec"]["listeners"]
    listeners.append(
        {
            "name": "http",
            "port": 80,
            "protocol": "HTTP",
            "hostname": listeners[0].get("hostname"),
            "allowedRoutes": {"namespaces": {"from": "Same"}},
        }
    )


op(
    "tls-http-listener-added",
    EXISTING,
    "an HTTP listener added to the Gateway",
    TLS2,
    _http_listener,
    stacks=GATEWAY_STACKS,
)
op(
    "tls-listener-protocol-http",
    EXISTING,
    "the Gateway's listener protocol HTTP",
    TLS2,
    _set(lambda p: t.gateway(p)["inputs"]["spec"]["listeners"][0], "protocol", "HTTP"),
    stacks=GATEWAY_STACKS,
)


def _service_load_balancer_http(plan: Plan) -> None:
    svc = t.exposed_service(plan)
    svc["inputs"]["spec"]["type"] = "LoadBalancer"
    svc["inputs"]["spec"]["ports"][0]["appProtocol"] = "http"


op(
    "tls-service-load-balancer-http",
    EXISTING,
    "the PHI Service exposed as a LoadBalancer with appProtocol http",
    "PHI-TLS-003",
    _service_load_balancer_http,
    stacks=GATEWAY_STACKS,
)

BAA1 = "PHI-BAA-001"


def _profile(plan: Plan) -> dict[str, Any]:
    return t.component(plan, t.T_PROVIDER)["inputs"]


op(
    "baa-reference-not-on-file",
    EXISTING,
    "the ProviderProfile's baa.reference changed to one not on file",
    BAA1,
    _set(lambda p: _profile(p)["baa"], "reference", "BAA-HELIX-2026-99"),
)
op(
    "baa-reference-lapsed",
    EXISTING,
    "the ProviderProfile's baa.reference changed to the lapsed agreement",
    "PHI-BAA-002",
    _set(lambda p: _profile(p)["baa"], "reference", "BAA-HELIX-2023-07"),
)
op(
    "baa-plan-not-covered",
    EXISTING,
    "the ProviderProfile's plan changed to one the BAA does not cover",
    BAA1,
    _set(_profile, "plan", "community-cloud"),
)
op(
    "baa-provider-changed",
    EXISTING,
    "the ProviderProfile's provider changed to one without a BAA",
    BAA1,
    _set(_profile, "provider", "cheap-gpu-cloud"),
)
op("baa-removed", EXISTING, "the ProviderProfile's baa removed", BAA1, _delete(_profile, "baa"))

ENC1 = "PHI-ENC-001"


def _sc(plan: Plan) -> dict[str, Any]:
    return t.storage_class(plan)["inputs"]


op(
    "enc-provisioner-local-path",
    EXISTING,
    "the PHI StorageClass's provisioner rancher.io/local-path",
    ENC1,
    _set(_sc, "provisioner", "rancher.io/local-path"),
    stacks=STORAGE_STACKS,
)
op(
    "enc-encrypted-false",
    EXISTING,
    "the PHI StorageClass's parameters.encrypted 'false'",
    ENC1,
    _set(lambda p: _sc(p)["parameters"], "encrypted", "false"),
    stacks=STORAGE_STACKS,
)


def _drop_kms_key(plan: Plan) -> None:
    params = _sc(plan)["parameters"]
    key = next((k for k in params if "kms" in k.lower() or "key" in k.lower()), None)
    if key is None:
        raise NoTarget("no key parameter")
    del params[key]


op(
    "enc-kms-key-removed",
    EXISTING,
    "the PHI StorageClass's customer-managed key parameter removed",
    ENC1,
    _drop_kms_key,
    stacks=STORAGE_STACKS,
)


def _wildcard_rule(plan: Plan) -> None:
    t.phi_role(plan)["inputs"]["rules"].append({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]})


def _secrets_any_verb(plan: Plan) -> None:
    t.phi_role(plan)["inputs"]["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]})


op("iam-wildcard-role-rule", EXISTING, "a wildcard rule added to the PHI namespace Role", "PHI-IAM-001", _wildcard_rule)
op(
    "iam-wildcard-verbs-on-secrets",
    EXISTING,
    "verbs * on secrets added to the PHI namespace Role",
    "PHI-IAM-001",
    _secrets_any_verb,
)
op(
    "iam-idp-mfa-off",
    EXISTING,
    "the cluster's identity_provider.mfa_required false",
    "PHI-IAM-003",
    _set(lambda p: t.component(p, t.T_CLUSTER)["inputs"]["identity_provider"], "mfa_required", False),
)


def _declassify(plan: Plan) -> None:
    w = t.phi_workload(plan)
    for labels in (w["inputs"]["metadata"]["labels"], t.template_metadata(w)["labels"]):
        labels[t.CLASS_LABEL] = "deidentified"


op(
    "classification-label-deidentified",
    EXISTING,
    "the PHI pod workload's classification labels 'deidentified' (its AttestedWorkload still says phi)",
    ANY_RULE,
    _declassify,
)


def _shipping(plan: Plan) -> dict[str, Any]:
    return t.component(plan, t.T_LOG_SHIPPING)["inputs"]


def _drop_source(plan: Plan) -> None:
    sources = _shipping(plan)["sources"]
    if "kubernetes-audit" not in sources:
        raise NoTarget("no kubernetes-audit source")
    sources.remove("kubernetes-audit")


op(
    "log-component-protocol-plain",
    EXISTING,
    "AuditLogShipping protocol syslog-tcp",
    LOG1,
    _set(_shipping, "protocol", "syslog-tcp"),
)
op(
    "log-component-verify-off",
    EXISTING,
    "AuditLogShipping verify_certificate false",
    LOG1,
    _set(_shipping, "verify_certificate", False),
)
op(
    "log-component-tls-1.2",
    EXISTING,
    "AuditLogShipping min_tls_version 1.2",
    LOG1,
    _set(_shipping, "min_tls_version", "1.2"),
)
op(
    "log-component-audit-source-dropped",
    EXISTING,
    "AuditLogShipping sources without kubernetes-audit",
    LOG1,
    _drop_source,
)
op(
    "log-component-removed",
    EXISTING,
    "the AuditLogShipping component removed with everything it creates",
    LOG1,
    lambda p: t.remove_resources(p, [t.component(p, t.T_LOG_SHIPPING)]),
)
op(
    "log-component-buffer-memory",
    EXISTING,
    "AuditLogShipping buffer memory",
    "PHI-LOG-002",
    _set(_shipping, "buffer", "memory"),
)
op(
    "log-component-retention-short",
    EXISTING,
    "AuditLogShipping retention_days 365",
    "PHI-LOG-003",
    _set(_shipping, "retention_days", 365),
)
op(
    "enc-empty-dir-disk",
    EXISTING,
    "a disk-backed emptyDir in the PHI pod",
    "PHI-ENC-002",
    lambda p: t.mount(p, {"name": "tmp", "emptyDir": {}}, "/tmp"),
)
op(
    "gen-purpose-empty",
    EXISTING,
    "the genetic workload's purpose emptied",
    "PHI-GEN-001",
    _set(lambda p: t.attested_workload(p, {"genetic"})["inputs"], "purpose", ""),
    stacks=GENETIC_STACKS,
)
op(
    "gen-authorized-groups-wildcard",
    EXISTING,
    "the genetic workload's authorized_groups ['*']",
    "PHI-GEN-002",
    _set(lambda p: t.attested_workload(p, {"genetic"})["inputs"], "authorized_groups", ["*"]),
    stacks=GENETIC_STACKS,
)


def _outsider_binding(plan: Plan) -> None:
    namespace = t.attested_workload(plan, {"genetic"})["inputs"]["namespace"]
    role = t.one(t.in_namespace(plan, t.T_ROLE, namespace), "Role in the genetic namespace")
    t.add_binding(plan, "RoleBinding", "all-staff-viewer", "Role", t.name_of(role), [t.group("all-staff")], namespace)


op(
    "gen-rolebinding-outsider",
    EXISTING,
    "a RoleBinding of a Role of the genetic namespace to a group outside authorized_groups",
    "PHI-GEN-002",
    _outsider_binding,
    stacks=GENETIC_STACKS,
)
op(
    "samd-model-digest-not-a-digest",
    EXISTING,
    "the SaMD workload's model_digest 'latest'",
    "PHI-SAMD-001",
    _set(lambda p: t.samd_workload(p)["inputs"]["model_provenance"], "model_digest", "latest"),
    stacks=SAMD_STACKS,
)


# --- de-identification: the word "deidentified" without the proof -----------------------------------

DEID = "deidentification"
DATASET = "relabelled-export"


def _relabel(dataset: str | None) -> Callable[[Plan], None]:
    """The PHI workload, its component and its namespace all say deidentified; the workload names
    ``dataset`` (or none): what relabelling a PHI dataset looked like before manifests were checked."""

    def edit(plan: Plan) -> None:
        pod, pod_spec = t.phi_workload(plan), t.phi_pod(plan)
        namespace = t.namespace_of(pod)
        for labels in (pod["inputs"]["metadata"].setdefault("labels", {}), t.template_metadata(pod)["labels"]):
            labels[t.CLASS_LABEL] = "deidentified"
            if dataset is not None:
                labels["phistack.io/dataset"] = dataset
        for env in pod_spec["containers"][0].get("env", []):
            if env.get("name") == "PHISTACK_DATA_CLASSIFICATION":
                env["value"] = "deidentified"
        component = t.one([r for r in plan["resources"] if r["urn"] == pod["parent"]], "the pod's AttestedWorkload")
        component["inputs"]["data_classification"] = "deidentified"
        component["inputs"]["dataset"] = dataset
        t.namespace_resource(plan, namespace)["inputs"]["metadata"]["labels"][t.CLASS_LABEL] = "deidentified"
        for entry in t.component(plan, t.T_CLUSTER)["inputs"]["namespaces"]:
            if entry["name"] == namespace:
                entry["data_classification"] = "deidentified"

    return edit


def _forged_in_plan(plan: Plan) -> None:
    """Relabelled, and the plan itself claims the manifest verified: the gate reads input.deid only."""
    _relabel(DATASET)(plan)
    claim = {DATASET: {"valid": True, "reason": "", "method": "safe-harbor"}}
    plan["spec"] = {**(plan.get("spec") or {}), "deid": claim}
    t.component(plan, t.T_STACK)["inputs"]["deid"] = claim


def _invalid(reason: str) -> dict[str, Any]:
    return {DATASET: {"valid": False, "reason": reason, "method": "", "signer": "", "dataset_digest": ""}}


op(
    "deid-relabel-no-dataset",
    DEID,
    "the PHI workload and namespace relabelled deidentified, no dataset named",
    "PHI-DEID-001",
    _relabel(None),
)
op(
    "deid-relabel-no-manifest",
    DEID,
    "relabelled deidentified, naming a dataset with no manifest result",
    "PHI-DEID-001",
    _relabel(DATASET),
)
op(
    "deid-relabel-forged-in-plan",
    DEID,
    "relabelled, and the plan claims the manifest verified",
    "PHI-DEID-001",
    _forged_in_plan,
)


def _relabel_storage(plan: Plan) -> None:
    """The EncryptedStorage that holds the PHI volumes says deidentified, naming no dataset."""
    storage = t.component(plan, "phistack:storage:EncryptedStorage")
    storage["inputs"]["data_classification"] = "deidentified"
    storage["inputs"].pop("dataset", None)


op(
    "deid-storage-relabel-no-dataset",
    DEID,
    "the EncryptedStorage holding the PHI volumes relabelled deidentified, no dataset named",
    "PHI-DEID-001",
    _relabel_storage,
    stacks=STORAGE_STACKS,
)
op(
    "deid-relabel-unsigned",
    DEID,
    "relabelled; the dataset's manifest is unsigned",
    "PHI-DEID-001",
    _relabel(DATASET),
    deid=_invalid("manifest is not signed (no Ed25519 signature)"),
)
op(
    "deid-relabel-tampered",
    DEID,
    "relabelled; one byte of the manifest's payload changed after signing",
    "PHI-DEID-001",
    _relabel(DATASET),
    deid=_invalid("manifest signature does not match: the manifest was altered or forged"),
)
op(
    "deid-relabel-wrong-signer",
    DEID,
    "relabelled; the manifest is signed by a key the policy set does not trust",
    "PHI-DEID-001",
    _relabel(DATASET),
    deid=_invalid("manifest signed by sha256:" + "ab" * 32 + ", which is not a trusted de-identification signer"),
)
op(
    "deid-relabel-valid-is-a-string",
    DEID,
    'relabelled; the manifest result says valid "true", not true',
    "PHI-DEID-001",
    _relabel(DATASET),
    deid={DATASET: {"valid": "true", "reason": ""}},
)


# --- cloud backends: the resources the gke and aks backends create (PHI-GPU-001, PHI-CLOUD-001..004) --

T_GKE_POOL = "gcp:container/nodePool:NodePool"
T_GKE_CLUSTER = "gcp:container/cluster:Cluster"
T_CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
T_SINK = "gcp:logging/projectSink:ProjectSink"
T_AKS_POOL = "azure-native:containerservice:AgentPool"
T_AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"
T_DIAGNOSTIC = "azure-native:monitor:DiagnosticSetting"
T_VAULT_KEY = "azure-native:keyvault:Key"


def _gke_gpu_pool(plan: Plan) -> t.Resource:
    pools = [p for p in t.of_type(plan, T_GKE_POOL) if p["inputs"].get("nodeConfig", {}).get("guestAccelerators")]
    return t.one(pools, "GKE GPU node pool")


def _gke_gpu_config(plan: Plan) -> dict[str, Any]:
    return _gke_gpu_pool(plan)["inputs"]["nodeConfig"]


def _gke_cluster(plan: Plan) -> dict[str, Any]:
    return t.one(t.of_type(plan, T_GKE_CLUSTER), "GKE cluster")["inputs"]


def _gke_private(plan: Plan) -> dict[str, Any]:
    return _gke_cluster(plan)["privateClusterConfig"]


def _gke_client_cert(plan: Plan) -> dict[str, Any]:
    return _gke_cluster(plan)["masterAuth"]["clientCertificateConfig"]


def _gke_disk_key(plan: Plan) -> dict[str, Any]:
    keys = [k for k in t.of_type(plan, T_CRYPTO_KEY) if str(k["inputs"].get("name", "")).endswith("-disks")]
    return t.one(keys, "disk CryptoKey")["inputs"]


def _gke_sink(plan: Plan) -> dict[str, Any]:
    return t.one(t.of_type(plan, T_SINK), "audit log sink")["inputs"]


def _aks_pool(plan: Plan) -> dict[str, Any]:
    return t.one(t.of_type(plan, T_AKS_POOL), "AKS agent pool")["inputs"]


def _aks_cluster(plan: Plan) -> dict[str, Any]:
    return t.one(t.of_type(plan, T_AKS_CLUSTER), "AKS cluster")["inputs"]


def _aks_access(plan: Plan) -> dict[str, Any]:
    return _aks_cluster(plan)["apiServerAccessProfile"]


def _aks_key_trigger(plan: Plan) -> dict[str, Any]:
    key = t.one(t.of_type(plan, T_VAULT_KEY), "Key Vault key")["inputs"]
    return key["properties"]["rotationPolicy"]["lifetimeActions"][0]["trigger"]


def _aks_audit_log(plan: Plan) -> dict[str, Any]:
    setting = t.one(t.of_type(plan, T_DIAGNOSTIC), "diagnostic setting")["inputs"]
    logs = [entry for entry in setting["logs"] if entry.get("category") == "kube-audit"]
    if not logs:
        raise NoTarget("no kube-audit log in the diagnostic setting")
    return logs[0]


def _gke_untaint_and_unlabel(plan: Plan) -> None:
    """A second, ordinary A2 pool that also carries the confidential label and taint (a copy-paste slip)."""
    pool = _gke_gpu_pool(plan)
    clone = copy.deepcopy(pool["inputs"])
    clone["name"] = "a100-extra"
    clone["nodeConfig"]["machineType"] = "a2-highgpu-1g"
    clone["nodeConfig"].pop("confidentialNodes", None)
    t.add_resource(plan, T_GKE_POOL, "a100-extra", clone)


op(
    "cloud-gke-confidential-off",
    "cloud",
    "the GKE GPU pool's confidentialNodes disabled",
    GPU1,
    _set(lambda p: _gke_gpu_config(p)["confidentialNodes"], "enabled", False),
    stacks=GKE_STACKS,
)
op(
    "cloud-gke-machine-a2",
    "cloud",
    "the GKE GPU pool on a2-highgpu-1g (A100, no CC)",
    GPU1,
    _set(_gke_gpu_config, "machineType", "a2-highgpu-1g"),
    stacks=GKE_STACKS,
)
op(
    "cloud-gke-extra-a100-pool-labelled",
    "cloud",
    "a second A100 pool wearing the confidential label and taint",
    GPU1,
    _gke_untaint_and_unlabel,
    stacks=GKE_STACKS,
)
op(
    "cloud-gke-machine-unknown",
    "unknown-values",
    "the GKE GPU pool's machine type unknown at plan time",
    GPU1,
    _unknown(_gke_gpu_pool, "nodeConfig", "machineType"),
    stacks=GKE_STACKS,
    unknown=True,
)
op(
    "cloud-gke-boot-disk-google-key",
    "cloud",
    "the GKE GPU pool's boot disk under a Google-managed key",
    "PHI-CLOUD-001",
    _delete(_gke_gpu_config, "bootDiskKmsKey"),
    stacks=GKE_STACKS,
)
op(
    "cloud-gke-key-rotation-yearly",
    "cloud",
    "the disk CryptoKey rotated yearly",
    "PHI-CLOUD-001",
    _set(_gke_disk_key, "rotationPeriod", "31536000s"),
    stacks=GKE_STACKS,
)
op(
    "cloud-gke-public-endpoint",
    "cloud",
    "the GKE control plane on a public endpoint",
    "PHI-CLOUD-002",
    _set(_gke_private, "enablePrivateEndpoint", False),
    stacks=GKE_STACKS,
)
op(
    "cloud-gke-client-certificate",
    "cloud",
    "GKE issues a client certificate (a local credential)",
    "PHI-CLOUD-003",
    _set(_gke_client_cert, "issueClientCertificate", True),
    stacks=GKE_STACKS,
)
op(
    "cloud-gke-sink-other-cluster",
    "cloud",
    "the audit sink filters another cluster's logs",
    "PHI-CLOUD-004",
    _set(_gke_sink, "filter", 'resource.type="k8s_cluster" AND resource.labels.cluster_name="sandbox"'),
    stacks=GKE_STACKS,
)
op(
    "cloud-aks-ordinary-vm-size",
    "cloud",
    "the AKS GPU pool on Standard_NC40ads_H100_v5 (no confidential VM)",
    GPU1,
    _set(_aks_pool, "vmSize", "Standard_NC40ads_H100_v5"),
    stacks=AKS_STACKS,
)
op(
    "cloud-aks-no-host-encryption",
    "cloud",
    "the AKS GPU pool without encryption at host",
    "PHI-CLOUD-001",
    _set(_aks_pool, "enableEncryptionAtHost", False),
    stacks=AKS_STACKS,
)
op(
    "cloud-aks-key-rotation-yearly",
    "cloud",
    "the Key Vault key rotated yearly",
    "PHI-CLOUD-001",
    _set(_aks_key_trigger, "timeAfterCreate", "P1Y"),
    stacks=AKS_STACKS,
)
op(
    "cloud-aks-public-api-server",
    "cloud",
    "the AKS API server public",
    "PHI-CLOUD-002",
    _set(_aks_access, "enablePrivateCluster", False),
    stacks=AKS_STACKS,
)
op(
    "cloud-aks-local-accounts",
    "cloud",
    "AKS local accounts enabled",
    "PHI-CLOUD-003",
    _set(_aks_cluster, "disableLocalAccounts", False),
    stacks=AKS_STACKS,
)
op(
    "cloud-aks-audit-off",
    "cloud",
    "kube-audit disabled in the diagnostic setting",
    "PHI-CLOUD-004",
    _set(_aks_audit_log, "enabled", False),
    stacks=AKS_STACKS,
)
op(
    "cloud-aks-vm-size-unknown",
    "unknown-values",
    "the AKS GPU pool's VM size unknown at plan time",
    GPU1,
    _unknown(lambda p: t.one(t.of_type(p, T_AKS_POOL), "AKS agent pool"), "vmSize"),
    stacks=AKS_STACKS,
    unknown=True,
)
op(
    "cloud-gke-region-unlisted",
    "cloud",
    "the GKE cluster moved to a region the BAA does not list",
    "PHI-BAA-003",
    _set(_gke_cluster, "location", "asia-east1"),
    stacks=GKE_STACKS,
)
op(
    "cloud-aks-region-unlisted",
    "cloud",
    "the AKS cluster moved to a region the BAA does not list",
    "PHI-BAA-003",
    _set(_aks_cluster, "location", "southeastasia"),
    stacks=AKS_STACKS,
)


def _aks_declared_idp(plan: Plan) -> dict[str, Any]:
    """The identity provider the cluster component declares, in a plan with an AKS cluster."""
    _aks_cluster(plan)
    return t.component(plan, "phistack:cluster:ConfidentialGpuCluster")["inputs"]["identity_provider"]


op(
    "cloud-aks-idp-not-the-tenant",
    "cloud",
    "the cluster declares an MFA identity provider the AKS cluster does not trust",
    "PHI-CLOUD-003",
    _set(_aks_declared_idp, "issuer", "https://login.example-hospital.org"),
    stacks=AKS_STACKS,
)
