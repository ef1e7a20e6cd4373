"""Finding what to weaken in a plan by resource type and property path, and editing plans as a program would.

Nothing here looks a resource up by its name or urn: targets are found by type and by what their
properties say (the pod workload whose template is classified phi or genetic, the ConfigMap the
log-forwarder DaemonSet mounts), so the operators keep working when a stack renames resources.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import yaml

from runtime.classification import SENSITIVE

Plan = dict[str, Any]
Resource = dict[str, Any]

UNKNOWN: dict[str, bool] = {"__unknown__": True}
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}

CLASS_LABEL = "phistack.io/data-classification"
FLUENT_BIT_KEY = "fluent-bit.yaml"
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"

T_STACK = "pulumi:pulumi:Stack"
T_NAMESPACE = "kubernetes:core/v1:Namespace"
T_CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
T_PVC = "kubernetes:core/v1:PersistentVolumeClaim"
T_SERVICE = "kubernetes:core/v1:Service"
T_DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
T_NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
T_RUNTIME_CLASS = "kubernetes:node.k8s.io/v1:RuntimeClass"
T_STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
T_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
T_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
T_CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
T_GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
T_CLIENT_TRAFFIC_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy"
T_CLUSTER = "phistack:cluster:ConfidentialGpuCluster"
T_LOG_SHIPPING = "phistack:logging:AuditLogShipping"
T_PROVIDER = "phistack:provider:ProviderProfile"
T_WORKLOAD = "phistack:workload:AttestedWorkload"


class NoTarget(LookupError):
    """An operator found nothing to weaken in a plan: the test fails (it is not skipped)."""


# --- finding targets by type and property path ------------------------------------------------------


def of_type(plan: Plan, type_: str) -> list[Resource]:
    return [r for r in plan["resources"] if r["type"] == type_]


def one(found: list[Resource], what: str) -> Resource:
    if not found:
        raise NoTarget(f"no {what} in the plan")
    return found[0]


def name_of(r: Resource) -> str:
    return str(r["inputs"].get("metadata", {}).get("name", r["name"]))


def namespace_of(r: Resource) -> str:
    return str(r["inputs"].get("metadata", {}).get("namespace", "default"))


def pod_spec(r: Resource) -> dict[str, Any]:
    node: Any = r["inputs"]
    for key in POD_SPEC_PATHS[r["type"]]:
        node = node[key]
    assert isinstance(node, dict)
    return node


def template_metadata(r: Resource) -> dict[str, Any]:
    node: Any = r["inputs"]
    for key in POD_SPEC_PATHS[r["type"]][:-1]:
        node = node[key]
    return node.setdefault("metadata", {})


def phi_workload(plan: Plan) -> Resource:
    """The first pod workload whose pod template is classified phi or genetic."""
    return one(
        [
            r
            for r in plan["resources"]
            if r["type"] in POD_SPEC_PATHS and template_metadata(r).get("labels", {}).get(CLASS_LABEL) in SENSITIVE
        ],
        "pod workload whose template is classified phi or genetic",
    )


def phi_pod(plan: Plan) -> dict[str, Any]:
    return pod_spec(phi_workload(plan))


def phi_container(plan: Plan) -> dict[str, Any]:
    containers = phi_pod(plan).get("containers") or []
    if not containers:
        raise NoTarget("the PHI pod has no containers")
    return containers[0]


def phi_namespace(plan: Plan) -> str:
    return namespace_of(phi_workload(plan))


def namespace_resource(plan: Plan, name: str) -> Resource:
    return one([r for r in of_type(plan, T_NAMESPACE) if name_of(r) == name], f"Namespace {name}")


def in_namespace(plan: Plan, type_: str, namespace: str) -> list[Resource]:
    return [r for r in of_type(plan, type_) if namespace_of(r) == namespace]


def config_map(plan: Plan, namespace: str, name: str) -> Resource | None:
    found = [r for r in in_namespace(plan, T_CONFIG_MAP, namespace) if name_of(r) == name]
    return found[0] if found else None


def forwarder(plan: Plan) -> tuple[Resource, Resource]:
    """The log-forwarder DaemonSet and the ConfigMap it mounts that holds the fluent-bit YAML config."""
    for ds in of_type(plan, T_DAEMON_SET):
        for volume in pod_spec(ds).get("volumes", []):
            ref = volume.get("configMap", {}).get("name")
            cm = config_map(plan, namespace_of(ds), ref) if isinstance(ref, str) else None
            if cm is not None and FLUENT_BIT_KEY in cm["inputs"].get("data", {}):
                return ds, cm
    raise NoTarget(f"no DaemonSet mounting a ConfigMap with {FLUENT_BIT_KEY}")


def forwarder_daemon_set(plan: Plan) -> Resource:
    return forwarder(plan)[0]


def forwarder_config_map(plan: Plan) -> Resource:
    return forwarder(plan)[1]


def forwarder_config_volume(plan: Plan) -> dict[str, Any]:
    ds, cm = forwarder(plan)
    for volume in pod_spec(ds)["volumes"]:
        if volume.get("configMap", {}).get("name") == name_of(cm):
            return volume
    raise NoTarget("the forwarder's config volume")


def edit_fluent_bit(plan: Plan, edit: Callable[[dict[str, Any]], None]) -> None:
    """Parse the forwarder's YAML config, apply ``edit`` and write it back."""
    cm = forwarder_config_map(plan)
    doc = yaml.safe_load(cm["inputs"]["data"][FLUENT_BIT_KEY])
    edit(doc)
    cm["inputs"]["data"][FLUENT_BIT_KEY] = yaml.safe_dump(doc, sort_keys=False)


