"""The typed stack spec: every ``phistack:*`` config key of a stack, validated once (pydantic v2).

Errors name the file and the key path the way a user writes it:
``stacks/Pulumi.clinical-nlp.yaml:41: phistack:workloads[0].image: must be pinned by digest ...``; an unknown key
is reported first, with the key it was probably meant to be (``... unknown key; did you mean name?``).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from phistack.hardware import gpu_catalogue, machine_catalogue
from phistack.stackconfig import NAMESPACE, config_key, phistack_keys, read_stack_settings, stack_file
from runtime.classification import ClassificationName
from runtime.configfile import explain, line_of, load_yaml_nodes, more_suffix
from runtime.errors import InputError

DIGEST_RE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$")
REFERENCE_RE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?$")

DnsLabel = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
Classification = ClassificationName  # the one vocabulary (runtime/classification.py)
Quantity = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]


class _Model(BaseModel):
    """Strict models: unknown keys are errors (a typo must not silently drop a control)."""

    # Attribute docstrings become field descriptions: the generated key reference (stacks/reference.py) reads them.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Baa(_Model):
    """The Business Associate Agreement with the provider."""

    reference: str
    """Reference in the contract register."""
    signed: datetime.date
    """Date signed."""
    expires: datetime.date
    """Date it ends; after ``signed``."""

    @model_validator(mode="after")
    def _order(self) -> Baa:
        if self.expires <= self.signed:
            raise _PathError(("expires",), "expires must be after signed")
        return self


class Provider(_Model):
    """The GPU cloud provider."""

    name: DnsLabel
    """Provider id."""
    plan: str
    """Product or plan."""
    region: str
    """Region."""
    baa: Baa | None = None
    """The BAA, if any."""


class NamespaceSpec(_Model):
    """A workload namespace."""

    name: DnsLabel
    """Namespace name."""
    data_classification: Classification
    """Data it holds."""


class NodePool(_Model):
    """A GPU node pool: declared (``existing`` backend) or created by a cloud backend (``gke``, ``aks``)."""

    name: DnsLabel
    """Pool name."""
    gpu_model: str | None = None
    """``existing`` backend: GPU model, one the hardware catalogue (policies/data/gpu_profiles.json) knows (e.g.
    ``H100 SXM``). Cloud backends take the GPU from ``machine_type``."""
    gpu_count: int | None = Field(default=None, ge=1)
    """``existing`` backend: GPUs per node."""
    node_count: int = Field(default=1, ge=1)
    """Nodes."""
    cc_capable: bool | None = None
    """``existing`` backend: declared CC mode of the pool; not evidence: the gate takes CC support from the
    catalogue."""
    machine_type: str | None = None
    """Cloud backends: GCE machine type (``a3-highgpu-1g``) or Azure VM size (``Standard_NCC40ads_H100_v5``), one
    the machine catalogue (policies/data/cloud_machine_types.json) knows."""
    confidential: bool = True
    """Cloud backends: a confidential VM with the GPU in CC mode; ``false`` is a weakening the gate denies for PHI."""

    @field_validator("gpu_model")
    @classmethod
    def _known_gpu(cls, value: str | None) -> str | None:
        catalogue = gpu_catalogue()
        if value is not None and catalogue.lookup(value) is None:
            raise ValueError(f"{value!r} is not a known GPU model (known: {catalogue.known()})")
        return value


class AuthorizedNetwork(_Model):
    """A network allowed to reach the private control plane."""

    cidr: str
    """CIDR block."""
    name: str = ""
    """Display name."""


class Gke(_Model):
    """The ``gke`` backend: a private GKE cluster with confidential GPU node pools."""

    project: str
    """Google Cloud project id."""
    region: str
    """Region of the cluster and its keys."""
    node_locations: list[str] = Field(min_length=1)
    """Zones of the GPU pools (where the machine type is offered as a confidential VM)."""
    network: str
    """VPC network."""
    subnetwork: str
    """Subnetwork of the nodes."""
    master_ipv4_cidr_block: str = "172.16.0.0/28"
    """The /28 of the private control plane."""
    master_authorized_networks: list[AuthorizedNetwork] = []
    """Networks allowed to reach the control plane."""
    private_endpoint: bool = True
    """Control plane on a private endpoint only."""
    key_ring: DnsLabel = "phistack"
    """Cloud KMS key ring created for the cluster's keys."""
    key_rotation_days: int = Field(default=90, ge=1)
    """Rotation period of the keys."""
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    """GKE release channel."""
    system_machine_type: str = "e2-standard-4"
    """Machine type of the system pool."""
    audit_log_topic: str | None = "phistack-audit"
    """Pub/Sub topic the cluster's audit logs are routed to for the SIEM; null routes none."""


