"""GPU cost of a plan: every GPU node pool it declares (GPUs per node × nodes), priced from a catalogue kept
as data (``stacks/prices.yaml``); and every node pool a cloud backend provisions (GKE node pools, AKS agent
pools), nodes × the machine catalogue's list price per node-hour, with that price's source and date.

The one cost model: ``phistack cost`` prints it for a stack's plan and the evidence pack reports it
(:mod:`phistack.evidence.cost`). Prices only: whether a GPU model has NVIDIA Confidential Computing comes
from the hardware catalogue (:mod:`phistack.hardware`), the one source the stack spec and the gate use too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from phistack import shipped
from phistack.errors import InputError
from phistack.evidence.cloud import CloudPool, cloud_pools
from phistack.evidence.facts import NodePool, node_pools
from phistack.hardware import gpu_catalogue, gpu_key
from phistack.stackconfig import config_key
from runtime.configfile import load_yaml, validate

CATALOGUE = Path("stacks") / "prices.yaml"
"""Where a project keeps its price catalogue, relative to the project directory."""

HOURS_PER_MONTH = 730.0
"""Hours billed per month when the catalogue does not say: 365 days × 24 h / 12, as cloud price sheets count."""


class GpuPrice(BaseModel):
    """One GPU model in the catalogue."""

    model_config = ConfigDict(extra="forbid")
    price_per_gpu_hour: float = Field(ge=0)
    """On-demand price per GPU-hour."""


class Catalogue(BaseModel):
    """The price catalogue."""

    model_config = ConfigDict(extra="forbid")
    hours_per_month: float = Field(default=HOURS_PER_MONTH, gt=0)
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


def project_catalogue(project_root: Path) -> Path | None:
    """The project's own price catalogue, or None when it keeps none."""
    path = project_root / CATALOGUE
    return path if path.is_file() else None


def default_catalogue(project_root: Path) -> Path:
    """The project's price catalogue, else the reference prices phistack ships with."""
    return project_catalogue(project_root) or shipped.ROOT / CATALOGUE


@dataclass(frozen=True)
class PoolCost:
    """One node pool, priced where the catalogue and the plan allow."""

    pool: str
    gpu_model: str
    gpus: int | None
    """GPUs per node × nodes; None when the plan does not know them yet."""
    price_per_gpu_hour: float | None = None
    """None when no catalogue prices the model."""
    confidential_computing: bool | None = None
    """From the hardware catalogue; None for a model it does not know."""
    machine_type: str = ""
    """Cloud pools only: the GCE machine type or Azure VM size, priced per node."""
    nodes: int | None = None
    """Cloud pools only: nodes in the pool."""
    price_per_node_hour: float | None = None
    """Cloud pools only: the machine catalogue's list price; None is 'no list price', never zero."""
    price_source: str = ""
    """Cloud pools only: where the price comes from and when it was read, or why there is none."""

    @property
    def hourly(self) -> float | None:
        """Cost per hour of the whole pool, or None when it cannot be priced."""
        if self.machine_type:
            if self.nodes is None or self.price_per_node_hour is None:
                return None
            return self.nodes * self.price_per_node_hour
        if self.gpus is None or self.price_per_gpu_hour is None:
            return None
        return self.gpus * self.price_per_gpu_hour

    @property
    def no_list_price(self) -> bool:
        """A cloud pool whose machine type the catalogue does not price (or does not know)."""
        return bool(self.machine_type) and self.price_per_node_hour is None


def cloud_pool_cost(pool: CloudPool) -> PoolCost:
    """A GKE or AKS pool priced per node from the machine catalogue; unknown hardware has no list price."""
    machine = pool.machine
    if machine is None:
        return PoolCost(
            pool.name,
            "unknown",
            None,
            machine_type=pool.machine_type,
            nodes=pool.nodes,
            price_source="no list price: not in the machine catalogue",
        )
    price = machine.price
    if price.usd_per_hour is None:
        source = f"no list price: {price.note}"
    else:
        source = f"{price.pricing} list price, {price.region}, {price.url} ({price.date.isoformat()})"
    gpus = None if pool.nodes is None else pool.nodes * machine.gpu_count
    cc = machine.confidential is not None and machine.confidential.gpu_cc
    return PoolCost(
        pool.name, machine.gpu_model or "none", gpus, None, cc, machine.name, pool.nodes, price.usd_per_hour, source
    )


def pool_costs(plan: dict[str, Any], catalogue: Catalogue | None) -> list[PoolCost]:
    """Every ConfidentialGpuCluster node pool of ``plan``, priced from ``catalogue`` where it can be, then every
    cloud pool, priced from the machine catalogue."""
    return _existing_pool_costs(plan, catalogue) + [cloud_pool_cost(p) for p in cloud_pools(plan)]


def _existing_pool_costs(plan: dict[str, Any], catalogue: Catalogue | None) -> list[PoolCost]:
    hardware = gpu_catalogue()
    out: list[PoolCost] = []
    for pool in node_pools(plan):
        profile = hardware.lookup(pool.gpu_model)
        entry = catalogue.price(pool.gpu_model) if catalogue is not None else None
        out.append(
            PoolCost(
                pool.name,
                pool.gpu_model,
                pool.gpus,
                entry.price_per_gpu_hour if entry else None,
                profile.confidential_computing if profile else None,
            )
        )
    return out


