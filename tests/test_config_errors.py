"""Config errors a newcomer can act on: the unknown key first, its line, and the key it was probably meant to be."""

from __future__ import annotations

import copy
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from runtime.configfile import (
    MAX_CONFIG_BYTES,
    did_you_mean,
    explain,
    line_of,
    load_yaml,
    parse_yaml_nodes,
    validate,
)
from runtime.errors import InputError
from stacks.spec import StackSpec, config_from_stack_file, parse_spec
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.paths import REPO

STACKS = REPO / "stacks"


def _typo_project(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of the project whose stack ``x`` is clinical-nlp with one line changed; returns the line number."""
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "__main__.py").write_text((STACKS / "__main__.py").read_text())
    lines = (STACKS / "Pulumi.clinical-nlp.yaml").read_text().splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, 1) if line.rstrip("\n") == old)
    lines[number - 1] = new + "\n"
    (tmp_path / "stacks" / "Pulumi.x.yaml").write_text("".join(lines))
    return tmp_path, number


@pytest.mark.parametrize("command", ["check", "plan", "cost"])
def test_component_prop_name_in_the_stack_file_is_named_with_line_and_hint(tmp_path: Path, command: str) -> None:
    # `cluster_name` is the component's prop; the stack config key is `name`.
    project, line = _typo_project(tmp_path, "    name: clinical-nlp", "    cluster_name: clinical-nlp")
    proc = run_cli(command, "x", "--project", str(project))
    expected = f"stacks/Pulumi.x.yaml:{line}: phistack:cluster.cluster_name: unknown key; did you mean name?"
    assert_one_line_error(proc, 2)
    assert proc.stderr == f"phistack: error: {expected}\n"


def test_misspelt_key_in_another_section(tmp_path: Path) -> None:
    project, line = _typo_project(tmp_path, "    siem_host: siem.example-hospital.org", "    siem_hots: siem.x.org")
    proc = run_cli("plan", "x", "--project", str(project))
    expected = f"Pulumi.x.yaml:{line}: phistack:logging.siem_hots: unknown key; did you mean siem_host?"
    assert_one_line_error(proc, 2, expected)


def _config(stack: str = "clinical-nlp") -> dict[str, Any]:
    return copy.deepcopy(config_from_stack_file(STACKS / f"Pulumi.{stack}.yaml"))


def test_unknown_key_comes_before_the_errors_it_causes() -> None:
    config = _config()
    config["cluster"]["nodepools"] = config["cluster"].pop("node_pools")
    config["workloads"][0]["replicas"] = "two"  # another, unrelated error
    with pytest.raises(InputError) as info:
        parse_spec(config, "s.yaml")
    assert info.value.diagnostic() == (
        "s.yaml: phistack:cluster.nodepools: unknown key; did you mean node_pools? (and 1 more)"
    )


def test_unknown_key_without_a_likely_meaning_has_no_hint() -> None:
    config = _config()
    config["provider"]["colour"] = "blue"
    with pytest.raises(InputError, match=r"^s: phistack:provider.colour: unknown key$"):
        parse_spec(config, "s")


def test_unknown_top_level_key_is_named_with_its_namespace() -> None:
    config = _config()
    config["workload"] = config.pop("workloads")
    with pytest.raises(InputError, match=r"phistack:workload: unknown key; did you mean workloads\?$"):
        parse_spec(config, "s")


def test_line_numbers_of_nested_keys(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.y.yaml"
    stack.write_text(
        "config:\n"
        "  phistack:workloads:\n"
        "    - name: a\n"
        "      security:\n"
        "        run_as_root: true\n"
    )
    _, root = parse_yaml_nodes(stack.read_text(), stack, "stack config")
    assert line_of(root, ("config", "phistack:workloads", 0, "security", "run_as_root")) == 5
    assert line_of(root, ("config", "phistack:workloads", 0, "missing")) == 3  # the deepest existing parent


@pytest.mark.parametrize(
    ("word", "known", "expected"),
    [
        ("cluster_name", ["name", "namespaces", "node_pools"], "name"),
        ("namspaces", ["name", "namespaces"], "namespaces"),
        ("gpu-count", ["gpu_count", "node_count"], "gpu_count"),
        ("storage_class", ["storage_class_name", "csi_driver"], "storage_class_name"),
        ("colour", ["name", "plan", "region"], None),
    ],
)
def test_did_you_mean(word: str, known: list[str], expected: str | None) -> None:
    assert did_you_mean(word, known) == expected


class _Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: str
    reason: str


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    waivers: list[_Waiver]


def test_every_config_reader_gets_the_same_ordering_and_hint(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("waivers:\n  - rul: PHI-X\n    reason: r\n")
    document, root = parse_yaml_nodes(path.read_text(), path, "waivers")
    with pytest.raises(InputError) as info:
        validate(_File, document, path, root)
    assert info.value.diagnostic() == f"{path}:2: waivers[0].rul: unknown key; did you mean rule?"
    with pytest.raises(ValidationError) as raw:
        _File.model_validate(document)
    assert explain(_File, raw.value).more == 0  # the missing `rule` is the typo's doing, not counted


def test_oversized_regular_file_is_refused_without_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with open(big, "wb") as handle:
        handle.truncate(MAX_CONFIG_BYTES + 1)
    with pytest.raises(InputError, match=r"big.yaml: cannot read waivers: larger than the 16 MiB limit$"):
        load_yaml(big, "waivers")


def test_endless_stream_is_cut_at_the_limit(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    chunk = b"# " + b"x" * 65533 + b"\n"

    def feed() -> None:
        try:
            with open(fifo, "wb") as writer:
                while True:
                    writer.write(chunk)
        except BrokenPipeError:
            pass  # the reader stopped at the limit, as it should

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    with pytest.raises(InputError, match="larger than the 16 MiB limit"):
        load_yaml(fifo, "stack config")
    feeder.join(timeout=10)
    assert not feeder.is_alive()


def test_a_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read waivers: Is a directory$"):
        load_yaml(tmp_path, "waivers")


def test_reference_stacks_still_load() -> None:
    for path in sorted(STACKS.glob("Pulumi.*.yaml")):
        StackSpec.model_validate(config_from_stack_file(path))
        assert isinstance(yaml.safe_load(path.read_text()), dict)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["storage"].update(dataset="nope"), "s.yaml: phistack:storage.dataset: no dataset named 'nope'"),
        (lambda c: c["workloads"][0].update(dataset="nope"), "s.yaml: phistack:workloads[0].dataset: no dataset"),
        (
            lambda c: c["storage"].update(data_classification="phi"),
            "s.yaml: phistack:storage.dataset: only storage classified deidentified names a dataset",
        ),
        (
            lambda c: c["workloads"][0].update(data_classification="phi"),
            "s.yaml: phistack:workloads[0].dataset: only a workload classified deidentified names a dataset",
        ),
    ],
    ids=["storage-unlisted", "workload-unlisted", "storage-not-deidentified", "workload-not-deidentified"],
)
def test_datasets_are_listed_and_named_only_by_deidentified_data(edit: Any, message: str) -> None:
    config = _config("medical-imaging")
    edit(config)
    with pytest.raises(InputError) as caught:
        parse_spec(config, "s.yaml")
    assert caught.value.diagnostic().startswith(message), caught.value.diagnostic()
