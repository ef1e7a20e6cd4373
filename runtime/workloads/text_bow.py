"""Built-in: clinical text classification with a hashed bag of words (unigrams and bigrams)
averaged in an ``EmbeddingBag`` and a linear layer.

Input: JSON Lines, one ``{"id": str, "text": str}`` per line (UTF-8). Tokens are hashed with
BLAKE2b (stable across processes, unlike Python's ``hash``) into a fixed number of buckets, so the
model needs no vocabulary file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from runtime.errors import InputError
from runtime.workloads.base import Record, Workload
from runtime.workloads.registry import register

_TOKEN = re.compile(r"[a-z0-9]+")


def hash_tokens(text: str, buckets: int) -> list[int]:
    """Bucket ids of the lower-cased unigrams and bigrams of ``text`` (at least one id)."""
    words = _TOKEN.findall(text.lower())
    grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return [_bucket(gram, buckets) for gram in grams] or [0]


def _bucket(gram: str, buckets: int) -> int:
    return int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little") % buckets


class _BagOfWords(nn.Module):
    def __init__(self, buckets: int, dim: int, num_labels: int) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag(buckets, dim, mode="mean")
        self.head = nn.Linear(dim, num_labels)

    def forward(self, tokens: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.head(self.embedding(tokens, offsets))


@register
class TextBow(Workload):
    """Clinical note routing: one specialty label per note."""

    name = "text-bow"
    summary = "clinical text classification: hashed bag-of-words embedding + linear over note text"
    input_format = "jsonl {id, text}"

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        return {"buckets": 1 << 14, "dim": 32}

    @classmethod
    def default_labels(cls) -> list[str]:
        return ["cardiology", "pulmonology", "oncology", "general"]

    @classmethod
    def build_model(cls, config: dict[str, Any], num_labels: int) -> nn.Module:
        buckets, dim = config.get("buckets"), config.get("dim")
        if not (isinstance(buckets, int) and buckets > 0 and isinstance(dim, int) and dim > 0):
            raise InputError("text-bow model config needs positive integers 'buckets' and 'dim'")
        return _BagOfWords(buckets, dim, num_labels)

    @property
    def _buckets(self) -> int:
        if not isinstance(self.model, _BagOfWords):
            raise RuntimeError("load() the model first")
        return self.model.embedding.num_embeddings

    def decode(self, payload: bytes, source: str) -> list[Record]:
        records: list[Record] = []
        try:
            lines = payload.decode("utf-8").splitlines()
        except UnicodeDecodeError as err:
            raise InputError(f"notes are not UTF-8 ({source})") from err
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"line is not JSON: {err.msg} ({source}:{number})") from err
            valid = isinstance(item, dict) and all(isinstance(item.get(k), str) for k in ("id", "text"))
            if not valid:
                raise InputError(f'each line needs string "id" and "text" ({source}:{number})')
            records.append(Record(item["id"], item["text"]))
        return records

    def collate(self, batch: Sequence[Record]) -> tuple[torch.Tensor, ...]:
        buckets = self._buckets
        ids: list[int] = []
        offsets: list[int] = []
        for record in batch:
            offsets.append(len(ids))
            ids.extend(hash_tokens(record.value, buckets))
        return (
            torch.tensor(ids, dtype=torch.long).to(self.device, non_blocking=True),
            torch.tensor(offsets, dtype=torch.long).to(self.device, non_blocking=True),
        )

    @classmethod
    def synthetic_inputs(cls, count: int, seed: int) -> bytes:
        """Synthetic notes built from templates: no real patients, names or dates."""
        rng = random.Random(seed)
        findings = {
            "cardiology": ["chest pain radiating to left arm", "troponin elevated", "atrial fibrillation"],
            "pulmonology": ["productive cough and wheeze", "reduced breath sounds at base", "low spo2"],
            "oncology": ["mass on imaging, biopsy planned", "follow up after chemotherapy", "weight loss"],
            "general": ["annual review, no complaints", "medication refill requested", "minor laceration"],
        }
        specialties = sorted(findings)
        lines = []
        for n in range(count):
            topic = specialties[n % len(specialties)]
            parts = rng.sample(findings[topic], 2)
            text = f"Patient {rng.randint(20, 90)}y presents with {parts[0]}; {parts[1]}."
            lines.append(json.dumps({"id": f"note-{seed:04d}-{n:05d}", "text": text}, sort_keys=True))
        return ("\n".join(lines) + "\n").encode("utf-8")
