"""Each component's secure defaults, and each weakening visible in its props or its children.

The SDK's mock monitor records every registration; a component's props are its plan inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from tests.support.mock_preview import every, only, registrations, type_of


class Mocks(pulumi.runtime.Mocks):
    """Outputs echo inputs; outputs a provider would compute stay unknown in a preview."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


pulumi.runtime.set_mocks(Mocks(), preview=True)

import modules as m  # noqa: E402  (mocks must be registered before the components are imported)

DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"registry.example-hospital.org/phistack/runtime@{DIGEST}"


@dataclass
class Registered:
    """One registered resource: urn, type and its inputs (a component's props)."""

    urn: str
    type: str
    inputs: dict[str, Any]


def declare(build: Callable[[], Any]) -> list[Registered]:
    """Run ``build`` in a fresh mock preview and return what it registered."""
    return [Registered(r.urn, type_of(r.urn), dict(r.state or {})) for r in registrations(Mocks(), build)]


# --- ProviderProfile -------------------------------------------------------------------------


def test_provider_profile_props_record_the_baa() -> None:
    baa = m.BaaRecord(reference="BAA-HELIX-2026-01", signed="2026-01-15", expires="2027-01-14")
    res = declare(
        lambda: m.ProviderProfile(
            "p", m.ProviderProfileArgs(provider="helix-gpu", plan="secure-cloud", region="us-east", baa=baa)
        )
    )
    comp = only(res, "phistack:provider:ProviderProfile")
    assert comp.inputs["baa"] == {"reference": "BAA-HELIX-2026-01", "signed": "2026-01-15", "expires": "2027-01-14"}, (
        comp.urn
    )
    assert [r.type for r in res if r.type.startswith("kubernetes:")] == []


def test_provider_profile_without_baa_has_no_baa_key() -> None:
    res = declare(
        lambda: m.ProviderProfile("p", m.ProviderProfileArgs(provider="cheap-gpu", plan="community", region="eu"))
    )
    comp = only(res, "phistack:provider:ProviderProfile")
    assert "baa" not in comp.inputs, comp.urn


# --- ConfidentialGpuCluster ------------------------------------------------------------------


def _cluster(**overrides: Any) -> m.ConfidentialGpuCluster:
    args: dict[str, Any] = dict(
        cluster_name="c",
        namespaces=[m.NamespaceSpec(name="clinical", data_classification="phi")],
        node_pools=[m.NodePool(name="h100", gpu_model="H100 SXM", gpu_count=1, cc_capable=True)],
        quota=m.Quota(gpus=1),
        identity_provider=m.IdentityProvider(issuer="https://login.example-hospital.org"),
    )
    args.update(overrides)
    return m.ConfidentialGpuCluster("c", m.ConfidentialGpuClusterArgs(**args))


