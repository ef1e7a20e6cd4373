"""The ``gke`` backend of ConfidentialGpuCluster: each secure default in the cloud resources' plan inputs, each
weakening visible there, and the errors for settings it cannot build.

The SDK's mock monitor records every registration; outputs come from phistack.plan.mock_outputs, shaped as the
Google provider returns them, so inputs built from other resources' outputs (a key's id) read as in a real plan.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from phistack.plan import mock_gcp
from tests.support.cloud_mocks import CloudMocks, Registered, declare, every, only

pulumi.runtime.set_mocks(CloudMocks(), preview=True)

import modules as m  # noqa: E402  (mocks must be registered before the components are imported)
from modules.cloud import AuthorizedNetwork, CloudNodePool, GkeSettings  # noqa: E402

CLUSTER = "phi-gpu"
PROJECT = "hospital-phi-prod"
REGION = "us-central1"
TOPIC_PREFIX = "pubsub.googleapis.com/projects/"


def named(resources: list[Registered], type_: str, name: str) -> Registered:
    found = [r for r in every(resources, type_) if r.state.get("name") == name]
    assert len(found) == 1, f"expected one {type_} named {name}, got {[r.urn for r in found]}"
    return found[0]


def gke(**overrides: Any) -> GkeSettings:
    fields: dict[str, Any] = dict(
        project=PROJECT,
        region=REGION,
        node_locations=["us-central1-a"],
        network="phi-vpc",
        subnetwork="phi-nodes",
        master_authorized_networks=[AuthorizedNetwork(cidr="10.20.0.0/16", name="ops-bastion")],
    )
    fields.update(overrides)
    return GkeSettings(**fields)


def cluster(
    settings_: GkeSettings | None = None, pools: list[CloudNodePool] | None = None, **overrides: Any
) -> m.ConfidentialGpuCluster:
    args: dict[str, Any] = dict(
        cluster_name=CLUSTER,
        cc_mode="tdx",
        namespaces=[m.NamespaceSpec(name="clinical", data_classification="phi")],
        node_pools=[],
        backend="gke",
        gke=settings_ if settings_ is not None else gke(),
        cloud_node_pools=pools if pools is not None else [CloudNodePool(name="h100", machine_type="a3-highgpu-1g")],
    )
    args.update(overrides)
    return m.ConfidentialGpuCluster("c", m.ConfidentialGpuClusterArgs(**args))


@pytest.fixture(scope="module")
def secure() -> list[Registered]:
    return declare(cluster)


def _cluster(res: list[Registered]) -> Registered:
    return only(res, "gcp:container/cluster:Cluster")


def _gpu_pool(res: list[Registered], name: str = "h100") -> Registered:
    return named(res, "gcp:container/nodePool:NodePool", name)


# --- secure defaults ---------------------------------------------------------------------------------------


def test_cluster_is_private_regional_and_vpc_native(secure: list[Registered]) -> None:
    c = _cluster(secure)
    s = c.state
    assert s["location"] == REGION and s["project"] == PROJECT, c.urn
    assert s["privateClusterConfig"]["enablePrivateNodes"] is True, c.urn
    assert s["privateClusterConfig"]["enablePrivateEndpoint"] is True, c.urn
    assert s["privateClusterConfig"]["masterIpv4CidrBlock"] == "172.16.0.0/28", c.urn
    networks = s["masterAuthorizedNetworksConfig"]
    assert networks["cidrBlocks"] == [{"cidrBlock": "10.20.0.0/16", "displayName": "ops-bastion"}], c.urn
    assert networks["gcpPublicCidrsAccessEnabled"] is False, c.urn
    assert (s["networkingMode"], s["ipAllocationPolicy"]) == ("VPC_NATIVE", {}), c.urn
    assert (s["network"], s["subnetwork"]) == ("phi-vpc", "phi-nodes"), c.urn
    assert s["datapathProvider"] == "ADVANCED_DATAPATH", c.urn  # enforces the NetworkPolicies
    assert s["endpoint"] == "172.16.0.2", c.urn  # the private endpoint, from the mock


def test_cluster_identity_encryption_and_hardening(secure: list[Registered]) -> None:
    c = _cluster(secure)
    s = c.state
    secrets_key = named(secure, "gcp:kms/cryptoKey:CryptoKey", f"{CLUSTER}-secrets")
    assert secrets_key.id == f"projects/{PROJECT}/locations/{REGION}/keyRings/phistack/cryptoKeys/{CLUSTER}-secrets"
    assert s["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": secrets_key.id}, c.urn
    assert s["workloadIdentityConfig"] == {"workloadPool": f"{PROJECT}.svc.id.goog"}, c.urn
    assert s["enableLegacyAbac"] is False, c.urn
    assert s["masterAuth"]["clientCertificateConfig"] == {"issueClientCertificate": False}, c.urn
    assert s["enableShieldedNodes"] is True and s["deletionProtection"] is True, c.urn
    assert (s["removeDefaultNodePool"], s["initialNodeCount"]) == (True, 1), c.urn
    assert s["releaseChannel"] == {"channel": "REGULAR"}, c.urn
    assert s["loggingConfig"] == {"enableComponents": ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"]}, c.urn
    assert s["binaryAuthorization"] == {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}, c.urn
    assert "confidentialNodes" not in s and "nodeConfig" not in s, c.urn


def test_keys_are_hsm_rotated_and_granted_to_the_service_agents(secure: list[Registered]) -> None:
    ring = only(secure, "gcp:kms/keyRing:KeyRing")
    assert ring.state == {"name": "phistack", "location": REGION, "project": PROJECT}, ring.urn
    keys = every(secure, "gcp:kms/cryptoKey:CryptoKey")
    assert sorted(k.state["name"] for k in keys) == [f"{CLUSTER}-{k}" for k in ("audit", "disks", "secrets")]
    for key in keys:
        assert key.state["keyRing"] == ring.id, key.urn
        assert key.state["purpose"] == "ENCRYPT_DECRYPT", key.urn
        assert key.state["rotationPeriod"] == "7776000s", key.urn
        assert key.state["versionTemplate"]["protectionLevel"] == "HSM", key.urn
    grants = {g.state["cryptoKeyId"]: g.state for g in every(secure, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")}
    agent = "serviceAccount:service-" + mock_gcp.MOCK_PROJECT_NUMBER
    by_key = {k.state["name"]: k.id for k in keys}
    assert grants[by_key[f"{CLUSTER}-secrets"]]["member"] == f"{agent}@container-engine-robot.iam.gserviceaccount.com"
    assert grants[by_key[f"{CLUSTER}-disks"]]["member"] == f"{agent}@compute-system.iam.gserviceaccount.com"
    assert grants[by_key[f"{CLUSTER}-audit"]]["member"] == f"{agent}@gcp-sa-pubsub.iam.gserviceaccount.com"
    assert {g["role"] for g in grants.values()} == {"roles/cloudkms.cryptoKeyEncrypterDecrypter"}


def test_every_pool_has_cmek_boot_disk_shielded_nodes_and_the_node_account(secure: list[Registered]) -> None:
    disk_key = named(secure, "gcp:kms/cryptoKey:CryptoKey", f"{CLUSTER}-disks")
    account = only(secure, "gcp:serviceaccount/account:Account")
    assert account.state["email"] == f"{CLUSTER}-nodes@{PROJECT}.iam.gserviceaccount.com", account.urn
    pools = every(secure, "gcp:container/nodePool:NodePool")
    assert sorted(p.state["name"] for p in pools) == ["h100", "system"]
    for pool in pools:
        config = pool.state["nodeConfig"]
        assert pool.state["cluster"] == _cluster(secure).id, pool.urn
        assert config["bootDiskKmsKey"] == disk_key.id, pool.urn
        assert config["serviceAccount"] == account.state["email"], pool.urn
        assert config["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"], pool.urn
        assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
        assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}, pool.urn
        assert pool.state["management"] == {"autoRepair": True, "autoUpgrade": True}, pool.urn
    roles = {g.state["role"] for g in every(secure, "gcp:projects/iAMMember:IAMMember")}
    assert roles == {"roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader"}


def test_gpu_pool_is_a_confidential_tdx_h100_pool_with_label_and_taint(secure: list[Registered]) -> None:
    pool = _gpu_pool(secure)
    config = pool.state["nodeConfig"]
    assert pool.state["nodeLocations"] == ["us-central1-a"] and pool.state["nodeCount"] == 1, pool.urn
    assert config["machineType"] == "a3-highgpu-1g", pool.urn
    assert config["confidentialNodes"] == {"enabled": True, "confidentialInstanceType": "TDX"}, pool.urn
    assert config["guestAccelerators"] == [
        {
            "type": "nvidia-h100-80gb",
            "count": 1,
            "gpuDriverInstallationConfig": {"gpuDriverVersion": "INSTALLATION_DISABLED"},
        }
    ], pool.urn
    assert config["spot"] is True, pool.urn
    assert config["labels"] == {"phistack.io/confidential-gpu": "true", "phistack.io/node-pool": "h100"}, pool.urn
    assert config["taints"] == [{"key": "phistack.io/confidential-gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    system = named(secure, "gcp:container/nodePool:NodePool", "system")
    assert "confidentialNodes" not in system.state["nodeConfig"], system.urn
    assert system.state["nodeConfig"]["machineType"] == "e2-standard-4", system.urn


def test_audit_logs_route_to_a_cmek_topic(secure: list[Registered]) -> None:
    topic = only(secure, "gcp:pubsub/topic:Topic")
    audit_key = named(secure, "gcp:kms/cryptoKey:CryptoKey", f"{CLUSTER}-audit")
    assert topic.id == f"projects/{PROJECT}/topics/phistack-audit", topic.urn
    assert topic.state["kmsKeyName"] == audit_key.id, topic.urn
    assert topic.state["messageStoragePolicy"] == {"allowedPersistenceRegions": [REGION]}, topic.urn
    sink = only(secure, "gcp:logging/projectSink:ProjectSink")
    assert sink.state["destination"] == f"{TOPIC_PREFIX}{PROJECT}/topics/phistack-audit", sink.urn
    assert sink.state["uniqueWriterIdentity"] is True, sink.urn
    for part in ('resource.type="k8s_cluster"', f'resource.labels.cluster_name="{CLUSTER}"', "cloudaudit.googleapis"):
        assert part in sink.state["filter"], sink.urn
    comp = only(secure, "phistack:cluster:ConfidentialGpuCluster")
    assert comp.state["gke"]["audit_log_topic"] == "phistack-audit", comp.urn
    publisher = only(secure, "gcp:pubsub/topicIAMMember:TopicIAMMember")
    assert publisher.state["role"] == "roles/pubsub.publisher", publisher.urn
    assert publisher.state["member"] == sink.state["writerIdentity"], publisher.urn
    assert publisher.state["member"].endswith("@gcp-sa-logging.iam.gserviceaccount.com"), publisher.urn


def test_kubernetes_objects_go_through_the_new_cluster_provider(secure: list[Registered]) -> None:
    provider = only(secure, "pulumi:providers:kubernetes")
    kubeconfig = json.loads(provider.state["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://172.16.0.2", provider.urn
    assert kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"] == mock_gcp.MOCK_CLUSTER_CA
    user = kubeconfig["users"][0]["user"]
    assert set(user) == {"exec"}, provider.urn  # no token, no client certificate
    assert user["exec"]["command"] == "gke-gcloud-auth-plugin", provider.urn
    kube = [r for r in secure if r.type.startswith("kubernetes:")]
    assert {r.type for r in kube} >= {"kubernetes:core/v1:Namespace", "kubernetes:networking.k8s.io/v1:NetworkPolicy"}
    for r in kube:
        assert r.provider.startswith(provider.urn + "::"), r.urn
    assert all(
        r.urn.split("::")[2].startswith("phistack:cluster:ConfidentialGpuCluster$")
        for r in secure
        if r.type.startswith("gcp:")
    )


# --- weakenings, each visible in the plan ------------------------------------------------------------------


def test_public_endpoint_is_visible() -> None:
    res = declare(lambda: cluster(gke(private_endpoint=False)))
    c = _cluster(res)
    assert c.state["privateClusterConfig"]["enablePrivateEndpoint"] is False, c.urn
    assert c.state["privateClusterConfig"]["enablePrivateNodes"] is True, c.urn
    assert c.state["endpoint"].startswith("203.0.113."), c.urn  # the public endpoint answers the kubeconfig


def test_non_confidential_pool_is_visible_and_carries_no_label_or_taint() -> None:
    res = declare(
        lambda: cluster(pools=[CloudNodePool(name="plain", machine_type="a3-highgpu-1g", confidential=False)])
    )
    config = _gpu_pool(res, "plain").state["nodeConfig"]
    assert config["confidentialNodes"] == {"enabled": False}
    assert config["labels"] == {"phistack.io/node-pool": "plain"}
    assert "taints" not in config
    assert config["guestAccelerators"][0]["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "DEFAULT"}


def test_no_audit_topic_routes_nothing() -> None:
    res = declare(lambda: cluster(gke(audit_log_topic=None)))
    for type_ in (
        "gcp:pubsub/topic:Topic",
        "gcp:logging/projectSink:ProjectSink",
        "gcp:pubsub/topicIAMMember:TopicIAMMember",
    ):
        assert every(res, type_) == [], type_
    assert [k.state["name"] for k in every(res, "gcp:kms/cryptoKey:CryptoKey")] != []
    assert f"{CLUSTER}-audit" not in {k.state["name"] for k in every(res, "gcp:kms/cryptoKey:CryptoKey")}
    # The component's props drop the None (the mock monitor, like the engine, omits null properties).
    comp = only(res, "phistack:cluster:ConfidentialGpuCluster")
    assert comp.state["gke"].get("audit_log_topic") is None, comp.urn


# --- settings the backend cannot build ---------------------------------------------------------------------


def test_unknown_machine_type_is_refused() -> None:
    with pytest.raises(ValueError, match=r"cloud_node_pools\[x\]\.machine_type 'n1-standard-8' is not a GKE GPU"):
        declare(lambda: cluster(pools=[CloudNodePool(name="x", machine_type="n1-standard-8")]))


def test_missing_gke_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="backend 'gke' needs gke settings"):
        declare(
            lambda: m.ConfidentialGpuCluster(
                "c",
                m.ConfidentialGpuClusterArgs(
                    cluster_name=CLUSTER,
                    cc_mode="tdx",
                    namespaces=[],
                    node_pools=[],
                    backend="gke",
                    cloud_node_pools=[CloudNodePool(name="h100", machine_type="a3-highgpu-1g")],
                ),
            )
        )


def test_no_cloud_node_pools_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one entry in cloud_node_pools"):
        declare(lambda: cluster(pools=[]))


def test_confidential_pool_on_a_machine_without_confidential_gpus_is_refused() -> None:
    with pytest.raises(ValueError, match="no confidential GPU node on 'a3-highgpu-8g'"):
        declare(lambda: cluster(pools=[CloudNodePool(name="big", machine_type="a3-highgpu-8g")]))


def test_snp_cc_mode_contradicts_gke_tdx_nodes() -> None:
    with pytest.raises(ValueError, match=r"cc_mode 'snp' asks for SEV_SNP.*set cc_mode to 'tdx'"):
        declare(lambda: cluster(cc_mode="snp"))


# --- the mock itself ---------------------------------------------------------------------------------------


def test_mock_answers_only_gcp_types_and_the_project_invoke() -> None:
    assert mock_gcp.outputs("azure-native:resources:ResourceGroup", "rg", {}) is None
    assert mock_gcp.call_result("azure-native:authorization:getClientConfig", {}) is None
    project = mock_gcp.call_result("gcp:organizations/getProject:getProject", {"projectId": "p"})
    assert project == {"id": "projects/p", "number": "123456789012", "projectId": "p", "name": "p"}
    rid, out = mock_gcp.outputs(
        "gcp:container/cluster:Cluster",
        "c",
        {
            "name": "k",
            "location": "europe-west4",
            "privateClusterConfig": {"enablePrivateEndpoint": True, "masterIpv4CidrBlock": "10.9.8.16/28"},
        },
    ) or ("", {})
    assert rid == "projects/mock-project/locations/europe-west4/clusters/k"
    assert out["endpoint"] == "10.9.8.18" and out["selfLink"].endswith(rid)
