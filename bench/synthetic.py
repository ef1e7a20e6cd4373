"""Synthetic plans for benchmarks: a reference stack's resources cloned until the plan has N resources.

Clones keep the structure the rules look at (types, inputs, parents, dependencies) and get distinct
urns and names, with their dependency edges renamed consistently, so the policies do real work.
"""

from __future__ import annotations

import copy
import json
from typing import Any


def _rename(urn: str, suffix: str) -> str:
    return f"{urn}-{suffix}"


def scale_plan(plan: dict[str, Any], target: int) -> dict[str, Any]:
    """Return a copy of ``plan`` with about ``target`` resources (whole copies of the original set)."""
    base = plan["resources"]
    copies = max(1, -(-target // len(base)))
    resources: list[dict[str, Any]] = []
    for index in range(copies):
        suffix = f"c{index}"
        text = json.dumps(base)
        for resource in base:
            text = text.replace(json.dumps(resource["urn"]), json.dumps(_rename(resource["urn"], suffix)))
        clones = json.loads(text)
        for clone in clones:
            clone["name"] = f"{clone['name']}-{suffix}"
        resources.extend(clones)
    scaled = copy.deepcopy({**plan, "resources": resources[:target]})
    return scaled


def with_companions(plan: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``plan`` in which every Deployment has the objects real workloads bring along: a ConfigMap it
    loads with ``envFrom``, a PersistentVolumeClaim it mounts and a Service in front of it, each in its
    namespace. Rules that look these up per workload do work that grows with their number; the claims name a
    StorageClass the plan lacks, so the gate denies them (PHI-VOL-001), which costs what findings cost."""
    document = copy.deepcopy(plan)
    added: list[dict[str, Any]] = []
    for resource in document["resources"]:
        if resource["type"] != "kubernetes:apps/v1:Deployment":
            continue
        metadata = resource["inputs"]["metadata"]
        name, namespace = metadata["name"], metadata["namespace"]
        spec = resource["inputs"]["spec"]["template"]["spec"]
        spec["containers"][0]["envFrom"] = [{"configMapRef": {"name": f"{name}-config"}}]
        spec["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": f"{name}-data"}}]
        objects = {
            "ConfigMap": {"data": {"MODEL_NAME": "bert-base", "BATCH_SIZE": "8"}, "name": f"{name}-config"},
            "PersistentVolumeClaim": {
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "encrypted-phi",
                    "resources": {"requests": {"storage": "10Gi"}},
                },
                "name": f"{name}-data",
            },
            "Service": {
                "spec": {"selector": {"app.kubernetes.io/name": name}, "ports": [{"port": 8443}]},
                "name": name,
            },
        }
        for kind, body in objects.items():
            type_ = f"kubernetes:core/v1:{kind}"
            inputs = {"apiVersion": "v1", "kind": kind, "metadata": {"name": body.pop("name"), "namespace": namespace}}
            added.append({
                "urn": f"{resource['parent']}${type_}::{name}-{kind.lower()}",
                "type": type_,
                "name": f"{name}-{kind.lower()}",
                "custom": True,
                "parent": resource["parent"],
                "provider": None,
                "inputs": {**inputs, **body},
                "unknowns": [],
                "dependencies": [],
                "property_dependencies": {},
            })  # fmt: skip
    document["resources"].extend(added)
    return document


def with_gpu_pools(plan: dict[str, Any], pools: int) -> dict[str, Any]:
    """A copy of ``plan`` whose GPU clusters declare ``pools`` node pools of the first pool's hardware, each
    with its own label and the GPU taint: PHI-GPU-001 then works out, for every workload, which pools it can
    land on."""
    document = copy.deepcopy(plan)
    for resource in document["resources"]:
        if resource["type"] != "phistack:cluster:ConfidentialGpuCluster":
            continue
        first = resource["inputs"]["node_pools"][0]
        resource["inputs"]["node_pools"] = [
            {
                **first,
                "name": f"pool-{index}",
                "labels": {"pool": f"pool-{index}"},
                "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
            }
            for index in range(pools)
        ]
    return document
