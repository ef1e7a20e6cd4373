"""The SIEM as an outside witness: what it received of a log, read back from its own files.

The shipper sends every record, ``audit.checkpoint`` records included, as an RFC 5424 message whose
MSG is the record's exact line (see :mod:`runtime.audit.syslog`). A SIEM that writes what it
receives, one message per line (rsyslog's ``%rawmsg%``), therefore holds a copy of the log that its
writer cannot reach: :func:`read_witness` reads it back, and :func:`compare` checks the local log
against it. A record the SIEM received that the log no longer holds shows a truncation or rollback;
a record that differs shows a rewrite; two different records with one sequence number show a log
that was rolled back and written again.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from runtime.audit.chain import CHECKPOINT_ACTION
from runtime.audit.checkpoint import Checkpoint
from runtime.audit.record import HASH_TAIL_LEN, LEAF_PREFIX, SYSTEM_ACTOR, decode_record
from runtime.errors import InputError, VerificationError

# The structured data the shipper writes first: [ID log="<id>" seq="<n>" hash="<hex>" ...
_SD_RE = re.compile(rb'\[[^ =\]"]+ log="([0-9a-f]{1,64})" seq="(\d+)" hash="([0-9a-f]{64})" ')
# Escaped structured-data values never hold a bare quote, so MSG is the first record opening after them.
_RECORD_START = b' {"seq":'


@dataclass(frozen=True)
class Witnessed:
    """One record as the SIEM received it."""

    seq: int
    hash: str
    line: bytes
    where: str
    """``FILE:LINE`` of the message in the SIEM's file."""


@dataclass
class Witness:
    """What the SIEM received of one log (duplicates of at-least-once delivery folded)."""

    log_id: str
    records: dict[int, Witnessed] = field(default_factory=dict)
    checkpoints: list[tuple[Witnessed, Checkpoint]] = field(default_factory=list)
    damaged: int = 0
    """Messages of this log whose record does not match its own hash (cut short in transit or storage)."""
    other_logs: set[str] = field(default_factory=set)

    @property
    def newest(self) -> Witnessed | None:
        """The received record with the highest sequence number."""
        return self.records[max(self.records)] if self.records else None


def _parse(message: bytes) -> tuple[str, int, str, bytes] | None:
    """(log id, seq, hash, record line) of one shipped message, or None for anything else."""
    sd = _SD_RE.search(message)
    if sd is None:
        return None
    start = message.find(_RECORD_START, sd.end())
    if start < 0:
        return None
    return sd.group(1).decode(), int(sd.group(2)), sd.group(3).decode(), message[start + 1 :].rstrip(b"\r")


def _intact(line: bytes, seq: int, digest: str) -> bool:
    """The line is the record the structured data names, and its hash is its own."""
    n = len(line)
    if n <= HASH_TAIL_LEN or not line.startswith(b'{"seq":%d,' % seq) or line[n - 66 : n - 2] != digest.encode():
        return False
    return hashlib.sha256(LEAF_PREFIX + line[: n - HASH_TAIL_LEN] + b"}").hexdigest() == digest


def read_witness(paths: Iterable[str | os.PathLike[str]], log_id: str) -> Witness:
    """Read the SIEM's files of received messages and keep what belongs to ``log_id``.

    Raises :class:`InputError` when a file cannot be read or holds no shipped audit record at all,
    and :class:`VerificationError` when the SIEM received two different records with one sequence
    number (the log was rolled back and written again).
    """
    witness = Witness(log_id)
    shipped = 0
    for path in paths:
        try:
            if not stat.S_ISREG(Path(path).stat().st_mode):  # a FIFO or device would block or never end
                raise InputError(f"cannot read witness: not a regular file ({path})")
            data = Path(path).read_bytes()
        except OSError as err:
            raise InputError(f"cannot read witness: {err.strerror or err} ({path})") from err
        for number, message in enumerate(data.split(b"\n"), start=1):
            parsed = _parse(message)
            if parsed is None:
                continue
            shipped += 1
            owner, seq, digest, line = parsed
            if owner != log_id:
                witness.other_logs.add(owner)
                continue
            if not _intact(line, seq, digest):
                witness.damaged += 1
                continue
            _add(witness, Witnessed(seq, digest, line, f"{path}:{number}"))
    if not shipped:
        files = ", ".join(str(path) for path in paths)
        raise InputError(f"witness holds no shipped audit record (expected the SIEM's received messages) ({files})")
    return witness


def _add(witness: Witness, record: Witnessed) -> None:
    seen = witness.records.get(record.seq)
    if seen is not None:
        if seen.hash != record.hash:
            raise VerificationError(
                f"the SIEM received two different records {record.seq} ({seen.where} and {record.where}): "
                f"the log was rolled back and written again"
            )
        return  # a resend: at-least-once delivery
    witness.records[record.seq] = record
    if b'"action":"%s"' % CHECKPOINT_ACTION.encode() in record.line:
        parsed = decode_record(record.line)
        if parsed.action == CHECKPOINT_ACTION and parsed.actor == SYSTEM_ACTOR:
            witness.checkpoints.append((record, Checkpoint.from_json(parsed.details, record.where)))


def compare(log_path: Path, count: int, witness: Witness) -> None:
    """Check the verified log at ``log_path`` (``count`` records) against what the SIEM received."""
    if not witness.records:
        held = f" (it holds log(s) {', '.join(sorted(witness.other_logs))})" if witness.other_logs else ""
        damaged = f"; {witness.damaged} of its messages were damaged" if witness.damaged else ""
        raise VerificationError(
            f"the SIEM received no record of log {witness.log_id}{held}{damaged}: this log never reached it, "
            f"or it was replaced by another one"
        )
    local = _hashes_at(log_path, {seq for seq in witness.records if seq < count})
    for seq in sorted(local):
        received = witness.records[seq]
        if local[seq] != received.hash:
            raise VerificationError(
                f"record {seq} (line {seq + 1}) differs from the copy the SIEM received ({received.where}): "
                f"the log was rolled back or rewritten after record {seq} was shipped ({log_path}:{seq + 1})"
            )
    newest = witness.newest
    assert newest is not None
    if newest.seq >= count:
        missing = f"record {count} is" if newest.seq == count else f"records {count}..{newest.seq} are"
        raise VerificationError(
            f"log truncated or rolled back: the SIEM received record {newest.seq} ({newest.where}) but the log "
            f"holds {count} records: {missing} missing from the end"
        )


def _hashes_at(log_path: Path, wanted: set[int]) -> dict[int, str]:
    """The ``hash`` member of the records at the ``wanted`` sequence numbers (of a verified log)."""
    found: dict[int, str] = {}
    if not wanted:
        return found
    last = max(wanted)
    with log_path.open("rb") as handle:
        for seq, line in enumerate(handle):
            if seq in wanted:
                found[seq] = line.rstrip(b"\n")[-66:-2].decode("ascii")
            if seq >= last:
                break
    return found
