"""Model files: deterministic demo files, and digest pinning that refuses a tampered model before
anything is deserialised."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from runtime.cli import main
from runtime.errors import InputError, VerificationError
from runtime.models import load_pinned_checkpoint
from runtime.workloads import get

torch.set_num_threads(1)


@pytest.mark.parametrize("workload", ["image-cnn", "text-bow"])
def test_demo_model_files_are_deterministic(workload: str) -> None:
    cls = get(workload)
    assert cls.init_model_file(seed=0) == cls.init_model_file(seed=0)
    assert cls.init_model_file(seed=0) != cls.init_model_file(seed=1)


def test_init_does_not_disturb_the_global_rng() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    get("image-cnn").init_model_file(seed=7)
    assert torch.equal(torch.rand(3), expected)


def test_model_init_command_prints_the_file_digest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model.pt"
    assert main(["model", "init", "--workload", "image-cnn", "-o", str(out)]) == 0
    digest, name = capsys.readouterr().out.split()
    assert digest == hashlib.sha256(out.read_bytes()).hexdigest() and name == str(out)
    assert main(["model", "digest", str(out)]) == 0
    assert capsys.readouterr().out.split()[0] == digest


def test_tampered_model_is_refused_before_it_is_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytearray(get("image-cnn").init_model_file(seed=0))
    pinned = hashlib.sha256(data).hexdigest()
    data[len(data) // 2] ^= 0x01
    path = tmp_path / "model.pt"
    path.write_bytes(bytes(data))

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load ran on an unverified file")

    monkeypatch.setattr(torch, "load", never)
    with pytest.raises(VerificationError, match="digest mismatch") as caught:
        get("image-cnn")().load(path, pinned)
    assert caught.value.exit_code == 1 and pinned in str(caught.value)


def test_model_for_another_workload_is_refused(tmp_path: Path) -> None:
    data = get("text-bow").init_model_file(seed=0)
    path = tmp_path / "model.pt"
    path.write_bytes(data)
    with pytest.raises(InputError, match="made for workload 'text-bow'"):
        load_pinned_checkpoint(path, hashlib.sha256(data).hexdigest(), "image-cnn")


def test_a_pickle_that_would_run_code_is_rejected_by_weights_only(tmp_path: Path) -> None:
    # Even a file whose digest is pinned must not execute code when loaded.
    import pickle

    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(Boom(), protocol=2))
    with pytest.raises(InputError, match="weights-only"):
        load_pinned_checkpoint(path, hashlib.sha256(path.read_bytes()).hexdigest(), "image-cnn")


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="model file not found"):
        load_pinned_checkpoint(tmp_path / "absent.pt", "0" * 64, "image-cnn")
