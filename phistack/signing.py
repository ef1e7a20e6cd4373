"""Ed25519 for the gate: signed decision records, and the signatures of waiver approvals.

Record (``phistack.decision-record/v1``)::

    {"payload": {...decision, plan and policy digests, waivers applied, findings, time...},
     "signature": {"alg": "Ed25519", "key_id": "sha256:<hex of the raw public key>", "value": "<base64>"}}

The signature covers the canonical JSON of ``payload`` (sorted keys, no spaces, UTF-8). A pipeline
verifies a record before it applies anything: signature, key, age, verdict and plan digest. Keys
and key ids are :mod:`runtime.ed25519`'s, the same as the audit log's checkpoints.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from phistack.errors import InputError, VerificationError
from phistack.findings import Decision

# Key files, key ids, conversions and payload signatures are runtime.ed25519's, shared with the audit
# log's checkpoints and de-identification manifests; they are re-exported for the gate's commands.
from runtime.ed25519 import (
    canonical,
    check_signature,
    key_id,
    load_private_key,
    load_public_key,
    public_key_from_text,
    sign,
    write_keypair,
)

__all__ = [
    "RECORD_SCHEMA",
    "canonical",
    "check_signature",
    "key_id",
    "load_private_key",
    "load_public_key",
    "parse_duration",
    "public_key_from_text",
    "sign",
    "sign_decision",
    "verify_record",
    "write_keypair",
]

RECORD_SCHEMA = "phistack.decision-record/v1"


def sign_decision(decision: Decision, key: Ed25519PrivateKey, artifact: str) -> dict[str, Any]:
    """A signed ``phistack.decision-record/v1`` of ``decision`` about ``artifact``."""
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
