"""GPU cost: a stack's plan priced from the price catalogue, one model for `phistack cost` and the evidence pack."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from phistack import shipped
from phistack.cost import (
    CATALOGUE,
    default_catalogue,
    estimate,
    format_table,
    in_plan,
    in_stack_config,
    load_catalogue,
    project_catalogue,
)
from phistack.errors import InputError
from phistack.evidence import cost as evidence_cost
from phistack.evidence.render import _money
from phistack.plan.offline import plan_stack

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