class Aks(_Model):
    """The ``aks`` backend: a private AKS cluster with confidential GPU node pools."""

    subscription_id: str
    """Azure subscription id."""
    tenant_id: str
    """Entra ID tenant id."""
    resource_group: str
    """Resource group created for the cluster."""
    location: str
    """Azure region."""
    admin_group_object_ids: list[str] = Field(min_length=1)
    """Entra ID groups that administer the cluster."""
    subnet_id: str | None = None
    """Subnet of the nodes (resource id)."""
    private_cluster: bool = True
    """API server on a private endpoint only."""
    disable_local_accounts: bool = True
    """Entra ID only, no local accounts."""
    key_vault_name: str = "phistack-kv"
    """Key Vault created for the customer-managed keys."""
    key_rotation_days: int = Field(default=90, ge=1)
    """Rotation period of the keys."""
    system_vm_size: str = "Standard_D4ds_v5"
    """VM size of the system pool."""
    audit_event_hub_rule_id: str | None = None
    """Event Hub namespace authorization rule the cluster's audit logs go to."""
    audit_event_hub_name: str | None = None
    """Event Hub name."""


class Port(_Model):
    """A port."""

    port: int = Field(ge=1, le=65535)
    """Port number."""
    protocol: Literal["TCP", "UDP"] = "TCP"
    """Protocol."""


class NetworkAllow(_Model):
    """An explicit exception to default-deny."""

    name: DnsLabel
    """Short name."""
    namespace: DnsLabel
    """Namespace the policy selects."""
    direction: Literal["ingress", "egress"]
    """Direction."""
    peer_namespace: DnsLabel | None = None
    """Peer namespace; set exactly one of ``peer_namespace`` and ``peer_cidr``."""
    peer_cidr: str | None = None
    """Peer CIDR; set exactly one of ``peer_namespace`` and ``peer_cidr``."""
    ports: list[Port] = Field(min_length=1)
    """Ports."""

    @model_validator(mode="after")
    def _one_peer(self) -> NetworkAllow:
        if (self.peer_namespace is None) == (self.peer_cidr is None):
            raise _PathError(("peer_cidr",), "set exactly one of peer_namespace and peer_cidr")
        return self


class PolicyRule(_Model):
    """An RBAC rule."""

    api_groups: list[str]
    """API groups."""
    resources: list[str]
    """Resources."""
    verbs: list[str]
    """Verbs."""


class AccessGrant(_Model):
    """Namespace access for a person or group."""

    subject: str
    """User or group."""
    subject_kind: Literal["Group", "User"] = "Group"
    """Kind."""
    namespace: DnsLabel
    """Namespace (one of the cluster's)."""
    role: Literal["viewer", "operator", "custom"] = "viewer"
    """Role."""
    rules: list[PolicyRule] = []
    """Rules of a custom role."""


class Quota(_Model):
    """Per-namespace quota."""

    gpus: int = Field(ge=0)
    """GPUs."""
    requests_cpu: Quantity = "64"
    """CPU requests."""
    requests_memory: Quantity = "512Gi"
    """Memory requests."""
    limits_cpu: Quantity = "64"
    """CPU limits."""
    limits_memory: Quantity = "512Gi"
    """Memory limits."""
    pods: int = Field(default=50, ge=1)
    """Pods."""
    persistent_volume_claims: int = Field(default=20, ge=0)
    """PVCs."""


