"""AuditLogShipping: a Fluent Bit DaemonSet shipping logs to the customer's SIEM over TLS 1.3."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s
import yaml

from modules._common import DNS_PORTS, KUBE_DNS_PEER, check_choice, child, kube, labels, to_props

TYPE = "phistack:logging:AuditLogShipping"

#: HIPAA keeps required documentation six years (45 CFR 164.316(b)(2)); 6 × 365 + 2 leap days.
SIX_YEARS_DAYS = 2192

SOURCES: tuple[str, ...] = ("container", "kubernetes-audit", "phistack-audit", "node-journal")
_BUFFER_DIR = "/var/lib/phistack-log-buffer"

#: What the forwarder keeps that a hardened pod would not have, and why; each one is an annotation
#: ``phistack.io/security-exception.<field>`` on the DaemonSet's pod template (docs/MODULES.md).
SECURITY_EXCEPTIONS: dict[str, str] = {
    "runAsUser": (
        "0: the node's log files (/var/log/pods, the Kubernetes audit log, the journal) are root-owned and "
        "not group- or world-readable; every capability is dropped, so root reads them only as their owner"
    ),
    "automountServiceAccountToken": (
        "true: the kubernetes filter reads pod labels from the API server (get/list/watch pods and "
        "namespaces only) to tag the phistack runtime's audit records"
    ),
    "hostPath": (
        "/var/log and /run/log/journal are mounted read-only to read the node's logs; "
        f"{_BUFFER_DIR} is the one writable hostPath, the disk buffer that keeps queued records across restarts"
    ),
}


@dataclass(kw_only=True)
class AuditLogShippingArgs:
    """Settings of :class:`AuditLogShipping`; every field appears in the plan as a prop."""

    siem_host: pulumi.Input[str]
    """The customer's SIEM host name (its certificate must match)."""
    image: pulumi.Input[str]
    """Fluent Bit 4.x image (``tls.min_version`` needs 4.x), pinned by digest."""
    namespace: str = "phistack-logging"
    """Namespace of the forwarder."""
    siem_port: int = 6514
    """SIEM port (6514 is syslog over TLS)."""
    siem_cidr: pulumi.Input[str] | None = None
    """CIDR of the SIEM for the egress NetworkPolicy; ``None`` allows any address on ``siem_port``."""
    protocol: Literal["syslog-tls", "https"] = "syslog-tls"
    """``syslog-tls`` (RFC 5424 over TLS, RFC 5425) or ``https``."""
    min_tls_version: Literal["1.3", "1.2"] = "1.3"
    """Lowest TLS version the forwarder speaks; ``1.2`` is a weakening."""
    verify_certificate: bool = True
    """Verify the SIEM's certificate and host name; ``False`` is a weakening."""
    siem_ca_configmap: str = "siem-ca"
    """ConfigMap (key ``ca.crt``) with the CA bundle that signed the SIEM's certificate."""
    sources: list[str] = field(default_factory=lambda: list(SOURCES))
    """What is shipped: ``container``, ``kubernetes-audit``, ``phistack-audit``, ``node-journal``."""
    buffer: Literal["disk", "memory"] = "disk"
    """Where records wait while the SIEM is unreachable; ``memory`` loses them on restart."""
    buffer_max_size: str = "10G"
    """Largest disk buffer."""
    retention_days: int = SIX_YEARS_DAYS
    """Retention the SIEM is declared to keep the logs for."""


