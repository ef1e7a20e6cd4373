"""Google Cloud outputs for the offline planner's mock monitor.

Each ``gcp:`` resource the ``gke`` backend creates comes back shaped as the Google provider returns it: its inputs
plus its resource id (``projects/<p>/locations/<l>/...``) and what Google computes (a service account's email, a
cluster's private endpoint and CA certificate, a node pool's instance groups, a log sink's writer identity).
Values are deterministic from the resource's name and inputs, so two plans of the same program are identical.
No Pulumi import: this runs inside the mock monitor.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Callable
from typing import Any

#: Project of resources whose inputs name none.
MOCK_PROJECT = "mock-project"
#: The project number every mock project reports (service agents and writer identities are built from it).
MOCK_PROJECT_NUMBER = "123456789012"
#: A PEM certificate standing in for the cluster CA (fixed and self-describing: it is no real certificate).
_MOCK_CA_PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    "TU9DSy1DTFVTVEVSLUNBLXBoaXN0YWNrLW9mZmxpbmUtcGxhbi1ub3QtYS1yZWFsLWNlcnRpZmljYXRl\n"
    "-----END CERTIFICATE-----\n"
)
#: Base64 of that PEM, as GKE returns ``masterAuth.clusterCaCertificate``.
MOCK_CLUSTER_CA = base64.b64encode(_MOCK_CA_PEM.encode()).decode()

Outputs = tuple[str, dict[str, Any]]


def _hex(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _text(value: Any, default: str) -> str:
    """A string input, or ``default`` where the input is absent or not yet known."""
    return value if isinstance(value, str) and value else default


def _project(inputs: dict[str, Any]) -> str:
    return _text(inputs.get("project"), MOCK_PROJECT)


def _name(name: str, inputs: dict[str, Any]) -> str:
    """GCP resources take explicit names; the Pulumi name stands in where none is given."""
    return _text(inputs.get("name"), name)


def _etag(*parts: str) -> str:
    return "BwY" + _hex(*parts, length=13)


def _key_ring(name: str, inputs: dict[str, Any]) -> Outputs:
    project, ring = _project(inputs), _name(name, inputs)
    location = _text(inputs.get("location"), "global")
    rid = f"projects/{project}/locations/{location}/keyRings/{ring}"
    return rid, {**inputs, "name": ring, "project": project, "location": location}


def _crypto_key(name: str, inputs: dict[str, Any]) -> Outputs:
    key = _name(name, inputs)
    ring = _text(inputs.get("keyRing"), f"projects/{MOCK_PROJECT}/locations/global/keyRings/mock")
    kid = f"{ring}/cryptoKeys/{key}"
    return kid, {**inputs, "name": key, "primary": [{"name": f"{kid}/cryptoKeyVersions/1", "state": "ENABLED"}]}


def _member(name: str, inputs: dict[str, Any], parent_key: str) -> Outputs:
    """An IAM member grant: the provider's id is ``<parent> <role> <member>``, with the policy's etag."""
    parent = _text(inputs.get(parent_key), name)
    role, member = _text(inputs.get("role"), ""), _text(inputs.get("member"), "")
    return f"{parent} {role} {member}", {**inputs, "etag": _etag(parent, role, member)}


def _account(name: str, inputs: dict[str, Any]) -> Outputs:
    project = _project(inputs)
    account_id = _text(inputs.get("accountId"), name)
    email = f"{account_id}@{project}.iam.gserviceaccount.com"
    unique_id = str(int(_hex(project, account_id, length=15), 16)).rjust(21, "1")[:21]
    rid = f"projects/{project}/serviceAccounts/{email}"
    return rid, {**inputs, "email": email, "name": rid, "uniqueId": unique_id, "member": f"serviceAccount:{email}"}


def _private_endpoint(inputs: dict[str, Any]) -> str:
    """The control plane's address in its /28 (GKE hands out the second host, .2)."""
    config = inputs.get("privateClusterConfig")
    block = config.get("masterIpv4CidrBlock") if isinstance(config, dict) else None
    try:
        return str(ipaddress.ip_network(_text(block, "172.16.0.0/28")).network_address + 2)
    except ValueError:
        return "172.16.0.2"


