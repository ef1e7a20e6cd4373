"""The workload plugin interface: registry, batching, decoding, device selection."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from runtime.errors import InputError
from runtime.workloads import Record, Workload, batched, get, names, register
from runtime.workloads import registry as registry_module
from runtime.workloads.device import cpu_model_name, device_name, select_device
from runtime.workloads.text_bow import hash_tokens

torch.set_num_threads(1)


def _loaded(workload: str, tmp_path: Path) -> Workload:
    cls = get(workload)
    data = cls.init_model_file(seed=0)
    path = tmp_path / f"{workload}.pt"
    path.write_bytes(data)
    instance = cls(torch.device("cpu"))
    instance.load(path, hashlib.sha256(data).hexdigest())
    return instance


class _Echo(Workload):
    """A minimal third-party plugin: predicts label "long" for records longer than 3 characters."""

    name = "echo-test"
    summary = "test plugin"
    input_format = "lines"

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def default_labels(cls) -> list[str]:
        return ["short", "long"]

    @classmethod
    def build_model(cls, config: dict[str, Any], num_labels: int) -> nn.Module:
        return nn.Identity()

    def decode(self, payload: bytes, source: str) -> list[Record]:
        return [Record(str(i), line) for i, line in enumerate(payload.decode().splitlines())]

    def collate(self, batch: Any) -> tuple[torch.Tensor, ...]:
        return (torch.tensor([[0.0, 10.0] if len(r.value) > 3 else [10.0, 0.0] for r in batch]),)

    @classmethod
    def synthetic_inputs(cls, count: int, seed: int) -> bytes:
        return b"\n".join(b"x" * (i % 6) for i in range(count))


def test_builtins_are_registered() -> None:
    assert {"image-cnn", "text-bow"} <= set(names())


def test_unknown_workload_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"unknown workload 'nope' \(known: .*image-cnn"):
        get("nope")


def test_a_plugin_registers_and_runs(tmp_path: Path) -> None:
    register(_Echo)
    try:
        assert get("echo-test") is _Echo
        plugin = _loaded("echo-test", tmp_path)
        predictions = plugin.run(batched(plugin.decode(b"ab\nabcdef\n", "t"), 1))
        assert [p.label for p in predictions] == ["short", "long"]
        document = json.loads(plugin.encode(predictions))
        assert document["workload"] == "echo-test" and document["labels"] == ["short", "long"]
    finally:
        registry_module.unregister("echo-test")
    assert "echo-test" not in names()


def test_registry_refuses_duplicates_and_non_workloads() -> None:
    class Clash(_Echo):
        name = "image-cnn"

    with pytest.raises(ValueError, match="already registered"):
        register(Clash)
    with pytest.raises(TypeError):
        register(dict)  # type: ignore[arg-type]


@pytest.mark.parametrize(("size", "expected"), [(1, [1] * 5), (2, [2, 2, 1]), (5, [5]), (9, [5])])
def test_batched(size: int, expected: list[int]) -> None:
    assert [len(b) for b in batched(range(5), size)] == expected
    with pytest.raises(ValueError):
        list(batched(range(5), 0))


@pytest.mark.parametrize("workload", ["image-cnn", "text-bow"])
def test_batch_size_does_not_change_the_results(workload: str, tmp_path: Path) -> None:
    instance = _loaded(workload, tmp_path)
    records = instance.decode(get(workload).synthetic_inputs(11, seed=3), "synthetic")
    one = instance.run(batched(records, 1))
    many = instance.run(batched(records, 4))
    assert [p.id for p in one] == [r.id for r in records] == [p.id for p in many]
    for a, b in zip(one, many, strict=True):
        assert a.label == b.label
        assert a.scores == pytest.approx(b.scores, abs=1e-5)
        assert sum(a.scores) == pytest.approx(1.0, abs=1e-4)


def test_image_decode_rejects_malformed_archives(tmp_path: Path) -> None:
    import io

    instance = get("image-cnn")()
    with pytest.raises(InputError, match=r"not a phistack.images/v1 archive.*\(obj-1\)"):
        instance.decode(b"not a torch archive", "obj-1")
    buffer = io.BytesIO()
    torch.save({"format": "phistack.images/v1", "ids": ["a"], "images": torch.zeros(1, 3, 8, 8)}, buffer)
    with pytest.raises(InputError, match="uint8"):
        instance.decode(buffer.getvalue(), "obj-2")
    buffer = io.BytesIO()
    images = torch.zeros(2, 1, 8, 8, dtype=torch.uint8)
    torch.save({"format": "phistack.images/v1", "ids": ["a"], "images": images}, buffer)
    with pytest.raises(InputError, match="one string per image"):
        instance.decode(buffer.getvalue(), "obj-3")


def test_text_decode_names_the_line() -> None:
    instance = get("text-bow")()
    with pytest.raises(InputError, match=r"\(notes:2\)"):
        instance.decode(b'{"id": "a", "text": "ok"}\n{"id": 3}\n', "notes")
    with pytest.raises(InputError, match="not JSON"):
        instance.decode(b"{broken\n", "notes")


def test_token_hashing_is_stable_and_never_empty() -> None:
    # Fixed values: the hash must not depend on the process (PYTHONHASHSEED) or the platform.
    assert hash_tokens("Chest pain", 1 << 14) == hash_tokens("chest PAIN", 1 << 14)
    assert len(hash_tokens("chest pain", 1 << 14)) == 3  # two unigrams and one bigram
    assert hash_tokens("", 16) == [0]


def test_synthetic_inputs_are_deterministic() -> None:
    for workload in ("image-cnn", "text-bow"):
        cls = get(workload)
        assert cls.synthetic_inputs(4, seed=9) == cls.synthetic_inputs(4, seed=9)


def test_device_selection() -> None:
    assert select_device("cpu", cuda_available=lambda: True) == torch.device("cpu")
    assert select_device("auto", cuda_available=lambda: False) == torch.device("cpu")
    assert select_device("auto", cuda_available=lambda: True).type == "cuda"
    assert select_device("cuda", cuda_available=lambda: True).type == "cuda"
    with pytest.raises(InputError, match="no CUDA device"):
        select_device("cuda", cuda_available=lambda: False)
    with pytest.raises(InputError, match="unknown device preference"):
        select_device("tpu")


def test_device_name_on_cpu() -> None:
    assert device_name(torch.device("cpu")) == cpu_model_name() != ""