class IdentityProvider(_Model):
    """The identity provider people sign in through."""

    issuer: Annotated[str, StringConstraints(pattern=r"^https://")]
    """OIDC issuer URL."""
    mfa_required: bool = True
    """MFA enforced."""


class Cluster(_Model):
    """The confidential GPU cluster."""

    name: DnsLabel
    """Cluster name."""
    namespaces: list[NamespaceSpec] = Field(min_length=1)
    """Workload namespaces."""
    node_pools: list[NodePool] = Field(min_length=1)
    """GPU node pools."""
    pod_security_level: Literal["restricted", "baseline", "privileged"] = "restricted"
    """Pod Security level."""
    cc_mode: Literal["snp", "tdx", "off"] = "snp"
    """Confidential computing mode."""
    default_deny_network: bool = True
    """Default-deny networking."""
    network_allows: list[NetworkAllow] = []
    """Explicit allows."""
    access_grants: list[AccessGrant] = []
    """Access for people."""
    cluster_admin_subjects: list[str] = []
    """Users bound to cluster-admin."""
    quota: Quota | None = None
    """Per-namespace quota."""
    identity_provider: IdentityProvider | None = None
    """Identity provider."""
    backend: Literal["existing", "gke", "aks"] = "existing"
    """Where the cluster comes from: provisioned on GKE or AKS, or an existing cluster."""
    gke: Gke | None = None
    """Settings of the ``gke`` backend."""
    aks: Aks | None = None
    """Settings of the ``aks`` backend."""

    @model_validator(mode="after")
    def _backend(self) -> Cluster:
        for other in ("gke", "aks"):
            if other != self.backend and getattr(self, other) is not None:
                raise _PathError((other,), f"set only with backend: {other}")
        if self.backend != "existing" and getattr(self, self.backend) is None:
            raise _PathError((self.backend,), f"required with backend: {self.backend}")
        for i, pool in enumerate(self.node_pools):
            _check_pool(self.backend, i, pool)
        if self.backend != "existing" and self.cc_mode not in ("off", _CPU_TEE[self.backend]):
            raise _PathError(
                ("cc_mode",),
                f"the {self.backend} backend's confidential VMs use {_CPU_TEE[self.backend]}; set cc_mode: "
                f"{_CPU_TEE[self.backend]}",
            )
        return self


# The CPU TEE of each cloud's confidential GPU VMs (policies/data/cloud_machine_types.json says per machine).
_CPU_TEE = {"gke": "tdx", "aks": "snp"}
_CLOUD_OF = {"gke": "gcp", "aks": "azure"}
_EXISTING_ONLY = ("gpu_model", "gpu_count", "cc_capable")


def _check_pool(backend: str, i: int, pool: NodePool) -> None:
    """A pool has the fields of its backend: a GPU model for ``existing``, a known machine type for a cloud."""
    if backend == "existing":
        if pool.machine_type is not None:
            raise _PathError(("node_pools", i, "machine_type"), "only for the gke and aks backends")
        for key in _EXISTING_ONLY:
            if getattr(pool, key) is None:
                raise _PathError(("node_pools", i, key), "required key is missing")
        return
    for key in _EXISTING_ONLY:
        if getattr(pool, key) is not None:
            raise _PathError(
                ("node_pools", i, key),
                f"not with backend {backend}: the machine catalogue says which GPU machine_type carries",
            )
    if pool.machine_type is None:
        raise _PathError(("node_pools", i, "machine_type"), "required key is missing")
    catalogue = machine_catalogue()
    cloud = _CLOUD_OF[backend]
    if catalogue.lookup(cloud, pool.machine_type) is None:
        raise _PathError(
            ("node_pools", i, "machine_type"),
            f"{pool.machine_type!r} is not a machine type of {cloud} in the machine catalogue "
            f"(known: {', '.join(sorted(m.name for m in catalogue.machine_types.values() if m.cloud == cloud))})",
        )


