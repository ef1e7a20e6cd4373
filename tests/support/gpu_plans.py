"""Plans that declare GPU node pools and nothing else: what the cost model reads, without planning a stack."""

from __future__ import annotations

from typing import Any

from stacks.spec import StackSpec

CLUSTER = "phistack:cluster:ConfidentialGpuCluster"


def cluster_plan(spec: StackSpec, stack: str = "s") -> dict[str, Any]:
    """The ConfidentialGpuCluster of ``spec`` as the planner records it (stacks/__main__.py passes each node
    pool's fields through unchanged)."""
    cluster = spec.cluster
    inputs = {"cluster_name": cluster.name, "node_pools": [pool.model_dump() for pool in cluster.node_pools]}
    urn = f"urn:pulumi:{stack}::phistack::{CLUSTER}::{cluster.name}"
    return {"stack": stack, "resources": [{"urn": urn, "type": CLUSTER, "name": cluster.name, "inputs": inputs}]}
