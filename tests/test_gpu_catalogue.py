"""The hardware catalogue (policies/data/gpu_profiles.json): one source of GPU facts for the spec, cost and gate.

A gpu_model the catalogue does not know is a one-line config error naming the key path, exit 2,
wherever a stack's config is read (plan, check, cost); the CC column of the cost table comes from
the catalogue, never from a node pool's declared cc_capable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from phistack.cost import CATALOGUE, estimate, in_stack_config, load_catalogue
from phistack.errors import InputError
from phistack.hardware import GPU_CATALOGUE, gpu_catalogue, gpu_key
from stacks.spec import config_from_stack_file, parse_spec
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.gpu_plans import cluster_plan
from tests.support.paths import REPO

STACKS = REPO / "stacks"
NOT_CC = ("A100", "A100 80GB", "L40S", "RTX 4090")
CC = ("H100", "H100 SXM", "H200", "B200")
TYPO = "H100-SMX"
KEY = "phistack:cluster.node_pools[0].gpu_model"


def test_catalogue_is_valid_and_cites_a_vendor_source() -> None:
    catalogue = gpu_catalogue()
    assert catalogue.gpus
    for key, profile in catalogue.gpus.items():
        assert key == gpu_key(profile.model)
        assert profile.source.url.startswith("https://"), key
        assert profile.source.says.strip(), key


@pytest.mark.parametrize("model", CC)
def test_hopper_and_blackwell_have_cc(model: str) -> None:
    profile = gpu_catalogue().lookup(model)
    assert profile is not None and profile.confidential_computing
    assert profile.architecture in {"hopper", "blackwell"}


@pytest.mark.parametrize("model", NOT_CC)
def test_ampere_and_ada_have_no_cc(model: str) -> None:
    profile = gpu_catalogue().lookup(model)
    assert profile is not None and not profile.confidential_computing


def test_only_hopper_and_blackwell_models_claim_cc() -> None:
    for profile in gpu_catalogue().gpus.values():
        if profile.confidential_computing:
            assert profile.architecture in {"hopper", "blackwell"}, profile.model


@pytest.mark.parametrize(
    ("spelling", "key"),
    [
        ("H100 SXM", "h100sxm"),
        ("NVIDIA H100-SXM", "h100sxm"),
        ("nvidia a100 80gb", "a10080gb"),
        ("RTX-4090", "rtx4090"),
    ],
)
def test_key_normalisation(spelling: str, key: str) -> None:
    assert gpu_key(spelling) == key


def test_unknown_model_is_not_found() -> None:
    assert gpu_catalogue().lookup(TYPO) is None
    assert gpu_catalogue().lookup("") is None


def test_the_gate_reads_the_same_file() -> None:
    """PHI-GPU-001 reads data.gpu_profiles: the file the spec validates against."""
    assert GPU_CATALOGUE == REPO / "policies" / "data" / "gpu_profiles.json"


def test_broken_catalogue_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gpu_profiles.json"
    path.write_text(json.dumps({"source": "x", "gpus": {"h100": {"name": "NVIDIA H100", "model": "H200"}}}))
    with pytest.raises(InputError, match=r"gpu_profiles\.json: "):
        gpu_catalogue(path)
    path.write_text("{")
    with pytest.raises(InputError, match=r"gpu_profiles\.json: invalid JSON"):
        gpu_catalogue(path)


# --- the stack spec -------------------------------------------------------------------------------


def _config(stack: str, **pool: Any) -> dict[str, Any]:
    config = config_from_stack_file(STACKS / f"Pulumi.{stack}.yaml")
    config["cluster"]["node_pools"][0].update(pool)
    return config


def test_spec_rejects_an_unknown_gpu_model() -> None:
    with pytest.raises(InputError) as info:
        parse_spec(_config("clinical-nlp", gpu_model=TYPO), "stacks/Pulumi.clinical-nlp.yaml")
    message = info.value.diagnostic()
    assert message.startswith(f"stacks/Pulumi.clinical-nlp.yaml: {KEY}: {TYPO!r} is not a known GPU model (known: "), (
        message
    )
    assert "H100 SXM" in message and "RTX 4090" in message and "\n" not in message


def test_spec_accepts_another_spelling_of_a_known_model() -> None:
    spec = parse_spec(_config("clinical-nlp", gpu_model="NVIDIA H100-SXM"), "stacks/Pulumi.clinical-nlp.yaml")
    assert spec.cluster.node_pools[0].gpu_model == "NVIDIA H100-SXM"


# --- cost: prices from stacks/prices.yaml, CC from the catalogue ------------------------------------


def _cost(stack: str, **pool: Any) -> list[tuple[str, bool | None]]:
    plan = cluster_plan(parse_spec(_config(stack, **pool), "s"))
    cost = estimate(plan, load_catalogue(REPO / CATALOGUE), REPO / CATALOGUE, in_stack_config("s"))
    return [(p.gpu_model, p.confidential_computing) for p in cost.pools]


def test_cost_takes_cc_from_the_catalogue_not_cc_capable() -> None:
    # An A100 pool that declares cc_capable: true is still a GPU without CC in the cost table.
    assert _cost("clinical-nlp", gpu_model="A100 80GB", cc_capable=True) == [("A100 80GB", False)]
    # drug-discovery declares cc_capable: false on an H100: the GPU still has CC.
    assert _cost("drug-discovery") == [("H100 SXM", True)]


def test_cost_matches_spellings_like_the_gate() -> None:
    plan = cluster_plan(parse_spec(_config("clinical-nlp", gpu_model="nvidia h100-sxm"), "s"))
    cost = estimate(plan, load_catalogue(REPO / CATALOGUE), REPO / CATALOGUE, in_stack_config("s"))
    assert cost.hourly == pytest.approx(2.20)


def test_price_catalogue_knows_only_catalogued_models(tmp_path: Path) -> None:
    load_catalogue(REPO / CATALOGUE)  # the shipped prices are all catalogued models
    path = tmp_path / "prices.yaml"
    path.write_text("gpus:\n  Z9000: {price_per_gpu_hour: 1.0}\n")
    with pytest.raises(InputError, match=r"prices\.yaml: gpus\.Z9000: 'Z9000' is not a known GPU model"):
        load_catalogue(path)
    path.write_text("gpus:\n  H100 SXM: {price_per_gpu_hour: 1.0}\n  h100-sxm: {price_per_gpu_hour: 2.0}\n")
    with pytest.raises(InputError, match=r"gpus\.h100-sxm: the same GPU model as 'H100 SXM'"):
        load_catalogue(path)
    path.write_text("gpus:\n  H100 SXM: {price_per_gpu_hour: 1.0, confidential_computing: false}\n")
    with pytest.raises(InputError, match=r"confidential_computing"):
        load_catalogue(path)


# --- through the command line ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def typo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the Pulumi project with one stack, `typo`, whose only node pool names an unknown GPU."""
    root = tmp_path_factory.mktemp("project")
    (root / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    stacks_dir = root / "stacks"
    stacks_dir.mkdir()
    (stacks_dir / "__main__.py").write_text((STACKS / "__main__.py").read_text())
    doc = yaml.safe_load((STACKS / "Pulumi.clinical-nlp.yaml").read_text())
    doc["config"]["phistack:cluster"]["node_pools"][0]["gpu_model"] = TYPO
    (stacks_dir / "Pulumi.typo.yaml").write_text(yaml.safe_dump(doc))
    return root


# safe_dump writes one key a line: the error names the line of the pool's gpu_model key.
_TYPO_LINE = next(
    i
    for i, row in enumerate(
        yaml.safe_dump(yaml.safe_load((STACKS / "Pulumi.clinical-nlp.yaml").read_text())).splitlines(), 1
    )
    if "gpu_model:" in row
)
EXPECTED = (f"stacks/Pulumi.typo.yaml:{_TYPO_LINE}: {KEY}: {TYPO!r} is not a known GPU model (known: ", "H100 SXM")


def test_plan_rejects_an_unknown_gpu_model(typo_project: Path) -> None:
    proc = run_cli("plan", "typo", "--project", str(typo_project))
    assert_one_line_error(proc, 2, *EXPECTED)
    assert proc.stdout == ""


def test_check_rejects_an_unknown_gpu_model(typo_project: Path) -> None:
    proc = run_cli("check", "typo", "--project", str(typo_project), "--policies", str(REPO / "policies"))
    assert_one_line_error(proc, 2, *EXPECTED)


def test_cost_rejects_an_unknown_gpu_model(typo_project: Path) -> None:
    proc = run_cli("cost", "typo", "--project", str(typo_project), "--catalogue", str(REPO / CATALOGUE))
    assert_one_line_error(proc, 2, *EXPECTED)