def fluent_bit_config(args: AuditLogShippingArgs, siem_host: str) -> str:
    """The Fluent Bit YAML configuration for ``args`` (a plain string, so it is known at plan time)."""
    storage = "filesystem" if args.buffer == "disk" else "memory"
    inputs: list[dict[str, object]] = []
    # The runtime writes its audit records to stdout, so phistack-audit needs the container input too.
    if "container" in args.sources or "phistack-audit" in args.sources:
        inputs.append(
            {
                "name": "tail",
                "tag": "kube.*",
                "path": "/var/log/containers/*.log",
                "multiline.parser": "cri",
                "db": f"{_BUFFER_DIR}/containers.db",
                "storage.type": storage,
            }
        )
    if "kubernetes-audit" in args.sources:
        inputs.append(
            {
                "name": "tail",
                "tag": "audit.kubernetes",
                "path": "/var/log/kubernetes/audit/*.log",
                "db": f"{_BUFFER_DIR}/audit.db",
                "storage.type": storage,
            }
        )
    if "node-journal" in args.sources:
        inputs.append(
            {
                "name": "systemd",
                "tag": "node.journal",
                "systemd_filter": ["_SYSTEMD_UNIT=kubelet.service", "_SYSTEMD_UNIT=containerd.service"],
                "db": f"{_BUFFER_DIR}/journal.db",
                "storage.type": storage,
            }
        )
    tls_settings: dict[str, object] = {
        "tls": "on",
        "tls.verify": "on" if args.verify_certificate else "off",
        "tls.verify_hostname": "on" if args.verify_certificate else "off",
        "tls.min_version": f"TLSv{args.min_tls_version}",
        "tls.ca_file": "/etc/siem-ca/ca.crt",
    }
    output: dict[str, object] = {
        "match": "*",
        "host": siem_host,
        "port": args.siem_port,
        "retry_limit": "no_limits",
        "storage.total_limit_size": args.buffer_max_size,
    }
    if args.protocol == "syslog-tls":
        output |= {
            "name": "syslog",
            "mode": "tls",
            "syslog_format": "rfc5424",
            "syslog_message_key": "log",
            "syslog_appname_preset": "phistack",
        }
    else:
        output |= {"name": "http", "uri": "/", "format": "json_lines"}
    output |= tls_settings
    filters: list[dict[str, object]] = [{"name": "kubernetes", "match": "kube.*", "merge_log": "on", "labels": "on"}]
    if "phistack-audit" in args.sources:
        # Records of phistack runtime pods (they carry the classification label) get their own tag,
        # so the SIEM can route and retain them as audit records; the copy under kube.* is kept
        # only when container logs are shipped as well.
        keep = "true" if "container" in args.sources else "false"
        filters.append(
            {
                "name": "rewrite_tag",
                "match": "kube.*",
                "rule": f"$kubernetes['labels']['phistack.io/data-classification'] ^.+$ audit.phistack {keep}",
                # The re-tagged records are emitted through the filter's own input: buffer it like the others.
                "emitter_storage.type": storage,
            }
        )
    config = {
        "service": {
            "flush": 1,
            "log_level": "info",
            "storage.path": f"{_BUFFER_DIR}/chunks",
            "storage.sync": "full",
            "storage.checksum": "on",
        },
        "pipeline": {
            "inputs": inputs,
            "filters": filters,
            "outputs": [output],
        },
    }
    return yaml.safe_dump(config, sort_keys=True)


def _read_only_host_mount(name: str, path: str) -> dict[str, object]:
    """A hostPath mount the forwarder cannot write, mounts below it included where the runtime can."""
    return {"name": name, "mountPath": path, "readOnly": True, "recursiveReadOnly": "IfPossible"}