class VolumeClaim(_Model):
    """A PVC."""

    name: DnsLabel
    """Claim name."""
    namespace: DnsLabel
    """Namespace (one of the cluster's)."""
    size: Quantity
    """Size."""
    access_mode: Literal["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany"] = "ReadWriteOncePod"
    """Access mode."""


class Storage(_Model):
    """Encrypted storage."""

    storage_class_name: DnsLabel
    """StorageClass name."""
    csi_driver: Literal["aws-ebs", "gcp-pd", "azure-disk", "ceph-rbd"]
    """CSI driver."""
    data_classification: Classification
    """Data stored."""
    dataset: DnsLabel | None = None
    """The de-identified dataset stored (one of ``phistack:datasets``); ``deidentified`` storage needs one."""
    kms_key: str | None = None
    """Customer-managed key reference; required while ``encrypted`` is true, except on the ``gke`` and ``aks``
    backends, whose volumes default to the disk key the backend creates."""
    encrypted: bool = True
    """Encrypt at rest."""
    reclaim_policy: Literal["Retain", "Delete"] = "Retain"
    """Reclaim policy."""
    volumes: list[VolumeClaim] = []
    """Claims."""


class Issuer(_Model):
    """cert-manager issuer."""

    name: str
    """Issuer name."""
    kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"
    """Kind."""


class Endpoint(_Model):
    """A TLS endpoint in front of a workload."""

    name: DnsLabel
    """Endpoint name."""
    workload: DnsLabel
    """The workload it serves (by name, one of ``phistack:workloads``)."""
    hostname: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")]
    """DNS name."""
    gateway_class_name: str = "eg"
    """GatewayClass."""
    certificate_source: Literal["cert-manager", "private-ca"] = "cert-manager"
    """Certificate source."""
    issuer: Issuer | None = None
    """cert-manager issuer; required when ``certificate_source`` is ``cert-manager``."""
    min_tls_version: Literal["1.3", "1.2"] = "1.3"
    """Lowest TLS version."""
    hsts_max_age_seconds: int = Field(default=31536000, ge=0)
    """HSTS max-age."""
    allow_plaintext_http: bool = False
    """Plain-HTTP listener."""
    mtls: bool = False
    """Mutual TLS."""
    client_ca_configmap: str | None = None
    """Client CA bundle (ConfigMap name); required when ``mtls`` is true."""
    backend_tls: bool = True
    """Gateway-to-pod TLS."""
    backend_ca_configmap: str | None = "phistack-internal-ca"
    """Backend CA bundle."""

    @model_validator(mode="after")
    def _consistent(self) -> Endpoint:
        if self.certificate_source == "cert-manager" and self.issuer is None:
            raise _PathError(("issuer",), "required when certificate_source is cert-manager")
        if self.mtls and not self.client_ca_configmap:
            raise _PathError(("client_ca_configmap",), "required when mtls is true")
        return self


class Logging(_Model):
    """Log shipping to the SIEM."""

    siem_host: str
    """SIEM host."""
    image: str
    """Forwarder image, pinned by digest (``name@sha256:<64 hex>``)."""
    namespace: DnsLabel = "phistack-logging"
    """Namespace."""
    siem_port: int = Field(default=6514, ge=1, le=65535)
    """SIEM port."""
    siem_cidr: str | None = None
    """SIEM CIDR."""
    protocol: Literal["syslog-tls", "https"] = "syslog-tls"
    """Protocol."""
    min_tls_version: Literal["1.3", "1.2"] = "1.3"
    """Lowest TLS version."""
    verify_certificate: bool = True
    """Verify the SIEM certificate."""
    siem_ca_configmap: str = "siem-ca"
    """SIEM CA bundle."""
    sources: list[Literal["container", "kubernetes-audit", "phistack-audit", "node-journal"]] = [
        "container",
        "kubernetes-audit",
        "phistack-audit",
        "node-journal",
    ]
    """Sources shipped."""
    buffer: Literal["disk", "memory"] = "disk"
    """Buffer."""
    buffer_max_size: str = "10G"
    """Buffer size."""
    retention_days: int = Field(default=2192, ge=1)
    """Declared retention."""

    @model_validator(mode="after")
    def _pinned(self) -> Logging:
        if not DIGEST_RE.match(self.image):
            raise _PathError(("image",), "must be pinned by digest (name@sha256:<64 hex>)")
        return self


