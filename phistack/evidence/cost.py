"""GPU cost of a stack for the evidence pack: the cost model of ``phistack cost`` (:mod:`phistack.cost`),
priced from the project's catalogue, or the GPU inventory the plan declares, unpriced, when the project keeps
no catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phistack.cost import PoolCost, StackCost, load_catalogue, pool_costs, project_catalogue

PRICED = "price catalogue of phistack cost"
UNPRICED = "GPU inventory from the plan (no price catalogue)"


@dataclass(frozen=True)
class GpuCost:
    """The cost section of a stack's evidence: the estimate and where its prices come from."""

    estimate: StackCost
    source: str = UNPRICED

    @property
    def lines(self) -> list[PoolCost]:
        """One line per node pool."""
        return self.estimate.pools

    @property
    def total_gpus(self) -> int | None:
        """GPUs declared, or None when the plan does not know them all."""
        return self.estimate.total_gpus

    @property
    def hourly(self) -> float | None:
        """Cost per hour; None when a pool is not priced, or there is nothing to price."""
        return self.estimate.hourly if self.lines else None

    @property
    def monthly(self) -> float | None:
        """Cost per month (the catalogue's hours per month); None when :attr:`hourly` is."""
        hourly = self.hourly
        return None if hourly is None else hourly * self.estimate.hours_per_month

    def to_json(self) -> dict[str, Any]:
        """The ``gpu_cost`` section of evidence.json."""
        return {
            "source": self.source,
            "currency": self.estimate.currency,
            "hours_per_month": self.estimate.hours_per_month,
            "total_gpus": self.total_gpus,
            "hourly": self.hourly,
            "monthly": self.monthly,
            "lines": [
                {
                    "pool": line.pool,
                    "gpu_model": line.gpu_model,
                    "gpus": line.gpus,
                    "price_per_gpu_hour": line.price_per_gpu_hour,
                    "hourly": line.hourly,
                }
                for line in self.lines
            ],
        }


def estimate(plan: dict[str, Any], project_root: Path) -> GpuCost:
    """The stack's GPUs (from ConfidentialGpuCluster node pools) and, where the project keeps a price catalogue,
    their cost."""
    stack = str(plan.get("stack", ""))
    path = project_catalogue(project_root)
    if path is None:
        return GpuCost(StackCost(stack, pool_costs(plan, None)))
    catalogue = load_catalogue(path)
    return GpuCost(StackCost(stack, pool_costs(plan, catalogue), catalogue.hours_per_month, catalogue.currency), PRICED)
