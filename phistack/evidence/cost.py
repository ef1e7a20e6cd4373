"""GPU cost of a stack for the evidence pack.

The price catalogue belongs to ``phistack cost`` (``phistack.cost``); this module asks it when it is
available and otherwise reports the GPU inventory the plan declares, unpriced. That is the one seam
between the two: :func:`estimate` always returns the same shape.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phistack.evidence.facts import node_pools

HOURS_PER_MONTH = 730  # 365 days × 24 h / 12, the convention cloud price sheets use


@dataclass(frozen=True)
class CostLine:
    pool: str
    gpu_model: str
    gpus: int | None
    price_per_gpu_hour: float | None = None

    @property
    def hourly(self) -> float | None:
        if self.gpus is None or self.price_per_gpu_hour is None:
            return None
        return self.gpus * self.price_per_gpu_hour


@dataclass(frozen=True)
class GpuCost:
    lines: list[CostLine] = field(default_factory=list)
    source: str = "GPU inventory from the plan (no price catalogue)"

    @property
    def total_gpus(self) -> int | None:
        counts = [line.gpus for line in self.lines]
        return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)

    @property
    def hourly(self) -> float | None:
        values = [line.hourly for line in self.lines]
        if not values or any(v is None for v in values):
            return None
        return sum(v for v in values if v is not None)

    @property
    def monthly(self) -> float | None:
        hourly = self.hourly
        return None if hourly is None else hourly * HOURS_PER_MONTH

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "total_gpus": self.total_gpus,
            "hourly_usd": self.hourly,
            "monthly_usd": self.monthly,
            "lines": [
                {
                    "pool": line.pool,
                    "gpu_model": line.gpu_model,
                    "gpus": line.gpus,
                    "price_per_gpu_hour_usd": line.price_per_gpu_hour,
                    "hourly_usd": line.hourly,
                }
                for line in self.lines
            ],
        }


def _priced_by_cost_module(plan: dict[str, Any], project_root: Path) -> GpuCost | None:
    """Prices from ``phistack.cost`` when that module offers ``price_per_gpu_hour(project_root, gpu_model)``."""
    try:
        module = importlib.import_module("phistack.cost")
    except ImportError:
        return None
    lookup = getattr(module, "price_per_gpu_hour", None)
    if not callable(lookup):
        return None
    lines = [
        CostLine(pool.name, pool.gpu_model, pool.gpus, lookup(project_root, pool.gpu_model))
        for pool in node_pools(plan)
    ]
    return GpuCost(lines=lines, source="price catalogue of phistack cost")


def estimate(plan: dict[str, Any], project_root: Path) -> GpuCost:
    """The stack's GPUs (from ConfidentialGpuCluster node pools) and, where a price catalogue exists, their cost."""
    priced = _priced_by_cost_module(plan, project_root)
    if priced is not None:
        return priced
    return GpuCost(lines=[CostLine(pool.name, pool.gpu_model, pool.gpus) for pool in node_pools(plan)])