class Security(_Model):
    """Security context overrides."""

    run_as_non_root: bool = True
    """Non-root."""
    run_as_user: int = Field(default=65532, ge=0)
    """UID."""
    read_only_root_filesystem: bool = True
    """Read-only root."""
    allow_privilege_escalation: bool = False
    """Privilege escalation."""
    privileged: bool = False
    """Privileged."""
    capabilities_drop: list[str] = ["ALL"]
    """Dropped capabilities."""
    capabilities_add: list[str] = []
    """Added capabilities."""
    seccomp_profile: Literal["RuntimeDefault", "Unconfined"] = "RuntimeDefault"
    """Seccomp."""
    automount_service_account_token: bool = False
    """API token in the pod."""


class Probes(_Model):
    """Probes."""

    scheme: Literal["HTTPS", "HTTP"] = "HTTPS"
    """Scheme."""
    port: int = 8443
    """Port."""
    liveness_path: str = "/healthz"
    """Liveness path."""
    readiness_path: str = "/readyz"
    """Readiness path."""


class KeyBroker(_Model):
    """Key broker settings."""

    url: Annotated[str, StringConstraints(pattern=r"^https://")]
    """Broker URL."""
    key_id: str
    """Data key id."""
    attestation_policy: str
    """Attestation policy."""


class ModelProvenance(_Model):
    """SaMD model provenance."""

    model_digest: Sha256
    """Model digest."""
    training_data_manifest_digest: Sha256
    """Training-data manifest digest."""
    evaluation_report: str
    """Evaluation report reference."""


class WorkloadVolume(_Model):
    """A volume of a workload."""

    name: DnsLabel
    """Name."""
    mount_path: Annotated[str, StringConstraints(pattern=r"^/")]
    """Mount path."""
    source: Literal["pvc", "emptyDir", "hostPath"] = "pvc"
    """Source."""
    claim_name: str | None = None
    """PVC name; required for source ``pvc``."""
    host_path: str | None = None
    """Node path; required for source ``hostPath``."""
    read_only: bool = False
    """Read-only."""

    @model_validator(mode="after")
    def _source(self) -> WorkloadVolume:
        if self.source == "pvc" and not self.claim_name:
            raise _PathError(("claim_name",), "required for source pvc")
        if self.source == "hostPath" and not self.host_path:
            raise _PathError(("host_path",), "required for source hostPath")
        return self


def _project_relative(value: str) -> str:
    parts = value.split("/")
    if value.startswith("/") or "\\" in value or any(part in ("", ".", "..") for part in parts):
        raise ValueError("must be a relative path inside the project (no leading /, no .. or empty parts)")
    return value


class Dataset(_Model):
    """A de-identified dataset and the signed manifest that proves how it was de-identified."""

    name: DnsLabel
    """Dataset name, unique in the stack; workloads name it in ``dataset``."""
    manifest: str
    """The signed ``phistack.deid-manifest/v1`` file, relative to the project; the gate verifies it."""
    path: str | None = None
    """Where the de-identified data lives for the runtime (informational)."""

    @field_validator("manifest")
    @classmethod
    def _manifest(cls, value: str) -> str:
        return _project_relative(value)


