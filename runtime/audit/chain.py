"""Walk a log file's hash chain: the core that both the verifier and a reopening writer use.

The walk reads the file in large chunks and checks each line on its raw bytes (sequence number,
leaf hash, link to the previous record), so it runs at hundreds of thousands of records a second.
The first failure stops the walk with a :class:`VerificationError` that names the record and says
what is wrong; a slower second pass over the file tells a deleted record from reordered ones.
"""

from __future__ import annotations

import hashlib
import itertools
import mmap
import os
import re
import stat
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from runtime.audit.merkle import NODE_PREFIX, CompactTree
from runtime.audit.record import (
    FORMAT,
    GENESIS_ACTION,
    HASH_TAIL_LEN,
    LEAF_PREFIX,
    SYSTEM_ACTOR,
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


class _Chunks:
    """Iterate over a file as lists of complete lines; an incomplete last line is left in ``tail``."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.tail = b""
        self.consumed = 0
        """Bytes of the complete lines returned so far."""

    def __iter__(self) -> Iterator[list[bytes]]:
        return self

    def __next__(self) -> list[bytes]:
        while True:
            chunk = self._handle.read(CHUNK)
            if not chunk:
                raise StopIteration
            data = self.tail + chunk
            cut = data.rfind(b"\n") + 1
            self.tail = data[cut:]
            if cut:
                self.consumed += cut
                return data[: cut - 1].split(b"\n")


def _lines(handle: BinaryIO) -> Iterator[bytes]:
    """Every line, the incomplete last one included (slow path: diagnostics)."""
    chunks = _Chunks(handle)
    for lines in chunks:
        yield from lines
    if chunks.tail:
        yield chunks.tail


def _content_error(path: Path, seq: int, line: bytes) -> VerificationError:
    """A record whose hash does not match: malformed, or modified."""
    line_no = seq + 1
    try:
        split_line(line)
    except ValueError:
        return VerificationError(
            f"record {seq} (line {line_no}) is malformed: not a {FORMAT} record ({path}:{line_no})"
        )
    return VerificationError(
        f"record {seq} (line {line_no}) was modified: its content does not match its hash ({path}:{line_no})"
    )


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
        for number, line in enumerate(_lines(handle), start=1):
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


def peek_log_id(path: str | os.PathLike[str]) -> str | None:
    """The log id the first line names, read before any walk (None when there is none to read)."""
    try:
        with Path(path).open("rb") as handle:
            first = handle.readline(1 << 20)
        log_id = decode_record(first).details.get("log_id")
    except (OSError, InputError):
        return None
    return log_id if isinstance(log_id, str) else None


KEY_ACTION = "audit.checkpoint.key"
CHECKPOINT_ACTION = "audit.checkpoint"


def system_records(path: str | os.PathLike[str], action: str, *, skip_malformed: bool = False) -> list[AuditRecord]:
    """Every record the log wrote about itself with ``action`` (actor ``phistack.audit``), in log order.

    A byte search finds the few candidate lines; only those are parsed, and a caller's details that
    merely contain the same bytes are told apart by the parsed top-level fields. Call it on a log
    that :func:`walk` has verified, or with ``skip_malformed`` before the walk (which then reports
    any malformed line precisely).
    """
    mark = b'"action":"%s"' % action.encode("ascii")
    found: list[AuditRecord] = []
    log_path = Path(path)
    if log_path.stat().st_size == 0:
        return found  # mmap refuses an empty file
    with log_path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        pos = data.find(mark)
        while pos >= 0:
            start = data.rfind(b"\n", 0, pos) + 1
            end = data.find(b"\n", pos)
            try:
                record = decode_record(data[start : end if end >= 0 else len(data)])
            except InputError:
                if not skip_malformed:
                    raise
            else:
                if record.action == action and record.actor == SYSTEM_ACTOR:
                    found.append(record)
            pos = data.find(mark, end if end >= 0 else len(data))
    return found


def key_announcements(path: str | os.PathLike[str]) -> list[tuple[int, object]]:
    """(seq, ``checkpoint_key`` detail) of every ``audit.checkpoint.key`` record, in log order."""
    return [(record.seq, record.details.get("checkpoint_key")) for record in system_records(path, KEY_ACTION)]


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
        if not stat.S_ISREG(log_path.stat().st_mode):  # a FIFO would block the open below
            raise InputError(f"cannot read audit log: not a regular file ({log_path})")
        handle = log_path.open("rb")
    except OSError as err:
        raise InputError(f"cannot read audit log: {err.strerror or err} ({log_path})") from err
    with handle:
        chunks = _Chunks(handle)
        first_lines = next(chunks, None)
        if first_lines is None:
            if not chunks.tail:
                raise InputError(f"audit log is empty: it has no genesis record ({log_path})")
            raise VerificationError(f"record 0 (line 1) is incomplete: no newline ({log_path}:1)")
        genesis, log_id = _read_genesis(first_lines[0], log_path)
        state = ChainState(log_id=log_id, genesis=genesis)
        wanted = sorted(set(roots_at), reverse=True)
        # The tree is only needed up to the largest checkpoint, unless a writer resumes from it.
        track_until = sys.maxsize if need_tree else (wanted[0] if wanted else 0)
        next_root = wanted.pop() if wanted else -1
        roots = state.roots
        stack = state.tree._stack
        sha256 = hashlib.sha256
        fromhex = bytes.fromhex
        prev = genesis_hash(log_id).encode("ascii")
        expected = 0
        for lines in itertools.chain([first_lines], chunks):
            for line in lines:
                # Hot loop: raw-byte checks only; see record.py for the fixed-width tail.
                if not line.startswith(b'{"seq":%d,' % expected):
                    raise _diagnose_order(log_path, expected + 1, expected, _seq_of(line))
                n = len(line)
                leaf = sha256(LEAF_PREFIX + line[: n - HASH_TAIL_LEN] + b"}").digest()
                try:
                    intact = leaf == fromhex(line[n - 66 : n - 2].decode("ascii"))
                except ValueError:
                    intact = False
                if not intact:
                    raise _content_error(log_path, expected, line)
                if line[n - 140 : n - 76] != prev:
                    line_no = expected + 1
                    raise VerificationError(
                        f"chain broken at record {expected} (line {line_no}): its prev_hash is not the hash "
                        f"of record {expected - 1}, so record {expected - 1} was modified and rehashed or "
                        f"replaced ({log_path}:{line_no})"
                    )
                prev = line[n - 66 : n - 2]
                if expected < track_until:
                    # CompactTree.append, inlined: this loop runs once per record.
                    stack.append(leaf)
                    size = expected
                    while size & 1:
                        right = stack.pop()
                        stack[-1] = sha256(NODE_PREFIX + stack[-1] + right).digest()
                        size >>= 1
                    if expected + 1 == next_root:
                        state.tree.size = next_root
                        roots[next_root] = state.tree.root()
                        next_root = wanted.pop() if wanted else -1
                expected += 1
        if chunks.tail:
            line_no = expected + 1
            if not allow_torn_tail:
                raise VerificationError(
                    f"line {line_no} is an incomplete record (no newline): the log was cut mid-record "
                    f"({log_path}:{line_no})"
                )
            state.torn_bytes = len(chunks.tail)
        state.tree.size = min(expected, track_until)
        state.count = expected
        state.last_hash = prev.decode("ascii")
        state.end_offset = chunks.consumed
    return state