def siem_output(doc: dict[str, Any]) -> dict[str, Any]:
    """The pipeline output that ships to a network host (the SIEM)."""
    for output in doc.get("pipeline", {}).get("outputs", []):
        if "host" in output:
            return output
    raise NoTarget("no fluent-bit output with a host")


def inputs_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = doc.get("pipeline", {}).get("inputs", [])
    if not found:
        raise NoTarget("no fluent-bit inputs")
    return found


def component(plan: Plan, type_: str) -> Resource:
    return one(of_type(plan, type_), type_)


def runtime_class(plan: Plan) -> Resource:
    wanted = phi_pod(plan).get("runtimeClassName")
    return one([r for r in of_type(plan, T_RUNTIME_CLASS) if name_of(r) == wanted], f"RuntimeClass {wanted}")


def phi_claim(plan: Plan) -> Resource:
    """The PersistentVolumeClaim that the PHI pod mounts."""
    namespace = phi_namespace(plan)
    for volume in phi_pod(plan).get("volumes", []):
        claim = volume.get("persistentVolumeClaim", {}).get("claimName")
        for pvc in in_namespace(plan, T_PVC, namespace):
            if name_of(pvc) == claim:
                return pvc
    raise NoTarget("no PersistentVolumeClaim mounted by the PHI pod")


def storage_class(plan: Plan) -> Resource:
    wanted = phi_claim(plan)["inputs"]["spec"]["storageClassName"]
    return one([r for r in of_type(plan, T_STORAGE_CLASS) if name_of(r) == wanted], f"StorageClass {wanted}")


def default_deny(plan: Plan) -> Resource:
    """The NetworkPolicy of the PHI namespace that selects every pod, denies egress and allows nothing."""
    return one(
        [
            np
            for np in in_namespace(plan, T_NETWORK_POLICY, phi_namespace(plan))
            if np["inputs"]["spec"].get("podSelector") == {}
            and "Egress" in np["inputs"]["spec"].get("policyTypes", [])
            and not np["inputs"]["spec"].get("egress")
            and not np["inputs"]["spec"].get("ingress")
        ],
        "default-deny NetworkPolicy in the PHI namespace",
    )


def ip_allow(plan: Plan) -> dict[str, Any]:
    """The first ipBlock peer of an egress allow in the PHI namespace (the key broker or the SIEM)."""
    for np in in_namespace(plan, T_NETWORK_POLICY, phi_namespace(plan)):
        for rule in np["inputs"]["spec"].get("egress", []):
            for peer in rule.get("to", []):
                if "ipBlock" in peer:
                    return peer["ipBlock"]
    raise NoTarget("no egress ipBlock allow in the PHI namespace")


def phi_role_binding(plan: Plan) -> Resource:
    return one(in_namespace(plan, T_ROLE_BINDING, phi_namespace(plan)), "RoleBinding in the PHI namespace")


def phi_role(plan: Plan) -> Resource:
    return one(in_namespace(plan, T_ROLE, phi_namespace(plan)), "Role in the PHI namespace")


def gateway(plan: Plan) -> Resource:
    return one(of_type(plan, T_GATEWAY), "Gateway")


def client_traffic_policy(plan: Plan) -> Resource:
    """The ClientTrafficPolicy that targets the Gateway."""
    gw = gateway(plan)
    return one(
        [
            p
            for p in in_namespace(plan, T_CLIENT_TRAFFIC_POLICY, namespace_of(gw))
            if any(
                ref.get("kind") == "Gateway" and ref.get("name") == name_of(gw)
                for ref in p["inputs"]["spec"].get("targetRefs", [])
            )
        ],
        "ClientTrafficPolicy targeting the Gateway",
    )


def exposed_service(plan: Plan) -> Resource:
    """The Service in the PHI namespace whose selector matches the PHI pod's labels."""
    labels = template_metadata(phi_workload(plan)).get("labels", {})
    return one(
        [
            s
            for s in in_namespace(plan, T_SERVICE, phi_namespace(plan))
            if s["inputs"]["spec"].get("selector")
            and all(labels.get(k) == v for k, v in s["inputs"]["spec"]["selector"].items())
        ],
        "Service selecting the PHI pod",
    )


def attested_workload(plan: Plan, classes: set[str]) -> Resource:
    return one(
        [w for w in of_type(plan, T_WORKLOAD) if w["inputs"].get("data_classification") in classes],
        f"AttestedWorkload classified {sorted(classes)}",
    )


def samd_workload(plan: Plan) -> Resource:
    return one([w for w in of_type(plan, T_WORKLOAD) if w["inputs"].get("samd") is True], "SaMD AttestedWorkload")


