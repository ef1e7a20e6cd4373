"""AttestedWorkload: the phistack runtime container as a hardened Deployment or Job."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from modules._common import (
    CC_RUNTIME_CLASSES,
    DATA_CLASSIFICATIONS,
    LABEL_CLASSIFICATION,
    LABEL_DATASET,
    DataClassification,
    check_choice,
    child,
    kube,
    labels,
    to_props,
)

TYPE = "phistack:workload:AttestedWorkload"


@dataclass(kw_only=True)
class SecuritySettings:
    """Pod and container security context; the defaults are the hardened ones."""

    run_as_non_root: bool = True
    """Refuse to start as root."""
    run_as_user: int = 65532
    """UID of the process."""
    read_only_root_filesystem: bool = True
    """Read-only root filesystem."""
    allow_privilege_escalation: bool = False
    """Allow setuid binaries to gain privileges."""
    privileged: bool = False
    """Privileged container."""
    capabilities_drop: list[str] = field(default_factory=lambda: ["ALL"])
    """Linux capabilities dropped."""
    capabilities_add: list[str] = field(default_factory=list)
    """Linux capabilities added back."""
    seccomp_profile: Literal["RuntimeDefault", "Unconfined"] = "RuntimeDefault"
    """Seccomp profile type."""
    automount_service_account_token: bool = False
    """Mount a Kubernetes API token into the pod (the runtime does not need one)."""


@dataclass(kw_only=True)
class Probes:
    """Liveness and readiness probes."""

    scheme: Literal["HTTPS", "HTTP"] = "HTTPS"
    """Probe scheme; the runtime serves its health endpoints over TLS."""
    port: int = 8443
    """Probe port."""
    liveness_path: str = "/healthz"
    """Liveness path."""
    readiness_path: str = "/readyz"
    """Readiness path."""


@dataclass(kw_only=True)
class KeyBroker:
    """Where the runtime proves what it runs on and gets its data key."""

    url: pulumi.Input[str]
    """Key broker URL (https)."""
    key_id: pulumi.Input[str]
    """The data key to request."""
    attestation_policy: pulumi.Input[str]
    """The attestation policy the broker appraises the evidence with (name or digest)."""


@dataclass(kw_only=True)
class ModelProvenance:
    """Provenance of a software-as-a-medical-device model."""

    model_digest: pulumi.Input[str]
    """``sha256:`` digest of the model weights."""
    training_data_manifest_digest: pulumi.Input[str]
    """``sha256:`` digest of the training-data manifest."""
    evaluation_report: pulumi.Input[str]
    """Reference to the evaluation report (document id or URL)."""


@dataclass(kw_only=True)
class WorkloadVolume:
    """A volume mounted into the runtime container."""

    name: str
    """Volume name."""
    mount_path: str
    """Where it is mounted."""
    source: Literal["pvc", "emptyDir", "hostPath"] = "pvc"
    """``pvc`` (encrypted storage); ``emptyDir`` and ``hostPath`` are weakenings for PHI."""
    claim_name: str | None = None
    """PVC name for ``pvc``."""
    host_path: str | None = None
    """Node path for ``hostPath``."""
    read_only: bool = False
    """Mount read-only."""


@dataclass(kw_only=True)
class AttestedWorkloadArgs:
    """Settings of :class:`AttestedWorkload`; every field appears in the plan as a prop."""

    namespace: str
    """Namespace to run in."""
    image: pulumi.Input[str]
    """Runtime image, ``name@sha256:<digest>``."""
    data_classification: DataClassification
    """``phi``, ``deidentified``, ``genetic`` or ``none``."""
    dataset: str | None = None
    """The de-identified dataset it processes (pod label ``phistack.io/dataset``); the gate holds a
    ``deidentified`` workload to PHI rules unless this dataset's signed manifest verifies."""
    kind: Literal["Deployment", "Job"] = "Deployment"
    """``Deployment`` (a service) or ``Job`` (a batch run)."""
    allow_unpinned_image: bool = False
    """Accept an image by tag (a weakening)."""
    replicas: int = 1
    """Replicas of a Deployment."""
    args: list[str] = field(default_factory=list)
    """Arguments to the runtime."""
    container_port: int = 8443
    """The runtime's TLS port."""
    runtime_class: str | None = CC_RUNTIME_CLASSES["snp"]
    """Pod runtime class; ``runc`` or ``None`` runs without confidential computing (a weakening)."""
    gpus: int = 1
    """GPUs requested (requests = limits)."""
    gpu_resource: str = "nvidia.com/gpu"
    """Extended resource name of the GPU."""
    cpu: str = "4"
    """CPU (requests = limits)."""
    memory: str = "32Gi"
    """Memory (requests = limits)."""
    security: SecuritySettings = field(default_factory=SecuritySettings)
    """Security context."""
    probes: Probes | None = field(default_factory=Probes)
    """Probes; ``None`` sets none."""
    key_broker: KeyBroker | None = None
    """Key broker and attestation policy; PHI needs one."""
    samd: bool = False
    """Software as a medical device."""
    model_provenance: ModelProvenance | None = None
    """Model provenance; SaMD needs it."""
    volumes: list[WorkloadVolume] = field(default_factory=list)
    """Volumes."""
    audit_sink: pulumi.Input[str] | None = None
    """``host:port`` of the SIEM the runtime ships its own audit log to."""
    purpose: str | None = None
    """The purpose the data use is limited to (protocol or clinical indication); genetic data needs one."""
    authorized_groups: list[str] = field(default_factory=list)
    """Groups allowed to the workload's data (genetic data: the only groups granted its namespace)."""
    node_selector: dict[str, str] = field(default_factory=dict)
    """Node labels the pods require (a cloud backend's confidential GPU pools: ``ConfidentialGpuCluster.
    workload_node_selector``)."""
    tolerations: list[dict[str, str]] = field(default_factory=list)
    """Tolerations beyond the GPU one (the confidential pools' taint: ``workload_tolerations``)."""


