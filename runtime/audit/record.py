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
from typing import Any, NamedTuple

from runtime.errors import InputError

FORMAT = "phistack.audit/v1"
OUTCOMES = frozenset({"success", "failure", "denied"})
# RFC 5424 MSGID is at most 32 printable ASCII characters; actions travel there when shipped.
ACTION_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")

# Size bounds. A shipped message is the record line plus a header of under 9 KiB (hostname, app
# name, hashes, and actor and object once more, up to 4 UTF-8 bytes a character, in the structured
# data), so a line of at most MAX_RECORD_BYTES fits a SIEM whose message limit is 64 KiB (rsyslog
# maxMessageSize="64k").
MAX_RECORD_BYTES = 52 * 1024
MAX_NAME_CHARS = 1024  # actor and object (an S3 key is up to 1024 bytes); they travel twice
MAX_VALUE_CHARS = 2048  # any string in details, and any key
CUT_MARK = "...[cut: {chars} chars, sha256:{digest}]"

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


class AuditRecord(NamedTuple):
    """One appended event, as written to the log (``line`` is authoritative: the exact bytes, no newline)."""

    seq: int
    time: str
    actor: str
    action: str
    object: str
    outcome: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
    line: bytes


# The C encoders behind json.dumps, called directly: appends are the hot path.
_json_string = json.encoder.encode_basestring_ascii
_json_details = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False).encode


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"audit record: {name} must be a non-empty string, got {value!r}")
    return cut_text(value, MAX_NAME_CHARS)


def cut_text(value: str, limit: int) -> str:
    """``value`` itself when at most ``limit`` characters, else a prefix that names the full value.

    The cut value keeps the start (readable) and records the length and SHA-256 of the full UTF-8
    value, so a copy of the original can still be matched against the record.
    """
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    mark = CUT_MARK.format(chars=len(value), digest=digest)
    return value[: max(limit - len(mark), 0)] + mark


def cut_values(value: Any, limit: int = MAX_VALUE_CHARS) -> Any:
    """``value`` (JSON-like) with every string and key cut to ``limit`` characters by :func:`cut_text`."""
    if isinstance(value, str):
        return cut_text(value, limit)
    if isinstance(value, dict):
        return {cut_text(k, limit) if isinstance(k, str) else k: cut_values(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [cut_values(item, limit) for item in value]
    return value


def bound_details(details: dict[str, Any], details_json: str, room: int) -> tuple[dict[str, Any], str]:
    """Details whose JSON fits in ``room`` bytes: long strings cut, else a digest of the whole.

    Callers pass details that already failed to fit; the result always fits (it is at most a
    fixed-size summary).
    """
    cut = cut_values(details)
    cut_json = _json_details(cut)
    if len(cut_json) <= room:
        return cut, cut_json
    # Too many values even when each is short: keep only the size and digest of the original.
    summary = {
        "cut": {
            "bytes": len(details_json),
            "sha256": hashlib.sha256(details_json.encode("ascii")).hexdigest(),
            "keys": cut_text(",".join(sorted(str(k) for k in details)), 512),
        }
    }
    return summary, _json_details(summary)


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
    return encode_with_leaf(seq, ts, actor, action, obj, outcome, details, prev_hash)[0]


def encode_with_leaf(
    seq: int,
    ts: float,
    actor: str,
    action: str,
    obj: str,
    outcome: str,
    details: dict[str, Any] | None,
    prev_hash: str,
) -> tuple[AuditRecord, bytes]:
    """:func:`encode_record`, also returning the raw 32-byte leaf hash (for the Merkle tree)."""
    actor = _text("actor", actor)
    if not isinstance(action, str) or not ACTION_RE.match(action):
        raise InputError(
            f"audit record: action must match {ACTION_RE.pattern} (it becomes the syslog MSGID), got {action!r}"
        )
    obj = _text("object", obj)
    if outcome not in OUTCOMES:
        raise InputError(f"audit record: outcome must be one of {sorted(OUTCOMES)}, got {outcome!r}")
    actor_json, obj_json = _json_string(actor), _json_string(obj)
    if not details:
        if details is not None and not isinstance(details, dict):
            raise InputError(f"audit record: details must be a JSON object, got {type(details).__name__}")
        details, details_json = {}, "{}"
    else:
        if not isinstance(details, dict):
            raise InputError(f"audit record: details must be a JSON object, got {type(details).__name__}")
        try:
            # ASCII-only output keeps every line plain ASCII: byte-identical through syslog, no BOM question.
            details_json = _json_details(details)
        except (TypeError, ValueError) as err:
            raise InputError(f"audit record: details are not JSON-serialisable: {err}") from err
        # The line's other members (seq, time, action, outcome, hashes) take under 512 bytes.
        room = MAX_RECORD_BYTES - 512 - len(actor_json) - len(obj_json)
        if len(details_json) > room:
            details, details_json = bound_details(details, details_json, room)
    stamp = rfc3339(ts)
    body = (
        f'{{"seq":{seq},"time":"{stamp}","actor":{actor_json},"action":"{action}",'
        f'"object":{obj_json},"outcome":"{outcome}","details":{details_json},'
        f'"prev_hash":"{prev_hash}"}}'
    ).encode("ascii")
    leaf = hashlib.sha256(LEAF_PREFIX + body).digest()
    digest = leaf.hex()
    line = body[:-1] + HASH_TAG + digest.encode("ascii") + b'"}'
    return AuditRecord(seq, stamp, actor, action, obj, outcome, details, prev_hash, digest, line), leaf


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