class Workload(_Model):
    """An attested workload."""

    name: DnsLabel
    """Workload name, unique in the stack."""
    namespace: DnsLabel
    """Namespace (one of the cluster's)."""
    image: str
    """Runtime image, pinned by digest (``name@sha256:<64 hex>``) unless ``allow_unpinned_image``."""
    data_classification: Classification
    """Data processed."""
    dataset: DnsLabel | None = None
    """The de-identified dataset it processes (one of ``phistack:datasets``); a ``deidentified`` workload needs one."""
    kind: Literal["Deployment", "Job"] = "Deployment"
    """Deployment or Job."""
    allow_unpinned_image: bool = False
    """Accept a tag reference."""
    replicas: int = Field(default=1, ge=0)
    """Replicas."""
    args: list[str] = []
    """Runtime arguments."""
    container_port: int = Field(default=8443, ge=1, le=65535)
    """TLS port."""
    runtime_class: str | None = None
    """Runtime class; unset = the cluster's confidential runtime class (required when ``cc_mode`` is off)."""
    gpus: int = Field(default=1, ge=0)
    """GPUs."""
    cpu: Quantity = "4"
    """CPU."""
    memory: Quantity = "32Gi"
    """Memory."""
    security: Security = Security()
    """Security context."""
    probes: Probes | None = Probes()
    """Probes."""
    key_broker: KeyBroker | None = None
    """Key broker."""
    samd: bool = False
    """Software as a medical device."""
    model_provenance: ModelProvenance | None = None
    """SaMD provenance."""
    volumes: list[WorkloadVolume] = []
    """Volumes."""
    audit_sink: str | None = None
    """Runtime audit sink host:port."""
    purpose: str | None = None
    """Purpose limitation."""
    authorized_groups: list[str] = []
    """Groups allowed to the data."""

    @model_validator(mode="after")
    def _image(self) -> Workload:
        pattern = REFERENCE_RE if self.allow_unpinned_image else DIGEST_RE
        if not pattern.match(self.image):
            if self.allow_unpinned_image:
                raise _PathError(("image",), "not a valid image reference")
            raise _PathError(("image",), "must be pinned by digest (name@sha256:<64 hex>)")
        return self


class StackSpec(_Model):
    """Everything a stack declares, from its ``phistack:*`` config keys."""

    description: str = ""
    """What the stack is for."""
    provider: Provider
    """GPU cloud provider and BAA."""
    cluster: Cluster
    """The cluster."""
    workloads: list[Workload] = Field(min_length=1)
    """Workloads."""
    storage: Storage | None = None
    """Encrypted storage."""
    endpoints: list[Endpoint] = []
    """TLS endpoints."""
    logging: Logging | None = None
    """Log shipping; absent = none."""
    datasets: list[Dataset] = []
    """De-identified datasets, each with its signed manifest."""

    @model_validator(mode="after")
    def _references(self) -> StackSpec:
        namespaces = {ns.name for ns in self.cluster.namespaces}
        datasets: set[str] = set()
        for i, d in enumerate(self.datasets):
            if d.name in datasets:
                raise _PathError(("datasets", i, "name"), f"duplicate dataset name {d.name!r}")
            datasets.add(d.name)
        names: set[str] = set()
        for i, w in enumerate(self.workloads):
            if w.dataset is not None and w.dataset not in datasets:
                raise _PathError(("workloads", i, "dataset"), f"no dataset named {w.dataset!r} in datasets")
            if w.dataset is not None and w.data_classification != "deidentified":
                raise _PathError(("workloads", i, "dataset"), "only a workload classified deidentified names a dataset")
            if w.name in names:
                raise _PathError(("workloads", i, "name"), f"duplicate workload name {w.name!r}")
            names.add(w.name)
            if w.namespace not in namespaces:
                raise _PathError(
                    ("workloads", i, "namespace"),
                    f"{w.namespace!r} is not one of cluster.namespaces ({', '.join(sorted(namespaces))})",
                )
            if w.runtime_class is None and self.cluster.cc_mode == "off":
                raise _PathError(
                    ("workloads", i, "runtime_class"),
                    "cluster.cc_mode is off: set runtime_class explicitly (for example runc)",
                )
        for i, e in enumerate(self.endpoints):
            if e.workload not in names:
                raise _PathError(("endpoints", i, "workload"), f"no workload named {e.workload!r}")
        if self.storage is not None:
            if self.storage.encrypted and not self.storage.kms_key and self.cluster.backend == "existing":
                raise _PathError(("storage", "kms_key"), "required while encrypted is true")
            if self.storage.dataset is not None and self.storage.dataset not in datasets:
                raise _PathError(("storage", "dataset"), f"no dataset named {self.storage.dataset!r} in datasets")
            if self.storage.dataset is not None and self.storage.data_classification != "deidentified":
                raise _PathError(("storage", "dataset"), "only storage classified deidentified names a dataset")
            for i, v in enumerate(self.storage.volumes):
                if v.namespace not in namespaces:
                    raise _PathError(
                        ("storage", "volumes", i, "namespace"), f"{v.namespace!r} is not one of cluster.namespaces"
                    )
        for i, g in enumerate(self.cluster.access_grants):
            if g.namespace not in namespaces:
                raise _PathError(
                    ("cluster", "access_grants", i, "namespace"), f"{g.namespace!r} is not one of cluster.namespaces"
                )
        return self


