"""The workload plugin interface.

A workload turns decrypted input bytes into records, runs a pinned torch model over them in batches,
and turns the predictions into output bytes. The runner never sees plaintext formats; it only moves
bytes between the cipher and a workload. A plugin subclasses :class:`Workload`, sets ``name`` and
``summary``, implements the abstract methods and registers itself (:mod:`runtime.workloads.registry`).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from runtime.errors import InputError
from runtime.models import load_pinned_checkpoint, serialize_checkpoint, sha256_hex

RESULTS_FORMAT = "phistack.results/v1"
T = TypeVar("T")


@dataclass(frozen=True)
class Record:
    """One unit of input: an id the data owner chose, and the workload-specific value."""

    id: str
    value: Any


@dataclass(frozen=True)
class Prediction:
    """One unit of output: the record id, the top label and one score per label."""

    id: str
    label: str
    scores: tuple[float, ...]


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items (the last one may be shorter)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Workload(ABC):
    """A model-backed classification workload. Instances are loaded once per job."""

    name: ClassVar[str]
    summary: ClassVar[str]
    input_format: ClassVar[str]

    def __init__(self, device: torch.device | None = None) -> None:
        self.device = device or torch.device("cpu")
        self.model: nn.Module | None = None
        self.labels: list[str] = []
        self.model_sha256: str | None = None

    # --- what a plugin provides -------------------------------------------------------------

    @classmethod
    @abstractmethod
    def default_config(cls) -> dict[str, Any]:
        """The architecture settings a new model file records (and ``build_model`` reads)."""

    @classmethod
    @abstractmethod
    def default_labels(cls) -> list[str]:
        """The class labels of a new model file."""

    @classmethod
    @abstractmethod
    def build_model(cls, config: dict[str, Any], num_labels: int) -> nn.Module:
        """An untrained module for ``config``; its forward takes what :meth:`collate` returns."""

    @abstractmethod
    def decode(self, payload: bytes, source: str) -> list[Record]:
        """Parse decrypted input bytes into records; raise :class:`InputError` naming ``source``."""

    @abstractmethod
    def collate(self, batch: Sequence[Record]) -> tuple[torch.Tensor, ...]:
        """Turn a batch of records into the model's input tensors, on ``self.device``."""

    @classmethod
    @abstractmethod
    def synthetic_inputs(cls, count: int, seed: int) -> bytes:
        """Plaintext input bytes of ``count`` synthetic records (no real data) for demos and tests."""

    # --- shared behaviour -------------------------------------------------------------------

    @classmethod
    def init_model_file(cls, seed: int = 0) -> bytes:
        """Deterministic bytes of a demo model file: the same seed gives the same SHA-256."""
        generator_state = torch.random.get_rng_state()
        try:
            torch.manual_seed(seed)
            config = cls.default_config()
            labels = cls.default_labels()
            model = cls.build_model(config, len(labels))
        finally:
            torch.random.set_rng_state(generator_state)
        return serialize_checkpoint(cls.name, config, labels, model.state_dict())

    def load(self, model_path: Path, expected_sha256: str) -> None:
        """Verify the model file against its pinned digest, then build and load the module."""
        checkpoint = load_pinned_checkpoint(model_path, expected_sha256, self.name)
        labels = checkpoint.get("labels")
        config = checkpoint.get("config")
        if not isinstance(labels, list) or not labels or not isinstance(config, dict):
            raise InputError(f"model file lacks labels or config ({model_path})")
        model = self.build_model(config, len(labels))
        try:
            model.load_state_dict(checkpoint["state_dict"], strict=True)
        except (RuntimeError, KeyError) as err:
            raise InputError(f"model weights do not fit the {self.name} architecture ({model_path})") from err
        self.model = model.to(self.device).eval()
        self.labels = [str(label) for label in labels]
        self.model_sha256 = expected_sha256.lower()

    def run(self, batches: Iterable[Sequence[Record]]) -> list[Prediction]:
        """Run the loaded model over ``batches``; one prediction per record, in input order."""
        if self.model is None:
            raise RuntimeError("load() the model before run()")
        predictions: list[Prediction] = []
        with torch.inference_mode():
            for batch in batches:
                probabilities = torch.softmax(self.model(*self.collate(batch)), dim=-1).cpu()
                top = probabilities.argmax(dim=-1).tolist()
                for record, best, row in zip(batch, top, probabilities.tolist(), strict=True):
                    scores = tuple(round(p, 6) for p in row)
                    predictions.append(Prediction(record.id, self.labels[best], scores))
        return predictions

    def encode(self, predictions: Sequence[Prediction]) -> bytes:
        """The output document: canonical JSON (sorted keys), so equal results are equal bytes."""
        document = {
            "format": RESULTS_FORMAT,
            "workload": self.name,
            "model_sha256": self.model_sha256,
            "labels": self.labels,
            "predictions": [{"id": p.id, "label": p.label, "scores": list(p.scores)} for p in predictions],
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def describe(self) -> dict[str, Any]:
        """A summary for audit records (never data)."""
        return {"workload": self.name, "model_sha256": self.model_sha256, "device": str(self.device)}


def results_digest(payload: bytes) -> str:
    """SHA-256 of an output document, recorded in the audit log so outputs can be matched later."""
    return sha256_hex(payload)