def _env(args: AttestedWorkloadArgs) -> list[dict[str, Any]]:
    values: list[tuple[str, Any]] = [("PHISTACK_DATA_CLASSIFICATION", args.data_classification)]
    if args.key_broker is not None:
        values += [
            ("PHISTACK_KEY_BROKER_URL", args.key_broker.url),
            ("PHISTACK_KEY_ID", args.key_broker.key_id),
            ("PHISTACK_ATTESTATION_POLICY", args.key_broker.attestation_policy),
        ]
    if args.purpose is not None:
        values.append(("PHISTACK_PURPOSE", args.purpose))
    if args.audit_sink is not None:
        values.append(("PHISTACK_AUDIT_SINK", args.audit_sink))
    if args.model_provenance is not None:
        mp = args.model_provenance
        values += [
            ("PHISTACK_MODEL_DIGEST", mp.model_digest),
            ("PHISTACK_TRAINING_DATA_MANIFEST_DIGEST", mp.training_data_manifest_digest),
            ("PHISTACK_EVALUATION_REPORT", mp.evaluation_report),
        ]
    return [{"name": k, "value": v} for k, v in values]


def _volume(vol: WorkloadVolume) -> dict[str, Any]:
    if vol.source == "pvc":
        if not vol.claim_name:
            raise ValueError(f"volumes[{vol.name}]: claim_name is required for source pvc")
        claim = {"claimName": vol.claim_name, "readOnly": vol.read_only}
        return {"name": vol.name, "persistentVolumeClaim": claim}
    if vol.source == "hostPath":
        if not vol.host_path:
            raise ValueError(f"volumes[{vol.name}]: host_path is required for source hostPath")
        return {"name": vol.name, "hostPath": {"path": vol.host_path}}
    return {"name": vol.name, "emptyDir": {}}


