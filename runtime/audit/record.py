"""The audit record: one JSON line per event, hash-chained to the previous one.

A record is written with its members in a fixed order::

    {"seq":N,"time":"...","actor":"...","action":"...","object":"...","outcome":"...",
     "details":{...},"prev_hash":"<hex>","hash":"<hex>"}

``hash`` is the RFC 6962 leaf hash of the record's *body* — the line without its ``,"hash":"..."``
member — that is ``SHA-256(0x00 || body)``. The same value chains the log (the next record's
``prev_hash``) and is the record's leaf in the Merkle tree that checkpoints sign, so a verifier hashes
each record once. Because ``hash`` and ``prev_hash`` sit at fixed offsets from the end of the line,
the verifier checks the chain on the raw bytes without a JSON parse.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from runtime.errors import InputError

FORMAT = "phistack.audit/v1"
OUTCOMES = frozenset({"success", "failure", "denied"})
# RFC 5424 MSGID is at most 32 printable ASCII characters; actions travel there when shipped.
ACTION_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")

GENESIS_ACTION = "audit.log.open"
SYSTEM_ACTOR = "phistack.audit"

LEAF_PREFIX = b"\x00"
HASH_TAG = b',"hash":"'  # the member that closes every line
PREV_TAG = b',"prev_hash":"'
# ,"hash":"<64 hex>"}  — the fixed-width tail of every line (without the newline)
HASH_TAIL_LEN = len(HASH_TAG) + 64 + 2
# ,"prev_hash":"<64 hex>"}  — the fixed-width tail of every body
PREV_TAIL_LEN = len(PREV_TAG) + 64 + 2


def genesis_hash(log_id: str) -> str:
    """The ``prev_hash`` of record 0: binds the chain to its log id so logs cannot be spliced."""
    return hashlib.sha256(f"{FORMAT} genesis {log_id}".encode()).hexdigest()


def leaf_hash(body: bytes) -> bytes:
    """RFC 6962 leaf hash of a record body."""
    return hashlib.sha256(LEAF_PREFIX + body).digest()


_time_cache: tuple[int, str] = (-1, "")


def rfc3339(ts: float) -> str:
    """UTC RFC 3339 time with microseconds, e.g. ``2026-05-09T07:35:25.123456Z``."""
    global _time_cache
    whole = int(ts)
    micros = round((ts - whole) * 1_000_000)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    cached_second, prefix = _time_cache
    if cached_second != whole:
        # Formatting the seconds once per second keeps appends cheap.
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _time_cache = (whole, prefix)
    return f"{prefix}.{micros:06d}Z"


@dataclass(frozen=True)
class AuditRecord:
    """One appended event, as written to the log."""

    seq: int
    time: str
    actor: str
    action: str
    object: str
    outcome: str
    details: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""
    line: bytes = b""
    """The exact bytes of the record in the log, without the newline."""


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"audit record: {name} must be a non-empty string, got {value!r}")
    return value


def encode_record(
    seq: int,
    ts: float,
    actor: str,
    action: str,
    obj: str,
    outcome: str,
    details: dict[str, Any] | None,
    prev_hash: str,
) -> AuditRecord:
    """Validate the fields and build the record with its line and hash."""
    _text("actor", actor)
    if not isinstance(action, str) or not ACTION_RE.match(action):
        raise InputError(
            f"audit record: action must match {ACTION_RE.pattern} (it becomes the syslog MSGID), got {action!r}"
        )
    _text("object", obj)
    if outcome not in OUTCOMES:
        raise InputError(f"audit record: outcome must be one of {sorted(OUTCOMES)}, got {outcome!r}")
    if details is None:
        details = {}
    if not isinstance(details, dict):
        raise InputError(f"audit record: details must be a JSON object, got {type(details).__name__}")
    try:
        # ensure_ascii keeps every line plain ASCII: byte-identical through syslog, no BOM question.
        details_json = json.dumps(details, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InputError(f"audit record: details are not JSON-serialisable: {err}") from err
    stamp = rfc3339(ts)
    body = (
        f'{{"seq":{seq},"time":"{stamp}","actor":{json.dumps(actor)},"action":"{action}",'
        f'"object":{json.dumps(obj)},"outcome":"{outcome}","details":{details_json},'
        f'"prev_hash":"{prev_hash}"}}'
    ).encode("ascii")
    digest = leaf_hash(body).hex()
    line = body[:-1] + HASH_TAG + digest.encode("ascii") + b'"}'
    return AuditRecord(seq, stamp, actor, action, obj, outcome, details, prev_hash, digest, line)


def split_line(line: bytes) -> tuple[bytes, bytes, bytes]:
    """Split a record line into (body, prev_hash hex, hash hex) by its fixed-width tail.

    Raises ValueError when the line does not have the record layout.
    """
    n = len(line)
    if n < HASH_TAIL_LEN + PREV_TAIL_LEN or line[n - HASH_TAIL_LEN : n - HASH_TAIL_LEN + len(HASH_TAG)] != HASH_TAG:
        raise ValueError("not a record line")
    if line[-2:] != b'"}':
        raise ValueError("not a record line")
    body = line[: n - HASH_TAIL_LEN] + b"}"
    if body[-PREV_TAIL_LEN : -PREV_TAIL_LEN + len(PREV_TAG)] != PREV_TAG:
        raise ValueError("not a record line")
    return body, body[-66:-2], line[-66:-2]


def decode_record(line: bytes) -> AuditRecord:
    """Parse a record line fully (slow path: used for the genesis record, diagnostics and shipping)."""
    try:
        obj = json.loads(line)
    except ValueError as err:
        raise InputError(f"not a JSON record: {err}") from err
    if not isinstance(obj, dict):
        raise InputError("not a JSON record: not an object")
    try:
        return AuditRecord(
            seq=int(obj["seq"]),
            time=str(obj["time"]),
            actor=str(obj["actor"]),
            action=str(obj["action"]),
            object=str(obj["object"]),
            outcome=str(obj["outcome"]),
            details=dict(obj.get("details") or {}),
            prev_hash=str(obj["prev_hash"]),
            hash=str(obj["hash"]),
            line=line,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"record lacks a field or has a wrong type: {err}") from err