def _cluster(name: str, inputs: dict[str, Any]) -> Outputs:
    project, cluster = _project(inputs), _name(name, inputs)
    location = _text(inputs.get("location"), "us-central1")
    rid = f"projects/{project}/locations/{location}/clusters/{cluster}"
    private = _private_endpoint(inputs)
    config = inputs.get("privateClusterConfig")
    config = dict(config) if isinstance(config, dict) else {}
    public = f"203.0.113.{int(_hex(rid, length=2), 16) % 254 + 1}"  # TEST-NET-3: never a real address
    private_only = config.get("enablePrivateEndpoint") is True
    config.update({"privateEndpoint": private, "publicEndpoint": "" if private_only else public})
    master_auth = inputs.get("masterAuth")
    master_auth = dict(master_auth) if isinstance(master_auth, dict) else {}
    master_auth["clusterCaCertificate"] = MOCK_CLUSTER_CA
    return rid, {
        **inputs,
        "name": cluster,
        "project": project,
        "location": location,
        "endpoint": private if private_only else public,
        "privateClusterConfig": config,
        "masterAuth": master_auth,
        "selfLink": f"https://container.googleapis.com/v1/{rid}",
        "operation": "",
    }


def _node_pool(name: str, inputs: dict[str, Any]) -> Outputs:
    project, pool = _project(inputs), _name(name, inputs)
    location = _text(inputs.get("location"), "us-central1")
    cluster = _text(inputs.get("cluster"), "mock-cluster")
    if not cluster.startswith("projects/"):
        cluster = f"projects/{project}/locations/{location}/clusters/{cluster}"
    zones = inputs.get("nodeLocations")
    if not isinstance(zones, list) or not all(isinstance(z, str) for z in zones) or not zones:
        zones = [f"{location}-{suffix}" for suffix in ("a", "b", "c")]
    short = cluster.rsplit("/", 1)[-1]
    groups = [f"gke-{short}-{pool}-{_hex(cluster, pool, zone)}-grp" for zone in zones]
    base = f"https://www.googleapis.com/compute/v1/projects/{project}/zones"
    return f"{cluster}/nodePools/{pool}", {
        **inputs,
        "name": pool,
        "project": project,
        "location": location,
        "nodeLocations": zones,
        "instanceGroupUrls": [f"{base}/{z}/instanceGroupManagers/{g}" for z, g in zip(zones, groups, strict=True)],
        "managedInstanceGroupUrls": [f"{base}/{z}/instanceGroups/{g}" for z, g in zip(zones, groups, strict=True)],
        "operation": "",
    }


def _topic(name: str, inputs: dict[str, Any]) -> Outputs:
    project, topic = _project(inputs), _name(name, inputs)
    return f"projects/{project}/topics/{topic}", {**inputs, "name": topic, "project": project}


def _sink(name: str, inputs: dict[str, Any]) -> Outputs:
    project, sink = _project(inputs), _name(name, inputs)
    # Sinks with a unique writer identity write as the project's Logging service agent.
    writer = f"serviceAccount:service-{MOCK_PROJECT_NUMBER}@gcp-sa-logging.iam.gserviceaccount.com"
    return f"projects/{project}/sinks/{sink}", {**inputs, "name": sink, "project": project, "writerIdentity": writer}


_SHAPERS: dict[str, Callable[[str, dict[str, Any]], Outputs]] = {
    "gcp:kms/keyRing:KeyRing": _key_ring,
    "gcp:kms/cryptoKey:CryptoKey": _crypto_key,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": lambda n, i: _member(n, i, "cryptoKeyId"),
    "gcp:serviceaccount/account:Account": _account,
    "gcp:projects/iAMMember:IAMMember": lambda n, i: _member(n, i, "project"),
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:container/nodePool:NodePool": _node_pool,
    "gcp:pubsub/topic:Topic": _topic,
    "gcp:pubsub/topicIAMMember:TopicIAMMember": lambda n, i: _member(n, i, "topic"),
    "gcp:logging/projectSink:ProjectSink": _sink,
}


def outputs(type_: str, name: str, inputs: dict[str, Any]) -> Outputs | None:
    """The id and outputs of a new ``gcp:`` resource, or None for a type of another cloud."""
    if not type_.startswith("gcp:"):
        return None
    shaper = _SHAPERS.get(type_)
    if shaper is None:
        return f"{name}-id", dict(inputs)
    return shaper(name, inputs)


def call_result(token: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """The result of a Google provider function the backends invoke, or None for another token."""
    if token != "gcp:organizations/getProject:getProject":
        return None
    project = _text(args.get("projectId"), MOCK_PROJECT)
    return {"id": f"projects/{project}", "number": MOCK_PROJECT_NUMBER, "projectId": project, "name": project}