class _PathError(ValueError):
    """A cross-field error that knows the key path it belongs to."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def parse_spec(config: Mapping[str, Any], source: str, stack_file: Path | None = None) -> StackSpec:
    """Validate ``config`` (keys without the ``phistack:`` prefix) into a StackSpec.

    Raises :class:`InputError` with one line: ``<source>[:<line>]: <key path>: <what is wrong>``; an unknown
    key is reported first, with the key it was probably meant to be. The line is looked up in
    ``stack_file`` (the YAML ``config`` came from) when it is given and readable.
    """
    try:
        return StackSpec.model_validate(dict(config))
    except ValidationError as err:
        problem = explain(StackSpec, err)
        ctx_error = (problem.detail.get("ctx") or {}).get("error")
        loc, message = problem.loc, problem.message
        if isinstance(ctx_error, _PathError):
            loc, message = loc + ctx_error.loc, str(ctx_error)
        elif problem.detail["type"] == "missing":
            message = "required key is missing"
        line = _line_in(stack_file, loc) if stack_file is not None else None
        where = f"{source}:{line}" if line else source
        raise InputError(f"{where}: {config_key(loc)}: {message}{more_suffix(problem.more)}") from err


def _line_in(stack_file: Path, loc: tuple[Any, ...]) -> int | None:
    """The line of ``phistack:<loc>`` in a stack file; None when the file cannot tell (a location is a
    convenience: it never replaces the error)."""
    try:
        _, root = load_yaml_nodes(stack_file, "stack config")
    except InputError:
        return None
    config = line_of(root, ("config",))
    for top in (f"{NAMESPACE}:{loc[0]}", loc[0]) if loc else ():
        line = line_of(root, ("config", top, *loc[1:]))
        if line != config:
            return line
    return config


def config_from_stack_file(path: Path) -> dict[str, Any]:
    """The ``phistack:*`` keys of a ``Pulumi.<stack>.yaml`` file, prefix removed."""
    return phistack_keys(read_stack_settings(path).config)


def decode_config_value(value: str) -> Any:
    """Pulumi hands structured config to a program as JSON text; plain strings stay strings."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def load_stack_spec(stacks_dir: Path, stack: str, display: str | None = None) -> StackSpec:
    """Read and validate a stack's spec straight from its file (no Pulumi needed)."""
    path = stack_file(stacks_dir, stack)
    return parse_spec(config_from_stack_file(path), display or f"stacks/{path.name}", path)
