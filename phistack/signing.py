"""Ed25519 for the gate: signed decision records, and the key helpers signed waiver approvals share.

Record (``phistack.decision-record/v1``)::

    {"payload": {...decision, plan and policy digests, waivers applied, findings, time...},
     "signature": {"alg": "Ed25519", "key_id": "sha256:<hex of the raw public key>", "value": "<base64>"}}

The signature covers the canonical JSON of ``payload`` (sorted keys, no spaces, UTF-8). A pipeline
verifies a record before it applies anything: signature, key, age, verdict and plan digest.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from phistack.errors import InputError, VerificationError
from phistack.findings import Decision
from runtime.fileio import write_atomic

RECORD_SCHEMA = "phistack.decision-record/v1"


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def sign(key: Ed25519PrivateKey, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"alg": "Ed25519", "key_id", "value"}`` over the canonical JSON of ``payload``."""
    return {
        "alg": "Ed25519",
        "key_id": key_id(key.public_key()),
        "value": base64.b64encode(key.sign(canonical(payload))).decode("ascii"),
    }


def check_signature(public_key: Ed25519PublicKey, value: str, payload: dict[str, Any]) -> None:
    """Raise VerificationError unless ``value`` (base64) is ``public_key``'s signature over ``payload``."""
    try:
        public_key.verify(base64.b64decode(value, validate=True), canonical(payload))
    except (InvalidSignature, ValueError):
        raise VerificationError("signature does not match: the content was altered or forged") from None


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A public key written in a data file: PEM (SubjectPublicKeyInfo) or the raw 32 bytes in base64.

    Raises ValueError with the reason; the caller names the file and key path."""
    if "-----BEGIN" in text:
        key = serialization.load_pem_public_key(text.encode("ascii", "replace"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except ValueError as err:
        raise ValueError(f"neither PEM nor base64: {err}") from None
    if len(raw) != 32:
        raise ValueError(f"a raw Ed25519 public key is 32 bytes, this is {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def _read_pem(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read {what}: {err.strerror or err}") from err


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read_pem(path, "signing key"), password=None)
    except (ValueError, TypeError) as err:
        raise InputError(f"{path}: not an unencrypted PEM private key: {err}") from err
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: signing key must be Ed25519")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read_pem(path, "public key"))
    except ValueError as err:
        raise InputError(f"{path}: not a PEM public key: {err}") from err
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path}: public key must be Ed25519")
    return key


def write_keypair(prefix: Path, *, replace_link: bool = False) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` (PKCS#8, mode 0600) and ``PREFIX.pub``; return both paths.

    ``replace_link`` replaces a symbolic link at either path by the file (``--force``); without it a link is
    refused. Whether an existing file may be replaced is the caller's decision (:func:`runtime.fileio.refuse_existing`).
    """
    key = Ed25519PrivateKey.generate()
    private = prefix.with_name(prefix.name + ".key")
    public = prefix.with_name(prefix.name + ".pub")
    write_atomic(
        private,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        mode=0o600,
        replace_link=replace_link,
    )
    write_atomic(
        public,
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        replace_link=replace_link,
    )
    return private, public


def sign_decision(decision: Decision, key: Ed25519PrivateKey, artifact: str) -> dict[str, Any]:
    payload = {**decision.to_json(), "schema_version": RECORD_SCHEMA, "artifact": artifact}
    return {"payload": payload, "signature": sign(key, payload)}


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``15m``, ``24h``, ``7d``."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise InputError(f"--max-age: expected a duration like 15m, 24h or 7d, got {text!r}")
    return dt.timedelta(seconds=int(text[:-1]) * units[text[-1]])


def verify_record(
    record: Any,
    public_key: Ed25519PublicKey,
    *,
    now: dt.datetime,
    max_age: dt.timedelta | None = None,
    require_allowed: bool = False,
    plan_digest: str | None = None,
) -> dict[str, Any]:
    """Return the payload of a valid record; raise VerificationError with the precise reason."""
    if not isinstance(record, dict) or not isinstance(record.get("payload"), dict):
        raise InputError("not a decision record: no payload object")
    payload, signature = record["payload"], record.get("signature")
    if payload.get("schema_version") != RECORD_SCHEMA:
        raise InputError(f"not a decision record: schema_version {payload.get('schema_version')!r}")
    if not isinstance(signature, dict) or signature.get("alg") != "Ed25519":
        raise VerificationError("record is not signed with Ed25519")
    if signature.get("key_id") != key_id(public_key):
        raise VerificationError(f"record was signed by key {signature.get('key_id')}, not by the key given")
    try:
        check_signature(public_key, str(signature.get("value", "")), payload)
    except VerificationError:
        raise VerificationError("signature does not match the record: it was altered or forged") from None
    evaluated = dt.datetime.fromisoformat(str(payload["evaluated_at"]).replace("Z", "+00:00"))
    if evaluated > now + dt.timedelta(minutes=5):
        raise VerificationError(f"record claims a future evaluation time {payload['evaluated_at']}")
    if max_age is not None and now - evaluated > max_age:
        raise VerificationError(f"record is stale: evaluated at {payload['evaluated_at']}, older than {max_age}")
    if require_allowed and payload.get("decision") != "allowed":
        raise VerificationError(f"the gate {payload.get('decision')} stack {payload.get('stack')!r}")
    if plan_digest is not None and payload.get("plan_digest") != plan_digest:
        raise VerificationError(
            f"record is for plan {payload.get('plan_digest')}, but the plan to apply is {plan_digest}"
        )
    return payload
