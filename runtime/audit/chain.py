"""Walk a log file's hash chain: the core that both the verifier and a reopening writer use.

The walk reads the file in large chunks and checks each line on its raw bytes (sequence number,
leaf hash, link to the previous record), so it runs at hundreds of thousands of records a second.
The first failure stops the walk with a :class:`VerificationError` that names the record and says
what is wrong; a slower second pass over the file tells a deleted record from reordered ones.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from runtime.audit.merkle import CompactTree
from runtime.audit.record import (
    FORMAT,
    GENESIS_ACTION,
    LEAF_PREFIX,
    AuditRecord,
    decode_record,
    genesis_hash,
    split_line,
)
from runtime.errors import InputError, VerificationError

CHUNK = 8 << 20
_SEQ_RE = re.compile(rb'^\{"seq":(\d+),')


@dataclass
class ChainState:
    """What a successful walk learned about the log."""

    log_id: str
    genesis: AuditRecord
    count: int = 0
    last_hash: str = ""
    end_offset: int = 0
    """Byte offset just after the last complete record."""
    torn_bytes: int = 0
    """Bytes of an incomplete last line (a write cut short); only when the walk allows them."""
    tree: CompactTree = field(default_factory=CompactTree)
    roots: dict[int, bytes] = field(default_factory=dict)
    """Merkle roots captured at the requested tree sizes."""


def _lines(handle: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """Yield (line, complete) pairs; only the final one can be incomplete (no newline)."""
    carry = b""
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            break
        parts = (carry + chunk).split(b"\n")
        carry = parts.pop()
        for line in parts:
            yield line, True
    if carry:
        yield carry, False


def _seq_of(line: bytes) -> int | None:
    match = _SEQ_RE.match(line)
    return int(match.group(1)) if match else None


def _diagnose_order(path: Path, line_no: int, expected: int, found: int | None) -> VerificationError:
    """Explain why the record at ``line_no`` does not carry ``expected``: deleted, reordered or duplicated."""
    where = f"{path}:{line_no}"
    if found is None:
        return VerificationError(f"record {expected} (line {line_no}) is malformed: no sequence number ({where})")
    if found < expected:  # every record before ``expected`` was already seen in order
        return VerificationError(
            f"record {found} appears again at line {line_no} where record {expected} belongs "
            f"(duplicated or replayed record) ({where})"
        )
    later: int | None = None
    with path.open("rb") as handle:
        for number, (line, _complete) in enumerate(_lines(handle), start=1):
            if number > line_no and _seq_of(line) == expected:
                later = number
                break
    if later is not None:
        return VerificationError(
            f"records reordered: line {line_no} holds record {found} where record {expected} belongs "
            f"(record {expected} is at line {later}) ({where})"
        )
    after = f"right after record {expected - 1}" if expected else "at the start of the log"
    missing = f"record {expected} is" if found == expected + 1 else f"records {expected}..{found - 1} are"
    return VerificationError(f"{missing} missing (deleted): line {line_no} holds record {found} {after} ({where})")


def _read_genesis(line: bytes, path: Path) -> tuple[AuditRecord, str]:
    seq = _seq_of(line)
    if seq is not None and seq != 0:
        raise _diagnose_order(path, 1, 0, seq)
    try:
        genesis = decode_record(line)
    except InputError as err:
        raise VerificationError(f"record 0 (line 1) is not a valid genesis record: {err} ({path}:1)") from err
    log_id = genesis.details.get("log_id")
    if genesis.action != GENESIS_ACTION or not isinstance(log_id, str) or genesis.details.get("format") != FORMAT:
        raise VerificationError(
            f"record 0 (line 1) is not a {FORMAT} genesis record (action {GENESIS_ACTION!r} with a log_id) ({path}:1)"
        )
    if genesis.prev_hash != genesis_hash(log_id):
        raise VerificationError(f"record 0 (line 1): prev_hash is not the genesis hash of log {log_id} ({path}:1)")
    return genesis, log_id


def walk(
    path: str | os.PathLike[str],
    *,
    roots_at: Collection[int] = (),
    need_tree: bool = False,
    allow_torn_tail: bool = False,
) -> ChainState:
    """Check every record of the log at ``path`` and return the chain's state.

    ``roots_at`` names tree sizes whose Merkle roots to capture (for checkpoints); ``need_tree``
    keeps the compact tree of every record (for a writer that resumes the log). Raises
    :class:`VerificationError` at the first broken record and :class:`InputError` when the file
    cannot be read or holds no records.
    """
    log_path = Path(path)
    try:
        handle = log_path.open("rb")
    except OSError as err:
        raise InputError(f"cannot read audit log: {err.strerror or err} ({log_path})") from err
    with handle:
        lines = _lines(handle)
        first = next(lines, None)
        if first is None:
            raise InputError(f"audit log is empty: it has no genesis record ({log_path})")
        if not first[1] and not allow_torn_tail:
            raise VerificationError(f"record 0 (line 1) is incomplete: no newline ({log_path}:1)")
        genesis, log_id = _read_genesis(first[0], log_path)
        state = ChainState(log_id=log_id, genesis=genesis)
        wanted = frozenset(roots_at)
        track = need_tree or bool(wanted)
        tree = state.tree
        roots = state.roots
        sha256 = hashlib.sha256
        prev = genesis_hash(log_id).encode("ascii")
        offset = 0
        expected = 0
        pending: Iterator[tuple[bytes, bool]] = iter([first])
        for source in (pending, lines):
            for line, complete in source:
                line_no = expected + 1
                if not complete:
                    if allow_torn_tail:
                        state.torn_bytes = len(line)
                        break
                    raise VerificationError(
                        f"line {line_no} is an incomplete record (no newline): the log was cut mid-record "
                        f"({log_path}:{line_no})"
                    )
                if not line.startswith(b'{"seq":%d,' % expected):
                    raise _diagnose_order(log_path, line_no, expected, _seq_of(line))
                try:
                    body, prev_hex, hash_hex = split_line(line)
                except ValueError:
                    raise VerificationError(
                        f"record {expected} (line {line_no}) is malformed: not a {FORMAT} record ({log_path}:{line_no})"
                    ) from None
                leaf = sha256(LEAF_PREFIX + body).digest()
                if leaf.hex().encode("ascii") != hash_hex:
                    raise VerificationError(
                        f"record {expected} (line {line_no}) was modified: its content does not match its "
                        f"hash ({log_path}:{line_no})"
                    )
                if prev_hex != prev:
                    raise VerificationError(
                        f"chain broken at record {expected} (line {line_no}): its prev_hash is not the hash "
                        f"of record {expected - 1}, so record {expected - 1} was modified and rehashed or "
                        f"replaced ({log_path}:{line_no})"
                    )
                prev = hash_hex
                if track:
                    tree.append(leaf)
                    if expected + 1 in wanted:
                        roots[expected + 1] = tree.root()
                expected += 1
                offset += len(line) + 1
        state.count = expected
        state.last_hash = prev.decode("ascii")
        state.end_offset = offset
    return state
