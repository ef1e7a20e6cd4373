"""GPU cost from the price catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from phistack.cost import CATALOGUE, estimate, format_table, load_catalogue, price_per_gpu_hour
from phistack.errors import InputError
from stacks.spec import load_stack_spec

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("stack", "hourly"),
    [
        ("medical-imaging", 0.18),
        ("clinical-nlp", 2.20),
        ("drug-discovery", 2.20),
        ("genomics", 17.60),
        ("clinical-decision-support", 4.40),
        ("noncompliant-plaintext-phi", 0.18),
    ],
)
def test_stack_cost(stack: str, hourly: float) -> None:
    catalogue = load_catalogue(ROOT / CATALOGUE)
    cost = estimate(stack, load_stack_spec(ROOT / "stacks", stack), catalogue, stack, ROOT / CATALOGUE)
    assert cost.hourly == pytest.approx(hourly)
    assert cost.monthly == pytest.approx(hourly * 730)


def test_catalogue_defaults_are_the_reference_prices() -> None:
    assert price_per_gpu_hour(ROOT, "RTX 4090") == 0.18
    assert price_per_gpu_hour(ROOT, "A100 80GB") == 1.49
    assert price_per_gpu_hour(ROOT, "H100 SXM") == 2.20
    assert price_per_gpu_hour(ROOT, "Z9000") is None
    assert 8 * price_per_gpu_hour(ROOT, "A100 80GB") == pytest.approx(11.92)  # type: ignore[operator]


def test_unknown_gpu_model_names_the_key_path(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("gpus:\n  RTX 4090: {price_per_gpu_hour: 0.18}\n")
    catalogue = load_catalogue(path)
    with pytest.raises(InputError, match=r"phistack:cluster\.node_pools\[0\]\.gpu_model: 'H100 SXM' is not in"):
        estimate(
            "genomics", load_stack_spec(ROOT / "stacks", "genomics"), catalogue, "stacks/Pulumi.genomics.yaml", path
        )


def test_bad_catalogue_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("gpus:\n  X: {price_per_gpu_hour: -1}\n")
    with pytest.raises(InputError, match=r"gpus\.X\.price_per_gpu_hour"):
        load_catalogue(path)


def test_table_has_a_total_row() -> None:
    catalogue = load_catalogue(ROOT / CATALOGUE)
    table = format_table(
        estimate("genomics", load_stack_spec(ROOT / "stacks", "genomics"), catalogue, "g", ROOT / CATALOGUE)
    )
    assert table.splitlines()[-1].split() == ["total", "8", "17.60", "12,848.00"]
