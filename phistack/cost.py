"""GPU cost estimates from a price catalogue kept as data (``stacks/prices.yaml``).

Prices only: whether a GPU model has NVIDIA Confidential Computing comes from the hardware catalogue
(``policies/data/gpu_profiles.json``, read by :func:`stacks.spec.gpu_catalogue`), the one source the
stack spec and the gate use too. Models are matched by :func:`stacks.spec.gpu_key`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from phistack.errors import InputError
from runtime.configfile import load_yaml, validate
from stacks.spec import StackSpec, gpu_catalogue, gpu_key, key_path

CATALOGUE = Path("stacks") / "prices.yaml"


class GpuPrice(BaseModel):
    """One GPU model in the catalogue."""

    model_config = ConfigDict(extra="forbid")
    price_per_gpu_hour: float = Field(ge=0)
    """On-demand price per GPU-hour."""


class Catalogue(BaseModel):
    """The price catalogue."""

    model_config = ConfigDict(extra="forbid")
    hours_per_month: float = Field(default=730, gt=0)
    """Hours billed per month (365 × 24 / 12)."""
    currency: str = "USD"
    """Currency of the prices."""
    gpus: dict[str, GpuPrice]
    """GPU model (a model the hardware catalogue knows) → price."""

    def price(self, gpu_model: str) -> GpuPrice | None:
        """The price of ``gpu_model`` (any spelling with the same catalogue key), or None."""
        key = gpu_key(gpu_model)
        return next((p for model, p in self.gpus.items() if gpu_key(model) == key), None)


def load_catalogue(path: Path) -> Catalogue:
    """Read and validate the catalogue; errors name the file and the key.

    Every priced model must be one the hardware catalogue knows, once (spellings with the same key
    are the same model).
    """
    catalogue = validate(Catalogue, load_yaml(path, "price catalogue"), path)
    hardware = gpu_catalogue()
    seen: dict[str, str] = {}
    for model in catalogue.gpus:
        if hardware.lookup(model) is None:
            raise InputError(f"{path}: gpus.{model}: {model!r} is not a known GPU model (known: {hardware.known()})")
        if gpu_key(model) in seen:
            raise InputError(f"{path}: gpus.{model}: the same GPU model as {seen[gpu_key(model)]!r}")
        seen[gpu_key(model)] = model
    return catalogue


def price_per_gpu_hour(project_root: Path, gpu_model: str) -> float | None:
    """The catalogue price of ``gpu_model``, or None when the catalogue does not list it."""
    path = project_root / CATALOGUE
    if not path.is_file():
        return None
    entry = load_catalogue(path).price(gpu_model)
    return entry.price_per_gpu_hour if entry else None


@dataclass(frozen=True)
class PoolCost:
    """Cost of one node pool."""

    pool: str
    gpu_model: str
    gpus: int
    price_per_gpu_hour: float
    confidential_computing: bool

    @property
    def hourly(self) -> float:
        """Cost per hour of the whole pool."""
        return self.gpus * self.price_per_gpu_hour


@dataclass(frozen=True)
class StackCost:
    """Cost of a stack's GPUs."""

    stack: str
    pools: list[PoolCost]
    hours_per_month: float
    currency: str

    @property
    def hourly(self) -> float:
        """Cost per hour."""
        return sum(p.hourly for p in self.pools)

    @property
    def monthly(self) -> float:
        """Cost per month of continuous use."""
        return self.hourly * self.hours_per_month

    def to_json(self) -> dict[str, Any]:
        """JSON form (amounts rounded to cents)."""
        return {
            "stack": self.stack,
            "currency": self.currency,
            "hours_per_month": self.hours_per_month,
            "hourly": round(self.hourly, 2),
            "monthly": round(self.monthly, 2),
            "pools": [
                {
                    "pool": p.pool,
                    "gpu_model": p.gpu_model,
                    "gpus": p.gpus,
                    "price_per_gpu_hour": p.price_per_gpu_hour,
                    "confidential_computing": p.confidential_computing,
                    "hourly": round(p.hourly, 2),
                    "monthly": round(p.hourly * self.hours_per_month, 2),
                }
                for p in self.pools
            ],
        }


def estimate(stack: str, spec: StackSpec, catalogue: Catalogue, source: str, catalogue_path: Path) -> StackCost:
    """Price every node pool of ``spec``; an unknown GPU model is an error naming the key path."""
    pools: list[PoolCost] = []
    hardware = gpu_catalogue()
    for i, pool in enumerate(spec.cluster.node_pools):
        where = f"{source}: {key_path(('cluster', 'node_pools', i, 'gpu_model'))}"
        profile = hardware.lookup(pool.gpu_model)
        if profile is None:  # a spec built by parse_spec never gets here
            raise InputError(f"{where}: {pool.gpu_model!r} is not a known GPU model (known: {hardware.known()})")
        entry = catalogue.price(pool.gpu_model)
        if entry is None:
            known = ", ".join(sorted(catalogue.gpus))
            raise InputError(f"{where}: {pool.gpu_model!r} is not in {catalogue_path} (known: {known})")
        pools.append(
            PoolCost(
                pool.name,
                pool.gpu_model,
                pool.gpu_count * pool.node_count,
                entry.price_per_gpu_hour,
                profile.confidential_computing,
            )
        )
    return StackCost(stack, pools, catalogue.hours_per_month, catalogue.currency)


def format_table(cost: StackCost) -> str:
    """A plain-text table, one row per pool plus the total."""
    header = ["pool", "GPU", "GPUs", "CC", f"{cost.currency}/GPU-h", f"{cost.currency}/h", f"{cost.currency}/month"]
    rows = [
        [
            p.pool,
            p.gpu_model,
            str(p.gpus),
            "yes" if p.confidential_computing else "no",
            f"{p.price_per_gpu_hour:.2f}",
            f"{p.hourly:.2f}",
            f"{p.hourly * cost.hours_per_month:,.2f}",
        ]
        for p in cost.pools
    ]
    rows.append(
        ["total", "", str(sum(p.gpus for p in cost.pools)), "", "", f"{cost.hourly:.2f}", f"{cost.monthly:,.2f}"]
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    numeric = {2, 4, 5, 6}

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    body = [line(header), rule, *(line(r) for r in rows[:-1]), rule, line(rows[-1])]
    return "\n".join(body) + "\n"
