"""The de-identification manifest (``phistack.deid-manifest/v1``): what was done to a dataset, signed.

A de-identification run writes its output directory and a manifest beside it::

    {"payload": {
        "schema_version": "phistack.deid-manifest/v1",
        "dataset": "<name>",
        "method": {"kind": "<one of METHODS>", "profile": "...", "edition": "...",
                   "options": [...], ...},
        "tool": {"name": "phistack", "version": "..."},
        "created_at": "<RFC 3339 UTC>",
        "outputs": [{"path": "<relative POSIX path>", "sha256": "<hex>", "input_sha256": "<hex>"}, ...],
        "quarantined": [{"input_sha256": "<hex>", "reason": "..."}, ...],
        "rejected": [{"input_sha256": "<hex>" | null, "reason": "..."}, ...],
        "counts": {"<what>": <int>, ...},
        "dataset_digest": "sha256:<hex>"},
     "signature": {"alg": "Ed25519", "key_id": "sha256:<hex>", "value": "<base64>"}}

Inputs are named by digest only: input paths (folder names such as a patient's name) may themselves be PHI.
``dataset_digest`` is the SHA-256 of the ``SHA256SUMS``-style listing of the outputs (``<sha256>  <path>``,
one per line, sorted by path), so one string names the exact bytes a workload may load. The signature is
:func:`runtime.ed25519.sign` over the canonical JSON of ``payload``.

Verification never returns a boolean: it raises :class:`~runtime.errors.VerificationError` with the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from runtime.ed25519 import check_signature, sign
from runtime.errors import InputError, VerificationError
from runtime.fileio import write_atomic

SCHEMA = "phistack.deid-manifest/v1"
DEIDENTIFYING_METHODS = ("safe-harbor", "expert-determination", "dicom-annex-e")
"""Methods whose output a signer may vouch for as de-identified (the gate and the runtime accept no other)."""
METHODS = (*DEIDENTIFYING_METHODS, "limited-data-set")
"""What a run did. ``limited-data-set`` (identifiers removed but dates kept, e.g. shifted; 45 CFR 164.514(e)) is
recorded truthfully and is still PHI: no signer may vouch for it as de-identified."""
_HEX64 = frozenset("0123456789abcdef")
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_digest(outputs: Iterable[Mapping[str, Any]]) -> str:
    """``sha256:`` of the sorted ``<sha256>  <path>`` listing of ``outputs``."""
    listing = "".join(f"{o['sha256']}  {o['path']}\n" for o in sorted(outputs, key=lambda o: str(o["path"])))
    return "sha256:" + hashlib.sha256(listing.encode("utf-8")).hexdigest()


def build_payload(
    *,
    dataset: str,
    method: Mapping[str, Any],
    tool_version: str,
    outputs: list[dict[str, Any]],
    quarantined: list[dict[str, Any]],
    rejected: list[dict[str, Any]],
    counts: Mapping[str, int],
    created_at: dt.datetime,
) -> dict[str, Any]:
    """The manifest payload of one run (see the module docstring); ``outputs`` sorted by path."""
    if method.get("kind") not in METHODS:
        raise ValueError(f"method kind must be one of {', '.join(METHODS)}")
    ordered = sorted(outputs, key=lambda o: str(o["path"]))
    return {
        "schema_version": SCHEMA,
        "dataset": dataset,
        "method": dict(method),
        "tool": {"name": "phistack", "version": tool_version},
        "created_at": created_at.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "outputs": ordered,
        "quarantined": sorted(quarantined, key=lambda q: (str(q.get("input_sha256")), str(q["reason"]))),
        "rejected": sorted(rejected, key=lambda r: (str(r.get("input_sha256")), str(r["reason"]))),
        "counts": dict(sorted(counts.items())),
        "dataset_digest": dataset_digest(ordered),
    }


def sign_manifest(payload: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signed manifest document."""
    return {"payload": payload, "signature": sign(key, payload)}


def write_manifest(path: Path, document: Mapping[str, Any]) -> None:
    write_atomic(path, json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def load_manifest(path: Path) -> dict[str, Any]:
    """Read a manifest file; unreadable or not JSON is bad input naming the file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: de-identification manifest not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read de-identification manifest: {err}") from err
    except json.JSONDecodeError as err:
        raise InputError(f"{path}:{err.lineno}: malformed JSON in de-identification manifest: {err.msg}") from err
    if not isinstance(document, dict):
        raise InputError(f"{path}: a de-identification manifest must be a JSON object")
    return document


def _check_shape(payload: dict[str, Any]) -> None:
    if payload.get("schema_version") != SCHEMA:
        raise VerificationError(f"not a {SCHEMA} manifest")
    method = payload.get("method")
    if not isinstance(method, dict) or method.get("kind") not in METHODS:
        raise VerificationError(f"manifest method.kind must be one of {', '.join(METHODS)}")
    outputs = payload.get("outputs")
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict)
        and isinstance(o.get("path"), str)
        and _safe_relative(o["path"])
        and isinstance(o.get("sha256"), str)
        and len(o["sha256"]) == 64
        and set(o["sha256"]) <= _HEX64
        for o in outputs
    ):
        raise VerificationError("manifest outputs must be relative paths inside the dataset with SHA-256 digests")
    if payload.get("dataset_digest") != dataset_digest(outputs):
        raise VerificationError("manifest dataset_digest does not match its outputs")


def _safe_relative(path: str) -> bool:
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and all(part not in ("", ".", "..") for part in parts)


def verify_manifest(document: Mapping[str, Any], trusted: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
    """The payload of ``document`` once its shape, its signer (a key in ``trusted``, by key id) and its
    signature check out; VerificationError naming what failed otherwise."""
    payload, signature = document.get("payload"), document.get("signature")
    if not isinstance(signature, dict) or signature.get("alg") != "Ed25519":
        raise VerificationError("manifest is not signed (no Ed25519 signature)")
    if not isinstance(payload, dict):
        raise VerificationError(f"not a {SCHEMA} manifest")
    _check_shape(payload)
    signer = signature.get("key_id")
    public_key = trusted.get(str(signer))
    if public_key is None:
        raise VerificationError(f"manifest signed by {signer}, which is not a trusted de-identification signer")
    try:
        check_signature(public_key, str(signature.get("value", "")), payload)
    except VerificationError:
        raise VerificationError("manifest signature does not match: the manifest was altered or forged") from None
    return payload


def listing(directory: Path) -> set[str]:
    """Every file under ``directory``, as the relative POSIX paths a manifest's outputs use."""
    return {
        (Path(root) / name).relative_to(directory).as_posix()
        for root, _dirs, files in os.walk(directory)
        for name in files
    }


def verify_dataset(payload: Mapping[str, Any], directory: Path) -> None:
    """Raise VerificationError unless ``directory`` holds exactly the manifest's outputs, byte for byte."""
    expected = {o["path"]: o["sha256"] for o in payload["outputs"]}
    extra = sorted(listing(directory) - set(expected))
    if extra:
        raise VerificationError(f"{directory}: {extra[0]} is not in the de-identification manifest")
    for path, digest in sorted(expected.items()):
        target = directory / path
        if not target.is_file() or target.is_symlink():
            raise VerificationError(f"{directory}: {path} is listed in the manifest but missing")
        if file_sha256(target) != digest:
            raise VerificationError(f"{directory}: {path} does not match its digest in the manifest")