@dataclass(frozen=True)
class StackCost:
    """Cost of a stack's GPUs: its node pools and the catalogue's terms."""

    stack: str
    pools: list[PoolCost]
    hours_per_month: float = HOURS_PER_MONTH
    currency: str = "USD"

    @property
    def total_gpus(self) -> int | None:
        """GPUs in every pool, or None when the plan does not know them all."""
        counts = [p.gpus for p in self.pools]
        return None if None in counts else sum(c for c in counts if c is not None)

    @property
    def hourly(self) -> float | None:
        """Cost per hour, or None when a pool cannot be priced."""
        values = [p.hourly for p in self.pools]
        return None if None in values else sum((v for v in values if v is not None), 0.0)

    @property
    def monthly(self) -> float | None:
        """Cost per month of continuous use, or None when a pool cannot be priced."""
        hourly = self.hourly
        return None if hourly is None else hourly * self.hours_per_month

    def pool_monthly(self, pool: PoolCost) -> float | None:
        """Cost per month of one pool."""
        return None if pool.hourly is None else pool.hourly * self.hours_per_month

    def to_json(self) -> dict[str, Any]:
        """JSON form (amounts rounded to cents)."""
        return {
            "stack": self.stack,
            "currency": self.currency,
            "hours_per_month": self.hours_per_month,
            "hourly": _cents(self.hourly),
            "monthly": _cents(self.monthly),
            "pools": [
                {
                    "pool": p.pool,
                    "gpu_model": p.gpu_model,
                    "gpus": p.gpus,
                    "price_per_gpu_hour": p.price_per_gpu_hour,
                    "confidential_computing": p.confidential_computing,
                    "hourly": _cents(p.hourly),
                    "monthly": _cents(self.pool_monthly(p)),
                    **_cloud_json(p),
                }
                for p in self.pools
            ],
        }


def _cloud_json(pool: PoolCost) -> dict[str, Any]:
    """The machine-catalogue fields of a cloud pool (none for a pool of an existing cluster)."""
    if not pool.machine_type:
        return {}
    return {
        "machine_type": pool.machine_type,
        "nodes": pool.nodes,
        "price_per_node_hour": pool.price_per_node_hour,
        "price_source": pool.price_source,
        "no_list_price": pool.no_list_price,
    }


def _cents(amount: float | None) -> float | None:
    return None if amount is None else round(amount, 2)


Locate = Callable[[int, NodePool, str], str]
"""Where a node pool's key is, for an error: (index among the plan's pools, the pool, the key) → text."""


def in_stack_config(source: str) -> Locate:
    """Pools located in a stack's config: ``stacks/Pulumi.genomics.yaml: phistack:cluster.node_pools[0].gpu_model``."""
    return lambda index, _pool, key: f"{source}: {config_key(('cluster', 'node_pools', index, key))}"


def in_plan(source: str) -> Locate:
    """Pools located in a plan file, by name: ``plan.json: node pool 'hgx' of cluster 'genomics', gpu_model``."""
    return lambda _index, pool, key: f"{source}: node pool {pool.name!r} of cluster {pool.cluster!r}, {key}"


def estimate(plan: dict[str, Any], catalogue: Catalogue, catalogue_path: Path, locate: Locate) -> StackCost:
    """Price every node pool of ``plan``; a pool that cannot be priced is an error naming where it is."""
    pools = pool_costs(plan, catalogue)
    # Cloud pools come after the existing-cluster pools; an unpriced one is reported, not an error.
    for index, (pool, cost) in enumerate(zip(node_pools(plan), pools, strict=False)):
        if cost.gpus is None:
            key = "gpu_count" if pool.gpus_per_node is None else "node_count"
            raise InputError(f"{locate(index, pool, key)}: unknown at plan time, so the pool cannot be priced")
        where = locate(index, pool, "gpu_model")
        if cost.confidential_computing is None:  # a plan of a stack never gets here: its spec refuses the model
            known = gpu_catalogue().known()
            raise InputError(f"{where}: {pool.gpu_model!r} is not a known GPU model (known: {known})")
        if cost.price_per_gpu_hour is None:
            known = ", ".join(sorted(catalogue.gpus))
            raise InputError(f"{where}: {pool.gpu_model!r} is not in {catalogue_path} (known: {known})")
    return StackCost(str(plan.get("stack", "")), pools, catalogue.hours_per_month, catalogue.currency)


def format_table(cost: StackCost) -> str:
    """A plain-text table, one row per pool plus the total."""
    header = ["pool", "GPU", "GPUs", "CC", f"{cost.currency}/GPU-h", f"{cost.currency}/h", f"{cost.currency}/month"]
    rows = [
        [
            f"{p.pool} ({p.nodes if p.nodes is not None else '?'} × {p.machine_type})" if p.machine_type else p.pool,
            p.gpu_model,
            _text(p.gpus, "d"),
            {True: "yes", False: "no", None: "?"}[p.confidential_computing],
            _text(p.price_per_gpu_hour, ".2f"),
            "no list price" if p.no_list_price else _text(p.hourly, ".2f"),
            "no list price" if p.no_list_price else _text(cost.pool_monthly(p), ",.2f"),
        ]
        for p in cost.pools
    ]
    rows.append(
        ["total", "", _text(cost.total_gpus, "d"), "", "", _text(cost.hourly, ".2f"), _text(cost.monthly, ",.2f")]
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    numeric = {2, 4, 5, 6}

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    body = [line(header), rule, *(line(r) for r in rows[:-1]), rule, line(rows[-1])]
    return "\n".join(body + _price_sources(cost)) + "\n"


def _price_sources(cost: StackCost) -> list[str]:
    """Below the table: where each cloud machine type's price comes from, or why it has none."""
    sources = {p.machine_type: p.price_source for p in cost.pools if p.machine_type}
    return ["", "Prices per node-hour:", *(f"  {m}: {s}" for m, s in sources.items())] if sources else []


def _text(value: float | None, spec: str) -> str:
    """A table cell: the number formatted, or ``—`` where it is not known."""
    return "—" if value is None else format(value, spec)