class AuditLogShipping(pulumi.ComponentResource):
    """Namespace, RBAC, configuration, DaemonSet and NetworkPolicies of the log forwarder."""

    def __init__(self, name: str, args: AuditLogShippingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check_choice("protocol", args.protocol, ("syslog-tls", "https"))
        check_choice("min_tls_version", args.min_tls_version, ("1.3", "1.2"))
        check_choice("buffer", args.buffer, ("disk", "memory"))
        for source in args.sources:
            check_choice("sources[]", source, SOURCES)
        super().__init__(TYPE, name, to_props(args), opts)
        base = labels(name)
        ns = args.namespace
        app = {"app.kubernetes.io/name": "log-forwarder"}

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": ns,
                "labels": {
                    **base,
                    "pod-security.kubernetes.io/enforce": "privileged",
                    "pod-security.kubernetes.io/audit": "restricted",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
                "annotations": {
                    "phistack.io/pod-security-exception": (
                        "log forwarder reads node log files through read-only hostPath mounts"
                    )
                },
            },
            opts=child(self),
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        # No token by default; the forwarder's pod asks for one explicitly (SECURITY_EXCEPTIONS).
        k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata={"name": "log-forwarder", "namespace": ns, "labels": base},
            automount_service_account_token=False,
            opts=in_ns,
        )
        k8s.rbac.v1.ClusterRole(
            f"{name}-cluster-role",
            **kube(
                metadata={"name": "phistack-log-forwarder", "labels": base},
                rules=[{"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}],
            ),
            opts=child(self),
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-cluster-role-binding",
            **kube(
                metadata={"name": "phistack-log-forwarder", "labels": base},
                role_ref={
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "phistack-log-forwarder",
                },
                subjects=[{"kind": "ServiceAccount", "name": "log-forwarder", "namespace": ns}],
            ),
            opts=child(self),
        )
        config_text = pulumi.Output.from_input(args.siem_host).apply(lambda host: fluent_bit_config(args, host))
        k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata={
                "name": "log-forwarder-config",
                "namespace": ns,
                "labels": base,
                "annotations": {
                    "phistack.io/siem-protocol": args.protocol,
                    "phistack.io/min-tls-version": args.min_tls_version,
                    "phistack.io/retention-days": str(args.retention_days),
                },
            },
            data={"fluent-bit.yaml": config_text},
            opts=in_ns,
        )
        k8s.apps.v1.DaemonSet(
            f"{name}-daemonset",
            **kube(
                metadata={"name": "log-forwarder", "namespace": ns, "labels": {**base, **app}},
                spec={
                    "selector": {"matchLabels": app},
                    "updateStrategy": {"type": "RollingUpdate"},
                    "template": {
                        "metadata": {
                            "labels": {**base, **app},
                            "annotations": {
                                f"phistack.io/security-exception.{field}": why
                                for field, why in SECURITY_EXCEPTIONS.items()
                            },
                        },
                        "spec": {
                            "serviceAccountName": "log-forwarder",
                            "automountServiceAccountToken": True,
                            "enableServiceLinks": False,
                            # Every node ships its logs, GPU nodes with taints included.
                            "tolerations": [{"operator": "Exists"}],
                            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                            "containers": [
                                {
                                    "name": "fluent-bit",
                                    "image": args.image,
                                    "args": ["--config=/fluent-bit/etc/fluent-bit.yaml"],
                                    "resources": {
                                        "requests": {"cpu": "100m", "memory": "128Mi"},
                                        "limits": {"cpu": "500m", "memory": "512Mi"},
                                    },
                                    # Root only to read root-owned node log files; no capabilities at all.
                                    "securityContext": {
                                        "runAsUser": 0,
                                        "runAsGroup": 0,
                                        "readOnlyRootFilesystem": True,
                                        "allowPrivilegeEscalation": False,
                                        "privileged": False,
                                        "capabilities": {"drop": ["ALL"]},
                                        "seccompProfile": {"type": "RuntimeDefault"},
                                    },
                                    "volumeMounts": [
                                        {"name": "config", "mountPath": "/fluent-bit/etc", "readOnly": True},
                                        {"name": "siem-ca", "mountPath": "/etc/siem-ca", "readOnly": True},
                                        _read_only_host_mount("varlog", "/var/log"),
                                        _read_only_host_mount("journal", "/run/log/journal"),
                                        {"name": "buffer", "mountPath": _BUFFER_DIR},
                                    ],
                                }
                            ],
                            "volumes": [
                                {"name": "config", "configMap": {"name": "log-forwarder-config"}},
                                {"name": "siem-ca", "configMap": {"name": args.siem_ca_configmap}},
                                {"name": "varlog", "hostPath": {"path": "/var/log", "type": "Directory"}},
                                {
                                    "name": "journal",
                                    "hostPath": {"path": "/run/log/journal", "type": "DirectoryOrCreate"},
                                },
                                {"name": "buffer", "hostPath": {"path": _BUFFER_DIR, "type": "DirectoryOrCreate"}},
                            ],
                        },
                    },
                },
            ),
            opts=in_ns,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            **kube(
                metadata={"name": "default-deny", "namespace": ns, "labels": base},
                spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            ),
            opts=in_ns,
        )
        siem_peer: dict[str, object] = (
            {"ipBlock": {"cidr": args.siem_cidr}} if args.siem_cidr is not None else {"ipBlock": {"cidr": "0.0.0.0/0"}}
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-siem-egress",
            **kube(
                metadata={"name": "allow-siem-egress", "namespace": ns, "labels": base},
                spec={
                    "podSelector": {"matchLabels": app},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {"to": [siem_peer], "ports": [{"port": args.siem_port, "protocol": "TCP"}]},
                        {"to": [KUBE_DNS_PEER], "ports": DNS_PORTS},
                        # The Kubernetes API (pod metadata for the kubernetes filter).
                        {"ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]},
                    ],
                },
            ),
            opts=in_ns,
        )
        self.register_outputs({"namespace": ns})
