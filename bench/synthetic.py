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