class AttestedWorkload(pulumi.ComponentResource):
    """ServiceAccount plus a Deployment or Job running the runtime under the CC runtime class."""

    selector: dict[str, str]
    """Pod labels a Service can select."""

    def __init__(self, name: str, args: AttestedWorkloadArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check_choice("kind", args.kind, ("Deployment", "Job"))
        check_choice("data_classification", args.data_classification, DATA_CLASSIFICATIONS)
        for vol in args.volumes:
            check_choice(f"volumes[{vol.name}].source", vol.source, ("pvc", "emptyDir", "hostPath"))
        super().__init__(TYPE, name, to_props(args), opts)
        sec = args.security
        self.selector = {"app.kubernetes.io/name": name}
        pod_labels = labels(
            name,
            {
                **self.selector,
                LABEL_CLASSIFICATION: args.data_classification,
                "phistack.io/samd": "true" if args.samd else "false",
                **({LABEL_DATASET: args.dataset} if args.dataset is not None else {}),
            },
        )
        resources = {"cpu": args.cpu, "memory": args.memory}
        if args.gpus > 0:
            resources[args.gpu_resource] = str(args.gpus)
        container: dict[str, Any] = {
            "name": "runtime",
            "image": args.image,
            "args": list(args.args),
            "ports": [{"name": "https", "containerPort": args.container_port, "protocol": "TCP"}],
            "env": _env(args),
            "resources": {"requests": dict(resources), "limits": dict(resources)},
            "securityContext": {
                "runAsNonRoot": sec.run_as_non_root,
                "runAsUser": sec.run_as_user,
                "readOnlyRootFilesystem": sec.read_only_root_filesystem,
                "allowPrivilegeEscalation": sec.allow_privilege_escalation,
                "privileged": sec.privileged,
                "capabilities": {"drop": list(sec.capabilities_drop), "add": list(sec.capabilities_add)},
                "seccompProfile": {"type": sec.seccomp_profile},
            },
            "volumeMounts": [
                {"name": v.name, "mountPath": v.mount_path, "readOnly": v.read_only} for v in args.volumes
            ],
        }
        if not sec.capabilities_add:
            del container["securityContext"]["capabilities"]["add"]
        if args.probes is not None:
            p = args.probes
            container["livenessProbe"] = {
                "httpGet": {"path": p.liveness_path, "port": p.port, "scheme": p.scheme},
                "initialDelaySeconds": 30,
                "periodSeconds": 10,
                "failureThreshold": 3,
            }
            container["readinessProbe"] = {
                "httpGet": {"path": p.readiness_path, "port": p.port, "scheme": p.scheme},
                "periodSeconds": 5,
                "failureThreshold": 3,
            }
        pod_spec: dict[str, Any] = {
            "serviceAccountName": name,
            "automountServiceAccountToken": sec.automount_service_account_token,
            "securityContext": {
                "runAsNonRoot": sec.run_as_non_root,
                "runAsUser": sec.run_as_user,
                "runAsGroup": sec.run_as_user,
                "fsGroup": sec.run_as_user,
                "seccompProfile": {"type": sec.seccomp_profile},
            },
            "containers": [container],
            "volumes": [_volume(v) for v in args.volumes],
            "tolerations": [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
                *({"operator": "Equal", **t} for t in args.tolerations),
            ],
        }
        if args.node_selector:
            pod_spec["nodeSelector"] = dict(args.node_selector)
        if args.runtime_class is not None:
            pod_spec["runtimeClassName"] = args.runtime_class
        if args.kind == "Job":
            pod_spec["restartPolicy"] = "Never"
        template = {"metadata": {"labels": pod_labels}, "spec": pod_spec}
        metadata = {"name": name, "namespace": args.namespace, "labels": pod_labels}

        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata={"name": name, "namespace": args.namespace, "labels": labels(name)},
            automount_service_account_token=sec.automount_service_account_token,
            opts=child(self),
        )
        after_account = pulumi.ResourceOptions(parent=self, depends_on=[account])
        if args.kind == "Deployment":
            k8s.apps.v1.Deployment(
                f"{name}-deployment",
                **kube(
                    metadata=metadata,
                    spec={
                        "replicas": args.replicas,
                        "selector": {"matchLabels": dict(self.selector)},
                        "template": template,
                    },
                ),
                opts=after_account,
            )
        else:
            k8s.batch.v1.Job(
                f"{name}-job",
                **kube(
                    metadata=metadata, spec={"backoffLimit": 2, "ttlSecondsAfterFinished": 86400, "template": template}
                ),
                opts=after_account,
            )
        self.register_outputs({"selector": self.selector})
