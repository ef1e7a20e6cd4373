"""GPU cost: a stack's plan priced from the price catalogue, one model for `phistack cost` and the evidence pack."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from phistack import shipped
from phistack.cost import (
    CATALOGUE,
    StackCost,
    default_catalogue,
    estimate,
    format_table,
    in_plan,
    in_stack_config,
    load_catalogue,
    pool_costs,
    project_catalogue,
)
from phistack.errors import InputError
from phistack.evidence import cloud
from phistack.evidence import cost as evidence_cost
from phistack.evidence.render import _money
from phistack.hardware import MACHINE_CATALOGUE, gpu_catalogue, load_machine_catalogue
from phistack.plan.offline import plan_stack
from tests.support.cloud_plans import aks_cluster, aks_pool, gke_cluster, gke_pool, plan_of

ROOT = Path(__file__).resolve().parent.parent
PRICED = {
    "medical-imaging": 0.18,
    "clinical-nlp": 2.20,
    "drug-discovery": 2.20,
    "genomics": 17.60,
    "clinical-decision-support": 4.40,
    "noncompliant-plaintext-phi": 0.18,
}


@pytest.fixture(scope="module")
def plans() -> dict[str, dict[str, Any]]:
    return {stack: plan_stack(ROOT, stack) for stack in PRICED}


def _estimate(plan: dict[str, Any], catalogue: Path = ROOT / CATALOGUE, source: str = "s") -> Any:
    return estimate(plan, load_catalogue(catalogue), catalogue, in_stack_config(source))


@pytest.mark.parametrize(("stack", "hourly"), sorted(PRICED.items()))
def test_stack_cost(plans: dict[str, dict[str, Any]], stack: str, hourly: float) -> None:
    cost = _estimate(plans[stack])
    assert cost.stack == stack
    assert cost.hourly == pytest.approx(hourly)
    assert cost.monthly == pytest.approx(hourly * 730)


def test_catalogue_defaults_are_the_reference_prices() -> None:
    catalogue = load_catalogue(ROOT / CATALOGUE)
    prices = {model: catalogue.price(model) for model in ("RTX 4090", "A100 80GB", "H100 SXM", "Z9000")}
    assert {model: p.price_per_gpu_hour if p else None for model, p in prices.items()} == {
        "RTX 4090": 0.18,
        "A100 80GB": 1.49,
        "H100 SXM": 2.20,
        "Z9000": None,
    }


def test_a_project_without_a_catalogue_is_priced_from_the_shipped_one(tmp_path: Path) -> None:
    assert project_catalogue(tmp_path) is None
    assert default_catalogue(tmp_path) == shipped.ROOT / CATALOGUE
    assert default_catalogue(ROOT) == ROOT / CATALOGUE


def test_unknown_gpu_model_names_the_key_path(plans: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("gpus:\n  RTX 4090: {price_per_gpu_hour: 0.18}\n")
    with pytest.raises(InputError, match=r"phistack:cluster\.node_pools\[0\]\.gpu_model: 'H100 SXM' is not in"):
        _estimate(plans["genomics"], path, "stacks/Pulumi.genomics.yaml")


def test_a_plan_file_names_the_node_pool(plans: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("gpus:\n  RTX 4090: {price_per_gpu_hour: 0.18}\n")
    with pytest.raises(InputError, match=r"^plan\.json: node pool 'hgx-h100-cc' of cluster '[^']+', gpu_model: 'H100"):
        estimate(plans["genomics"], load_catalogue(path), path, in_plan("plan.json"))


def test_an_unknown_gpu_count_cannot_be_priced(plans: dict[str, dict[str, Any]]) -> None:
    plan = copy.deepcopy(plans["genomics"])
    cluster = next(r for r in plan["resources"] if r["type"] == "phistack:cluster:ConfidentialGpuCluster")
    cluster["inputs"]["node_pools"][0]["node_count"] = {"__unknown__": True}
    with pytest.raises(InputError, match=r"node_pools\[0\]\.node_count: unknown at plan time"):
        _estimate(plan)


def test_bad_catalogue_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("gpus:\n  X: {price_per_gpu_hour: -1}\n")
    with pytest.raises(InputError, match=r"gpus\.X\.price_per_gpu_hour"):
        load_catalogue(path)


def test_table_has_a_total_row(plans: dict[str, dict[str, Any]]) -> None:
    table = format_table(_estimate(plans["genomics"]))
    assert table.splitlines()[-1].split() == ["total", "8", "17.60", "12,848.00"]


# --- the evidence pack prices with the same model ----------------------------------------------------


def test_evidence_cost_is_the_cost_of_phistack_cost(plans: dict[str, dict[str, Any]]) -> None:
    plan = plans["clinical-decision-support"]
    evidence = evidence_cost.estimate(plan, ROOT)
    assert evidence.source == evidence_cost.PRICED
    assert evidence.estimate == _estimate(plan)


def test_evidence_takes_hours_per_month_from_the_catalogue(plans: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    (tmp_path / CATALOGUE).parent.mkdir()
    (tmp_path / CATALOGUE).write_text("hours_per_month: 100\ngpus:\n  H100 SXM: {price_per_gpu_hour: 2.0}\n")
    evidence = evidence_cost.estimate(plans["genomics"], tmp_path)
    assert (evidence.hourly, evidence.monthly) == (16.0, 1600.0)


def test_evidence_states_the_catalogue_currency_and_month(plans: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """A catalogue in another currency or month length must not be printed as dollars over 730 hours."""
    (tmp_path / CATALOGUE).parent.mkdir()
    (tmp_path / CATALOGUE).write_text(
        "hours_per_month: 720\ncurrency: EUR\ngpus:\n  H100 SXM: {price_per_gpu_hour: 2.0}\n"
    )
    evidence = evidence_cost.estimate(plans["genomics"], tmp_path)
    data = evidence.to_json()
    assert (data["currency"], data["hours_per_month"], data["monthly"]) == ("EUR", 720, 16.0 * 720)
    assert not any(key.endswith("_usd") for key in [*data, *data["lines"][0]])
    assert _money(16.0, "EUR") == "16.00 EUR" and _money(16.0, "USD") == "$16.00" and _money(None) == "not priced"


def test_evidence_without_a_catalogue_reports_the_inventory_unpriced(
    plans: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    evidence = evidence_cost.estimate(plans["genomics"], tmp_path)
    assert evidence.source == evidence_cost.UNPRICED
    assert (evidence.total_gpus, evidence.hourly, evidence.monthly) == (8, None, None)
    assert evidence.to_json()["lines"] == [
        {"pool": "hgx-h100-cc", "gpu_model": "H100 SXM", "gpus": 8, "price_per_gpu_hour": None, "hourly": None}
    ]


# --- cloud pools: nodes × the machine catalogue's list price --------------------------------------


def _cloud_plan() -> dict[str, Any]:
    return plan_of(gke_cluster(), gke_pool(nodes=2), aks_cluster(), aks_pool(count=3))


def _priced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, prices: dict[str, float]) -> None:
    """Price some machine types in a copy of the shipped machine catalogue."""
    document = json.loads(MACHINE_CATALOGUE.read_text(encoding="utf-8"))
    for key, usd in prices.items():
        document["machine_types"][key]["price"].update(usd_per_hour=usd, url="https://example.com/p", date="2026-12-01")
    path = tmp_path / "machines.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    catalogue = load_machine_catalogue(path, gpu_catalogue())
    monkeypatch.setattr(cloud, "machine_catalogue", lambda: catalogue)


def test_cloud_pools_are_priced_per_node(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _priced(
        monkeypatch,
        tmp_path,
        {"gcp/a3-highgpu-1g": 11.0, "azure/standard_ncc40ads_h100_v5": 7.5, "azure/standard_d4ds_v5": 0.25},
    )
    cost = StackCost("cloud", pool_costs(_cloud_plan(), None))
    lines = {p.pool: p for p in cost.pools}
    assert {name: p.hourly for name, p in lines.items()} == {"h100-cc": 22.0, "system": 0.5, "h100cc": 22.5}
    assert (lines["h100cc"].gpus, lines["h100cc"].confidential_computing) == (3, True)
    assert cost.hourly == pytest.approx(45.0) and cost.total_gpus == 5
    assert "on-demand list price, us-central1, https://example.com/p (2026-12-01)" in lines["h100-cc"].price_source
    table = format_table(cost)
    assert "h100-cc (2 × a3-highgpu-1g)" in table
    assert "  a3-highgpu-1g: on-demand list price, us-central1, https://example.com/p (2026-12-01)" in table
    doc = cost.to_json()["pools"][0]
    assert (doc["machine_type"], doc["nodes"], doc["price_per_node_hour"], doc["no_list_price"]) == (
        "a3-highgpu-1g",
        2,
        11.0,
        False,
    )


def test_a_cloud_pool_without_a_price_is_reported_never_zero(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _priced(monkeypatch, tmp_path, {"azure/standard_ncc40ads_h100_v5": 7.5})
    plan = plan_of(aks_cluster(), aks_pool(), gke_pool(machine="a9-madeup-1g"))
    cost = StackCost("cloud", pool_costs(plan, None))
    lines = {p.pool: p for p in cost.pools}
    assert lines["system"].no_list_price and lines["system"].hourly is None
    assert lines["h100-cc"].no_list_price and lines["h100-cc"].price_source.endswith("not in the machine catalogue")
    assert cost.hourly is None and cost.monthly is None
    table = format_table(cost)
    assert table.count("no list price") >= 4 and "0.00" not in table
    assert cost.to_json()["hourly"] is None


def test_the_shipped_catalogue_states_why_it_has_no_price() -> None:
    (line,) = [p for p in pool_costs(plan_of(gke_pool()), None)]
    assert line.no_list_price and "Spot VMs" in line.price_source


def test_existing_backend_pools_have_no_cloud_fields(plans: dict[str, dict[str, Any]]) -> None:
    cost = _estimate(plans["genomics"])
    assert all(not p.machine_type for p in cost.pools)
    assert "machine_type" not in cost.to_json()["pools"][0] and "Prices per node-hour" not in format_table(cost)


def test_gke_node_count_is_per_zone() -> None:
    """GKE's nodeCount counts nodes per zone of nodeLocations: two zones hold twice the nodes."""
    pool = gke_pool(nodes=2)
    pool["inputs"]["nodeLocations"] = ["us-central1-a", "us-central1-b"]
    (line,) = pool_costs(plan_of(pool), None)
    assert line.nodes == 4