def test_cluster_defaults_restricted_default_deny_cc_runtime_class_quota() -> None:
    res = declare(_cluster)
    comp = only(res, "phistack:cluster:ConfidentialGpuCluster")
    assert comp.inputs["pod_security_level"] == "restricted", comp.urn
    assert comp.inputs["cc_mode"] == "snp", comp.urn
    assert comp.inputs["runtime_class_name"] == "kata-qemu-nvidia-gpu-snp", comp.urn
    assert comp.inputs["default_deny_network"] is True, comp.urn
    assert comp.inputs["cluster_admin_subjects"] == [], comp.urn
    assert comp.inputs["identity_provider"] == {"issuer": "https://login.example-hospital.org", "mfa_required": True}, (
        comp.urn
    )

    ns = only(res, "kubernetes:core/v1:Namespace")
    ns_labels = ns.inputs["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert ns_labels[f"pod-security.kubernetes.io/{mode}"] == "restricted", ns.urn
    assert ns_labels["phistack.io/data-classification"] == "phi", ns.urn

    policies = {r.inputs["metadata"]["name"]: r for r in every(res, "kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    deny = policies["default-deny"]
    assert deny.inputs["spec"]["podSelector"] == {}, deny.urn
    assert deny.inputs["spec"]["policyTypes"] == ["Ingress", "Egress"], deny.urn
    assert "ingress" not in deny.inputs["spec"] and "egress" not in deny.inputs["spec"], deny.urn
    assert "allow-dns" in policies

    rc = only(res, "kubernetes:node.k8s.io/v1:RuntimeClass")
    assert rc.inputs["handler"] == "kata-qemu-nvidia-gpu-snp", rc.urn
    assert rc.inputs["scheduling"]["nodeSelector"] == {
        "nvidia.com/cc.mode.state": "on",
        "nvidia.com/cc.ready.state": "true",
    }, rc.urn

    quota = only(res, "kubernetes:core/v1:ResourceQuota")
    assert quota.inputs["spec"]["hard"]["requests.nvidia.com/gpu"] == "1", quota.urn
    assert every(res, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding") == []


def test_cluster_predefined_roles_have_no_wildcards_secrets_exec_or_logs() -> None:
    res = declare(
        lambda: _cluster(
            access_grants=[m.AccessGrant(subject="radiology-oncall", namespace="clinical", role="operator")]
        )
    )
    for role in every(res, "kubernetes:rbac.authorization.k8s.io/v1:Role"):
        for rule in role.inputs["rules"]:
            flat = rule["apiGroups"] + rule["resources"] + rule["verbs"]
            assert "*" not in flat, role.urn
            assert not {"secrets", "pods/exec", "pods/log"} & set(rule["resources"]), role.urn
    binding = only(res, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    assert binding.inputs["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "phistack-operator",
    }, binding.urn
    assert binding.inputs["metadata"]["namespace"] == "clinical", binding.urn


def test_cluster_tdx_picks_the_tdx_runtime_class() -> None:
    res = declare(lambda: _cluster(cc_mode="tdx"))
    rc = only(res, "kubernetes:node.k8s.io/v1:RuntimeClass")
    assert rc.inputs["metadata"]["name"] == "kata-qemu-nvidia-gpu-tdx", rc.urn


@pytest.mark.parametrize(
    ("overrides", "prop", "value"),
    [
        ({"pod_security_level": "baseline"}, "pod_security_level", "baseline"),
        ({"cc_mode": "off"}, "cc_mode", "off"),
        ({"default_deny_network": False}, "default_deny_network", False),
        ({"cluster_admin_subjects": ["alice@example.org"]}, "cluster_admin_subjects", ["alice@example.org"]),
    ],
)
def test_cluster_weakenings_show_in_props(overrides: dict[str, Any], prop: str, value: Any) -> None:
    res = declare(lambda: _cluster(**overrides))
    comp = only(res, "phistack:cluster:ConfidentialGpuCluster")
    assert comp.inputs[prop] == value, comp.urn


def test_cluster_weakenings_show_in_children() -> None:
    res = declare(
        lambda: _cluster(
            cc_mode="off",
            default_deny_network=False,
            quota=None,
            cluster_admin_subjects=["alice@example.org"],
            pod_security_level="privileged",
        )
    )
    comp = only(res, "phistack:cluster:ConfidentialGpuCluster")
    assert "runtime_class_name" not in comp.inputs and comp.inputs["cc_node_selector"] == {}, comp.urn
    assert "quota" not in comp.inputs, comp.urn
    assert every(res, "kubernetes:node.k8s.io/v1:RuntimeClass") == []
    assert every(res, "kubernetes:networking.k8s.io/v1:NetworkPolicy") == []
    assert every(res, "kubernetes:core/v1:ResourceQuota") == []
    crb = only(res, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    assert crb.inputs["roleRef"]["name"] == "cluster-admin", crb.urn
    ns = only(res, "kubernetes:core/v1:Namespace")
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged", ns.urn


def test_cluster_custom_role_passes_wildcards_through_for_the_gate() -> None:
    grant = m.AccessGrant(
        subject="data-eng",
        namespace="clinical",
        role="custom",
        rules=[m.PolicyRule(api_groups=["*"], resources=["*"], verbs=["*"])],
    )
    res = declare(lambda: _cluster(access_grants=[grant]))
    comp = only(res, "phistack:cluster:ConfidentialGpuCluster")
    assert comp.inputs["access_grants"][0]["rules"] == [{"api_groups": ["*"], "resources": ["*"], "verbs": ["*"]}], (
        comp.urn
    )
    custom = [
        r
        for r in every(res, "kubernetes:rbac.authorization.k8s.io/v1:Role")
        if r.inputs["metadata"]["name"] == "phistack-custom-data-eng"
    ]
    assert custom and custom[0].inputs["rules"] == [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}], custom


def test_cluster_explicit_allow_and_children_parented() -> None:
    allow = m.NetworkAllow(
        name="key-broker", namespace="clinical", direction="egress", peer_cidr="10.20.0.10/32", ports=[m.Port(port=443)]
    )
    res = declare(lambda: _cluster(network_allows=[allow]))
    pol = next(
        r
        for r in every(res, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if r.inputs["metadata"]["name"] == "allow-key-broker"
    )
    assert pol.inputs["spec"]["egress"] == [
        {"to": [{"ipBlock": {"cidr": "10.20.0.10/32"}}], "ports": [{"port": 443, "protocol": "TCP"}]}
    ], pol.urn
    for r in res:
        if r.type.startswith("kubernetes:"):
            assert "phistack:cluster:ConfidentialGpuCluster$" in r.urn, r.urn


# --- EncryptedStorage ------------------------------------------------------------------------

KMS = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _storage(**overrides: Any) -> m.EncryptedStorage:
    args: dict[str, Any] = dict(
        storage_class_name="phi-encrypted",
        csi_driver="aws-ebs",
        data_classification="phi",
        kms_key=KMS,
        volumes=[m.VolumeClaim(name="notes", namespace="clinical", size="100Gi")],
    )
    args.update(overrides)
    return m.EncryptedStorage("s", m.EncryptedStorageArgs(**args))


@pytest.mark.parametrize(
    ("driver", "provisioner", "expected"),
    [
        ("aws-ebs", "ebs.csi.aws.com", {"encrypted": "true", "kmsKeyId": KMS}),
        ("gcp-pd", "pd.csi.storage.gke.io", {"disk-encryption-kms-key": KMS}),
        (
            "azure-disk",
            "disk.csi.azure.com",
            {"diskEncryptionSetID": KMS, "diskEncryptionType": "EncryptionAtRestWithCustomerKey"},
        ),
        ("ceph-rbd", "rbd.csi.ceph.com", {"encrypted": "true", "encryptionType": "block", "encryptionKMSID": KMS}),
    ],
)
def test_storage_encrypts_with_the_customer_key_and_retains(
    driver: str, provisioner: str, expected: dict[str, str]
) -> None:
    res = declare(lambda: _storage(csi_driver=driver))
    comp = only(res, "phistack:storage:EncryptedStorage")
    assert comp.inputs["encrypted"] is True and comp.inputs["encryption_algorithm"] == "AES-256", comp.urn
    assert comp.inputs["reclaim_policy"] == "Retain", comp.urn
    sc = only(res, "kubernetes:storage.k8s.io/v1:StorageClass")
    assert sc.inputs["provisioner"] == provisioner, sc.urn
    assert expected.items() <= sc.inputs["parameters"].items(), sc.urn
    assert sc.inputs["reclaimPolicy"] == "Retain", sc.urn
    pvc = only(res, "kubernetes:core/v1:PersistentVolumeClaim")
    assert pvc.inputs["spec"]["storageClassName"] == "phi-encrypted", pvc.urn
    assert pvc.inputs["metadata"]["labels"]["phistack.io/data-classification"] == "phi", pvc.urn


def test_storage_weakenings_show_in_props_and_class() -> None:
    res = declare(lambda: _storage(encrypted=False, kms_key=None, reclaim_policy="Delete"))
    comp = only(res, "phistack:storage:EncryptedStorage")
    assert comp.inputs["encrypted"] is False and comp.inputs["encryption_algorithm"] == "none", comp.urn
    assert comp.inputs["reclaim_policy"] == "Delete", comp.urn
    sc = only(res, "kubernetes:storage.k8s.io/v1:StorageClass")
    assert "kmsKeyId" not in sc.inputs["parameters"] and sc.inputs["reclaimPolicy"] == "Delete", sc.urn


def test_storage_requires_a_key_while_encrypted() -> None:
    with pytest.raises(ValueError, match="kms_key"):
        declare(lambda: _storage(kms_key=None))


def test_storage_with_an_unknown_key_still_declares_the_class() -> None:
    import pulumi_tls as tls

    seen: list[Any] = []

    def build() -> m.EncryptedStorage:
        # A provider-computed output is unknown in a preview: a stand-in for a KMS key created alongside.
        key = tls.PrivateKey("kms-stand-in", algorithm="ECDSA")
        storage = _storage(kms_key=key.public_key_fingerprint_sha256)
        pulumi.Output.all(key.urn, key.public_key_fingerprint_sha256).apply(seen.append)
        return storage

    res = declare(build)
    sc = only(res, "kubernetes:storage.k8s.io/v1:StorageClass")
    assert sc.inputs["parameters"]["encrypted"] == "true", sc.urn
    assert seen == [], "an unknown value must not be resolved during a preview"


# --- TlsEndpoint -----------------------------------------------------------------------------


def _endpoint(**overrides: Any) -> m.TlsEndpoint:
    args: dict[str, Any] = dict(
        hostname="nlp.example-hospital.org",
        namespace="clinical",
        backend_selector={"app.kubernetes.io/name": "nlp"},
        issuer=m.Issuer(name="hospital-acme"),
    )
    args.update(overrides)
    return m.TlsEndpoint("nlp", m.TlsEndpointArgs(**args))


def test_endpoint_defaults_tls13_only_hsts_no_http_listener() -> None:
    res = declare(_endpoint)
    comp = only(res, "phistack:network:TlsEndpoint")
    assert comp.inputs["min_tls_version"] == "1.3", comp.urn
    assert comp.inputs["allow_plaintext_http"] is False, comp.urn
    assert comp.inputs["hsts_max_age_seconds"] == 31536000, comp.urn
    gw = only(res, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
    listeners = gw.inputs["spec"]["listeners"]
    assert [(li["protocol"], li["port"]) for li in listeners] == [("HTTPS", 443)], gw.urn
    policy = only(res, "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy")
    assert policy.inputs["spec"]["tls"] == {"minVersion": "1.3", "maxVersion": "1.3"}, policy.urn
    route = only(res, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    header = route.inputs["spec"]["rules"][0]["filters"][0]["responseHeaderModifier"]["set"][0]
    assert header["name"] == "Strict-Transport-Security" and "max-age=31536000" in header["value"], route.urn
    cert = only(res, "kubernetes:cert-manager.io/v1:Certificate")
    assert cert.inputs["spec"]["issuerRef"]["name"] == "hospital-acme", cert.urn
    only(res, "kubernetes:gateway.networking.k8s.io/v1:BackendTLSPolicy")


def test_endpoint_weakenings_show_in_props_and_children() -> None:
    res = declare(
        lambda: _endpoint(allow_plaintext_http=True, min_tls_version="1.2", hsts_max_age_seconds=0, backend_tls=False)
    )
    comp = only(res, "phistack:network:TlsEndpoint")
    assert (
        comp.inputs["allow_plaintext_http"],
        comp.inputs["min_tls_version"],
        comp.inputs["hsts_max_age_seconds"],
        comp.inputs["backend_tls"],
    ) == (True, "1.2", 0, False), comp.urn
    gw = only(res, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
    assert ("HTTP", 80) in [(li["protocol"], li["port"]) for li in gw.inputs["spec"]["listeners"]], gw.urn
    policy = only(res, "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy")
    assert policy.inputs["spec"]["tls"]["minVersion"] == "1.2", policy.urn
    route = only(res, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    assert route.inputs["spec"]["rules"][0]["filters"] == [], route.urn
    assert every(res, "kubernetes:gateway.networking.k8s.io/v1:BackendTLSPolicy") == []


def test_endpoint_mtls_and_private_ca() -> None:
    res = declare(
        lambda: _endpoint(mtls=True, client_ca_configmap="ehr-clients-ca", certificate_source="private-ca", issuer=None)
    )
    policy = only(res, "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy")
    assert policy.inputs["spec"]["tls"]["clientValidation"] == {
        "caCertificateRefs": [{"kind": "ConfigMap", "name": "ehr-clients-ca"}]
    }, policy.urn
    secret = only(res, "kubernetes:core/v1:Secret")
    assert secret.inputs["type"] == "kubernetes.io/tls", secret.urn
    assert every(res, "kubernetes:cert-manager.io/v1:Certificate") == []
    assert len(every(res, "tls:index/privateKey:PrivateKey")) == 2


def test_endpoint_hostname_output_resolves() -> None:
    def build() -> m.TlsEndpoint:
        ep = _endpoint()
        pulumi.Output.all(ep.urn, ep.hostname).apply(
            lambda v: _check(v[1] == "nlp.example-hospital.org", f"{v[0]}: hostname {v[1]}")
        )
        return ep

    declare(build)


def _check(condition: bool, message: str) -> None:
    assert condition, message


# --- AuditLogShipping ------------------------------------------------------------------------


def _logging(**overrides: Any) -> m.AuditLogShipping:
    args: dict[str, Any] = dict(
        siem_host="siem.example-hospital.org", image=f"cr.fluentbit.io/fluent/fluent-bit@{DIGEST}"
    )
    args.update(overrides)
    return m.AuditLogShipping("logs", m.AuditLogShippingArgs(**args))


def test_logging_defaults_tls13_disk_buffer_six_years() -> None:
    import yaml

    res = declare(_logging)
    comp = only(res, "phistack:logging:AuditLogShipping")
    assert comp.inputs["protocol"] == "syslog-tls" and comp.inputs["min_tls_version"] == "1.3", comp.urn
    assert comp.inputs["buffer"] == "disk" and comp.inputs["retention_days"] >= 2190, comp.urn
    assert comp.inputs["verify_certificate"] is True, comp.urn
    cm = only(res, "kubernetes:core/v1:ConfigMap")
    config = yaml.safe_load(cm.inputs["data"]["fluent-bit.yaml"])
    out = config["pipeline"]["outputs"][0]
    assert (out["name"], out["mode"], out["tls.min_version"], out["tls.verify"]) == (
        "syslog",
        "tls",
        "TLSv1.3",
        "on",
    ), cm.urn
    assert all(i["storage.type"] == "filesystem" for i in config["pipeline"]["inputs"]), cm.urn
    rewrite = [f for f in config["pipeline"]["filters"] if f["name"] == "rewrite_tag"]
    assert [f["emitter_storage.type"] for f in rewrite] == ["filesystem"], cm.urn
    assert cm.inputs["metadata"]["annotations"]["phistack.io/retention-days"] == "2192", cm.urn
    ds = only(res, "kubernetes:apps/v1:DaemonSet")
    container = ds.inputs["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["--config=/fluent-bit/etc/fluent-bit.yaml"], ds.urn
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}, ds.urn
    assert all(vm.get("readOnly") for vm in container["volumeMounts"] if vm["name"] == "varlog"), ds.urn


def test_logging_forwarder_hardened_and_its_exceptions_named() -> None:
    res = declare(_logging)
    ds = only(res, "kubernetes:apps/v1:DaemonSet")
    template = ds.inputs["spec"]["template"]
    pod = template["spec"]
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, ds.urn
    assert sc["privileged"] is False and sc["capabilities"] == {"drop": ["ALL"]}, ds.urn
    assert sc["seccompProfile"] == pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, ds.urn
    assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod), ds.urn
    host_volumes = {v["name"] for v in pod["volumes"] if "hostPath" in v}
    writable = {vm["name"] for vm in container["volumeMounts"] if vm["name"] in host_volumes and not vm.get("readOnly")}
    assert writable == {"buffer"}, ds.urn
    # What stays (root, a token, hostPath) is named on the pod template, with the reason.
    prefix = "phistack.io/security-exception."
    exceptions = {
        k.removeprefix(prefix): v for k, v in template["metadata"]["annotations"].items() if k.startswith(prefix)
    }
    assert set(exceptions) == {"runAsUser", "automountServiceAccountToken", "hostPath"}, ds.urn
    assert all(why.strip() for why in exceptions.values()), ds.urn
    assert sc["runAsUser"] == 0 and pod["automountServiceAccountToken"] is True, ds.urn
    # The token is the pod's explicit choice: the service account itself mounts none.
    sa = only(res, "kubernetes:core/v1:ServiceAccount")
    assert sa.inputs["automountServiceAccountToken"] is False, sa.urn


def test_logging_audit_only_config_buffers_re_tagged_records_on_disk() -> None:
    import yaml

    res = declare(lambda: _logging(sources=["kubernetes-audit", "phistack-audit"]))
    cm = only(res, "kubernetes:core/v1:ConfigMap")
    config = yaml.safe_load(cm.inputs["data"]["fluent-bit.yaml"])
    (rewrite,) = [f for f in config["pipeline"]["filters"] if f["name"] == "rewrite_tag"]
    # The originals are dropped (false), so the emitter's buffer is the only copy: on disk.
    assert rewrite["rule"].endswith(" false") and rewrite["emitter_storage.type"] == "filesystem", cm.urn


def test_logging_weakenings_show_in_props_and_config() -> None:
    import yaml

    res = declare(
        lambda: _logging(
            min_tls_version="1.2", buffer="memory", verify_certificate=False, retention_days=30, protocol="https"
        )
    )
    comp = only(res, "phistack:logging:AuditLogShipping")
    assert (
        comp.inputs["min_tls_version"],
        comp.inputs["buffer"],
        comp.inputs["verify_certificate"],
        comp.inputs["retention_days"],
    ) == ("1.2", "memory", False, 30), comp.urn
    cm = only(res, "kubernetes:core/v1:ConfigMap")
    out = yaml.safe_load(cm.inputs["data"]["fluent-bit.yaml"])["pipeline"]["outputs"][0]
    assert (out["name"], out["tls.min_version"], out["tls.verify"]) == ("http", "TLSv1.2", "off"), cm.urn
    assert cm.inputs["metadata"]["annotations"]["phistack.io/retention-days"] == "30", cm.urn


# --- AttestedWorkload ------------------------------------------------------------------------


def _workload(**overrides: Any) -> m.AttestedWorkload:
    args: dict[str, Any] = dict(
        namespace="clinical",
        image=IMAGE,
        data_classification="phi",
        key_broker=m.KeyBroker(
            url="https://kbs.example-hospital.org", key_id="nlp-dek", attestation_policy="phistack.attestation.gpu_cc"
        ),
    )
    args.update(overrides)
    return m.AttestedWorkload("nlp", m.AttestedWorkloadArgs(**args))


def test_workload_defaults_hardened_cc_pinned() -> None:
    res = declare(_workload)
    comp = only(res, "phistack:workload:AttestedWorkload")
    assert comp.inputs["runtime_class"] == "kata-qemu-nvidia-gpu-snp", comp.urn
    assert comp.inputs["allow_unpinned_image"] is False, comp.urn
    assert comp.inputs["security"] == {
        "run_as_non_root": True,
        "run_as_user": 65532,
        "read_only_root_filesystem": True,
        "allow_privilege_escalation": False,
        "privileged": False,
        "capabilities_drop": ["ALL"],
        "capabilities_add": [],
        "seccomp_profile": "RuntimeDefault",
        "automount_service_account_token": False,
    }, comp.urn
    dep = only(res, "kubernetes:apps/v1:Deployment")
    pod = dep.inputs["spec"]["template"]["spec"]
    assert pod["runtimeClassName"] == "kata-qemu-nvidia-gpu-snp", dep.urn
    assert pod["automountServiceAccountToken"] is False, dep.urn
    c = pod["containers"][0]
    assert c["image"].endswith(DIGEST), dep.urn
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"], dep.urn
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}, dep.urn
    assert c["resources"]["limits"]["nvidia.com/gpu"] == "1" == c["resources"]["requests"]["nvidia.com/gpu"], dep.urn
    assert c["livenessProbe"]["httpGet"]["scheme"] == "HTTPS" and "readinessProbe" in c, dep.urn
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["PHISTACK_KEY_BROKER_URL"] == "https://kbs.example-hospital.org", dep.urn
    assert env["PHISTACK_DATA_CLASSIFICATION"] == "phi", dep.urn
    sa = only(res, "kubernetes:core/v1:ServiceAccount")
    assert sa.inputs["automountServiceAccountToken"] is False, sa.urn


def test_workload_job_kind_and_samd_provenance() -> None:
    prov = m.ModelProvenance(
        model_digest=DIGEST, training_data_manifest_digest=DIGEST, evaluation_report="EVAL-2026-003"
    )
    res = declare(lambda: _workload(kind="Job", samd=True, model_provenance=prov))
    job = only(res, "kubernetes:batch/v1:Job")
    pod = job.inputs["spec"]["template"]
    assert pod["spec"]["restartPolicy"] == "Never", job.urn
    assert pod["metadata"]["labels"]["phistack.io/samd"] == "true", job.urn
    env = {e["name"] for e in pod["spec"]["containers"][0]["env"]}
    assert {"PHISTACK_MODEL_DIGEST", "PHISTACK_TRAINING_DATA_MANIFEST_DIGEST"} <= env, job.urn
    comp = only(res, "phistack:workload:AttestedWorkload")
    assert comp.inputs["model_provenance"]["evaluation_report"] == "EVAL-2026-003", comp.urn


def test_workload_weakenings_show_in_props_and_pod() -> None:
    weak = m.SecuritySettings(
        run_as_non_root=False,
        run_as_user=0,
        read_only_root_filesystem=False,
        allow_privilege_escalation=True,
        privileged=True,
        capabilities_add=["SYS_ADMIN"],
        automount_service_account_token=True,
    )
    vols = [
        m.WorkloadVolume(name="scratch", mount_path="/scratch", source="emptyDir"),
        m.WorkloadVolume(name="host", mount_path="/host", source="hostPath", host_path="/data"),
    ]
    res = declare(
        lambda: _workload(
            runtime_class="runc",
            security=weak,
            volumes=vols,
            probes=None,
            image="registry.example.org/runtime:latest",
            allow_unpinned_image=True,
        )
    )
    comp = only(res, "phistack:workload:AttestedWorkload")
    assert comp.inputs["runtime_class"] == "runc" and comp.inputs["allow_unpinned_image"] is True, comp.urn
    assert comp.inputs["security"]["privileged"] is True, comp.urn
    assert [v["source"] for v in comp.inputs["volumes"]] == ["emptyDir", "hostPath"], comp.urn
    assert "probes" not in comp.inputs, comp.urn
    dep = only(res, "kubernetes:apps/v1:Deployment")
    pod = dep.inputs["spec"]["template"]["spec"]
    assert pod["runtimeClassName"] == "runc", dep.urn
    assert {"name": "scratch", "emptyDir": {}} in pod["volumes"], dep.urn
    sc = pod["containers"][0]["securityContext"]
    assert sc["privileged"] is True and sc["capabilities"]["add"] == ["SYS_ADMIN"], dep.urn
    assert "livenessProbe" not in pod["containers"][0], dep.urn


def test_workload_without_runtime_class_omits_it() -> None:
    res = declare(lambda: _workload(runtime_class=None, data_classification="none", key_broker=None))
    dep = only(res, "kubernetes:apps/v1:Deployment")
    assert "runtimeClassName" not in dep.inputs["spec"]["template"]["spec"], dep.urn
    comp = only(res, "phistack:workload:AttestedWorkload")
    assert "runtime_class" not in comp.inputs and "key_broker" not in comp.inputs, comp.urn


def test_workload_rejects_a_bad_classification() -> None:
    with pytest.raises(ValueError, match="data_classification"):
        declare(lambda: _workload(data_classification="secret"))
