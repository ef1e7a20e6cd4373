"""Model files pinned by SHA-256: written deterministically, verified before they are deserialised.

A model file is a ``torch.save`` archive of a plain dict (format ``phistack.model/v1``): the workload
name, its config, its labels and the ``state_dict``. It is read into memory once, its digest checked
against the pinned value, and only then parsed from those same bytes with ``weights_only=True`` —
so the file cannot change between the check and the load, and no pickle code ever runs.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from runtime.errors import InputError, VerificationError

MODEL_FORMAT = "phistack.model/v1"
_MAX_MODEL_BYTES = 2 << 30  # a guard against reading an unbounded file into memory


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def serialize_checkpoint(
    workload: str, config: Mapping[str, Any], labels: list[str], state_dict: Mapping[str, torch.Tensor]
) -> bytes:
    """The bytes of a model file. Deterministic: same weights, same bytes (saved through a buffer,
    so the archive's internal name never depends on the output file name)."""
    payload = {
        "format": MODEL_FORMAT,
        "workload": workload,
        "config": dict(config),
        "labels": list(labels),
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in state_dict.items()},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def read_pinned(path: Path, expected_sha256: str) -> bytes:
    """Read ``path`` and return its bytes only if their SHA-256 is ``expected_sha256``."""
    try:
        size = path.stat().st_size
        if size > _MAX_MODEL_BYTES:
            raise InputError(f"model file is larger than {_MAX_MODEL_BYTES} bytes ({path})")
        data = path.read_bytes()
    except FileNotFoundError as err:
        raise InputError(f"model file not found ({path})") from err
    except IsADirectoryError as err:
        raise InputError(f"model path is a directory ({path})") from err
    except OSError as err:
        raise InputError(f"cannot read model file: {err.strerror or err} ({path})") from err
    actual = sha256_hex(data)
    if actual != expected_sha256.lower():
        raise VerificationError(
            f"model file digest mismatch: sha256 {actual}, pinned {expected_sha256.lower()}; "
            f"refusing to load a tampered or wrong model ({path})"
        )
    return data


def load_pinned_checkpoint(path: Path, expected_sha256: str, workload: str) -> dict[str, Any]:
    """Verify the model file's digest, then parse it without running pickle code.

    Raises :class:`VerificationError` on a digest mismatch, :class:`InputError` on a malformed file
    or one made for another workload.
    """
    data = read_pinned(path, expected_sha256)
    try:
        checkpoint = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises a variety of types for a corrupt archive
        # torch's own message runs to a page; --verbose shows it through the cause.
        raise InputError(f"model file is not a readable weights-only archive ({path})") from err
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != MODEL_FORMAT:
        raise InputError(f"model file is not a {MODEL_FORMAT} archive ({path})")
    if checkpoint.get("workload") != workload:
        raise InputError(
            f"model file was made for workload {checkpoint.get('workload')!r}, not {workload!r} ({path})"
        )
    return checkpoint