# --- editing ------------------------------------------------------------------------------------------


def stack_resource(plan: Plan) -> Resource:
    return component(plan, T_STACK)


def add_resource(plan: Plan, type_: str, name: str, inputs: dict[str, Any], parent: Resource | None = None) -> Resource:
    """Declare a new resource as a child of ``parent`` (default: the stack), as a program would."""
    parent = parent or stack_resource(plan)
    head, project, qualified_type, _ = parent["urn"].split("::", 3)
    resource = {
        "urn": f"{head}::{project}::{qualified_type}${type_}::{name}",
        "type": type_,
        "name": name,
        "custom": not type_.startswith("phistack:"),
        "parent": parent["urn"],
        "provider": None,
        "dependencies": [],
        "property_dependencies": {},
        "inputs": inputs,
        "unknowns": [],
    }
    plan["resources"].append(resource)
    return resource


def remove_resources(plan: Plan, doomed: list[Resource]) -> None:
    """Delete resources (and their descendants) and every reference to them."""
    urns = {r["urn"] for r in doomed}
    grew = True
    while grew:
        children = {r["urn"] for r in plan["resources"] if r.get("parent") in urns}
        grew = not children <= urns
        urns |= children
    plan["resources"] = [r for r in plan["resources"] if r["urn"] not in urns]
    for r in plan["resources"]:
        r["dependencies"] = [u for u in r["dependencies"] if u not in urns]
        r["property_dependencies"] = {
            k: kept for k, v in r["property_dependencies"].items() if (kept := [u for u in v if u not in urns])
        }


def mark_unknown(r: Resource, path: list[str | int]) -> None:
    """Make the value at ``path`` (in the resource's inputs) unknown at plan time and record its path."""
    node: Any = r["inputs"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = dict(UNKNOWN)
    dotted = ""
    for key in path:
        if isinstance(key, int):
            dotted += f"[{key}]"
        elif "." in key or "[" in key or "/" in key:
            dotted += f'["{key}"]'
        else:
            dotted += f".{key}" if dotted else key
    r["unknowns"] = sorted({*r["unknowns"], dotted})


def set_env(container: dict[str, Any], name: str, value: str) -> None:
    """Append an env entry (a list may repeat a name: the last one wins in Kubernetes)."""
    container.setdefault("env", []).append({"name": name, "value": value})


def env_entry(container: dict[str, Any], name: str) -> dict[str, Any]:
    for entry in container.get("env", []):
        if entry.get("name") == name:
            return entry
    raise NoTarget(f"no env entry {name}")


def drop_env(container: dict[str, Any], name: str) -> None:
    env_entry(container, name)
    container["env"] = [e for e in container["env"] if e.get("name") != name]


def mount(plan: Plan, volume: dict[str, Any], path: str = "/scratch") -> None:
    """Add a volume to the PHI pod and mount it into its first container."""
    pod = phi_pod(plan)
    pod.setdefault("volumes", []).append(volume)
    phi_container(plan).setdefault("volumeMounts", []).append({"name": volume["name"], "mountPath": path})


def restricted_container(plan: Plan, name: str, image: str | None = None) -> dict[str, Any]:
    """A container shaped like the PHI container (pinned image, restricted securityContext)."""
    base = phi_container(plan)
    return {
        "name": name,
        "image": image or base["image"],
        "securityContext": copy.deepcopy(base.get("securityContext", {})),
    }


def k8s(kind: str, api_version: str, name: str, namespace: str | None = None, **fields: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/managed-by": "phistack"}}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def add_network_policy(plan: Plan, name: str, spec: dict[str, Any]) -> None:
    ns = phi_namespace(plan)
    add_resource(plan, T_NETWORK_POLICY, name, k8s("NetworkPolicy", "networking.k8s.io/v1", name, ns, spec=spec))


def add_egress_policy(plan: Plan, name: str, peers: list[dict[str, Any]] | None, ports: bool = False) -> None:
    rule: dict[str, Any] = {}
    if peers is not None:
        rule["to"] = peers
    if ports:
        rule["ports"] = [{"port": 443, "protocol": "TCP"}]
    add_network_policy(plan, name, {"podSelector": {}, "policyTypes": ["Egress"], "egress": [rule]})


def add_binding(
    plan: Plan,
    kind: str,
    name: str,
    role_kind: str,
    role: str,
    subjects: list[dict[str, Any]],
    namespace: str | None = None,
) -> None:
    type_ = T_CLUSTER_ROLE_BINDING if kind == "ClusterRoleBinding" else T_ROLE_BINDING
    inputs = k8s(
        kind,
        "rbac.authorization.k8s.io/v1",
        name,
        namespace,
        roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        subjects=subjects,
    )
    add_resource(plan, type_, name, inputs)


def group(name: str) -> dict[str, Any]:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name}


def user(name: str) -> dict[str, Any]:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}


def every_pool(plan: Plan) -> list[dict[str, Any]]:
    pools = component(plan, T_CLUSTER)["inputs"].get("node_pools") or []
    if not pools:
        raise NoTarget("no node pools")
    return pools
