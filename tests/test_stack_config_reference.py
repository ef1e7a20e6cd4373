"""docs/MODULES.md lists every stack config key, generated from stacks/spec.py: the two cannot drift apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from stacks import reference, spec
from tests.support.cli import run_cli
from tests.support.paths import REPO


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key path of ``model`` as the reference writes it in its section (``node_pools[].gpu_model``)."""
    keys: list[str] = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        nested, is_list = reference._model_of(field.annotation)
        if nested is not None:
            keys += _keys(nested, f"{prefix}{name}[]." if is_list else f"{prefix}{name}.")
    return keys


def test_the_document_matches_the_models(tmp_path: Path) -> None:
    # From another directory, as CI or a contributor would run it.
    proc = run_cli("--check", module="stacks.reference", cwd=tmp_path)
    assert proc.returncode == 0, f"{proc.stderr}run `python -m stacks.reference` and commit docs/MODULES.md"


def test_every_key_of_every_model_is_documented() -> None:
    text = (REPO / "docs" / "MODULES.md").read_text()
    block = text[text.index(reference.BEGIN) : text.index(reference.END)]
    for top, field in spec.StackSpec.model_fields.items():
        assert f"### `phistack:{top}`" in block
        nested, _ = reference._model_of(field.annotation)
        for key in _keys(nested) if nested is not None else []:
            assert f"| `{key}` |" in block, key
    assert "| `gke.project` | string | **required** |" in block  # keys relative to their section
    assert "| `min_tls_version` | one of `1.3`, `1.2` | `\"1.3\"` |" in block


def test_a_stale_block_is_replaced_and_the_rest_kept() -> None:
    document = f"# Title\n\nbefore\n\n{reference.BEGIN}\nold keys\n{reference.END}\n\nafter\n"
    fresh = reference.updated(document)
    assert fresh.startswith("# Title\n\nbefore\n\n" + reference.BEGIN)
    assert fresh.endswith(f"{reference.END}\n\nafter\n") and "old keys" not in fresh
    assert reference.updated(fresh) == fresh


def test_check_fails_on_drift(tmp_path: Path) -> None:
    stale = tmp_path / "MODULES.md"
    stale.write_text(f"{reference.BEGIN}\n| `cluster.cluster_name` | string | **required** | gone |\n{reference.END}\n")
    assert reference.main(["--check", "-o", str(stale)]) == 1
    assert reference.main(["-o", str(stale)]) == 0
    assert reference.main(["--check", "-o", str(stale)]) == 0


def test_missing_markers_are_an_error() -> None:
    with pytest.raises(ValueError, match="markers"):
        reference.updated("# no block here\n")


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (spec.Cluster.model_fields["cc_mode"].annotation, "one of `snp`, `tdx`, `off`"),
        (spec.Workload.model_fields["volumes"].annotation, "list of mappings"),
        (spec.Workload.model_fields["args"].annotation, "list of strings"),
        (spec.Provider.model_fields["baa"].annotation, "mapping"),
    ],
)
def test_types_read_as_a_stack_author_writes_them(annotation: object, expected: str) -> None:
    assert reference.describe_type(annotation) == expected
