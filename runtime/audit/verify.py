"""Verify an audit log: its hash chain, its signed checkpoints, and optionally what the SIEM received.

:func:`verify_log` raises :class:`~runtime.errors.VerificationError` with the precise reason (a
modified, deleted or reordered record; a truncated tail; a trimmed checkpoint file; a forged
checkpoint; a record the SIEM received that the log no longer holds) and returns a
:class:`VerifyResult` only when everything checks out. What it can and cannot prove without a
pinned key or a witness is in the result's notes and in docs/AUDIT.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from runtime.audit.chain import CHECKPOINT_ACTION, peek_log_id, system_records, walk
from runtime.audit.checkpoint import Checkpoint, read_checkpoints
from runtime.audit.log import default_checkpoint_path
from runtime.audit.record import AuditRecord
from runtime.audit.trust import KeyTrust, keys_in_log, pinned_keys
from runtime.audit.witness import Witness, compare, read_witness
from runtime.errors import InputError, VerificationError

UNPINNED_NOTE = (
    "authenticity unproven: checkpoint signatures were checked against the key(s) the log itself names, "
    "and a log rewritten from scratch with its own key passes that check too; pin the key with --key"
)


@dataclass(frozen=True)
class VerifyResult:
    """What an intact log looks like."""

    path: str
    log_id: str
    records: int
    last_hash: str
    checkpoints: int
    newest_checkpoint: Checkpoint | None
    key_id: str | None
    key_source: str | None
    """``pinned`` (given by the caller), ``log`` (recorded in the log itself) or None."""
    authenticated: bool = False
    """True only when a checkpoint verified under a pinned key: then the signer vouches for the records."""
    witnessed: int | None = None
    """Records the SIEM received that match the log (None: no witness was consulted)."""
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few human lines."""
        lines = [
            f"OK: {self.path}: {self.records} records intact, hash chain unbroken",
            f"  log id:    {self.log_id}",
            f"  last hash: {self.last_hash}",
        ]
        cp = self.newest_checkpoint
        if cp is None:
            lines.append("  checkpoints: none")
        elif self.key_source == "pinned":
            lines.append(
                f"  checkpoints: {self.checkpoints} verified (key {self.key_id}, pinned); "
                f"newest covers {cp.tree_size} records at {cp.time}"
            )
        else:
            lines.append(
                f"  checkpoints: {self.checkpoints} consistent with the key the log names ({self.key_id}, not pinned); "
                f"newest covers {cp.tree_size} records at {cp.time}"
            )
        if self.authenticated:
            lines.append("  authenticity: proven up to the newest checkpoint (signed by a pinned key)")
        else:
            lines.append("  authenticity: UNPROVEN (no checkpoint verified under a pinned key; see the notes)")
        if self.witnessed is not None:
            lines.append(f"  witness: {self.witnessed} records received by the SIEM match the log")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-ready object."""
        cp = self.newest_checkpoint
        return {
            "status": "intact",
            "path": self.path,
            "log_id": self.log_id,
            "records": self.records,
            "last_hash": self.last_hash,
            "checkpoints": self.checkpoints,
            "newest_checkpoint": None if cp is None else {"tree_size": cp.tree_size, "time": cp.time},
            "key_id": self.key_id,
            "key_source": self.key_source,
            "authenticity": "proven" if self.authenticated else "unproven",
            "witnessed_records": self.witnessed,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class _Source:
    """One checkpoint and where it came from (for messages)."""

    checkpoint: Checkpoint
    origin: str

    def describe(self, index: int) -> str:
        cp = self.checkpoint
        return f"checkpoint {index} (tree size {cp.tree_size}, {cp.time}, {self.origin})"


def _recorded(log_path: Path) -> list[tuple[AuditRecord, Checkpoint | None]]:
    """The checkpoints the chain records; None where a record's details are not a checkpoint."""
    found: list[tuple[AuditRecord, Checkpoint | None]] = []
    for record in system_records(log_path, CHECKPOINT_ACTION, skip_malformed=True):
        try:
            found.append((record, Checkpoint.from_json(record.details, f"{log_path}:{record.seq + 1}")))
        except InputError:
            found.append((record, None))
    return found


def _local_files(log_path: Path, recorded: list[tuple[AuditRecord, Checkpoint | None]]) -> list[Path]:
    """The checkpoint files the log names (relative to its folder), and ``LOG.checkpoints`` if present."""
    named = {log_path.parent / record.object: None for record, _ in recorded}
    files = list(named)
    sidecar = default_checkpoint_path(log_path)
    if sidecar not in named and sidecar.exists():
        files.append(sidecar)
    return files


def _read_local(path: Path, recorded: int) -> list[Checkpoint]:
    if not path.exists():
        raise VerificationError(
            f"checkpoint file missing: the log records {recorded} checkpoint(s) written to {path}, "
            f"which does not exist (deleted or moved)"
        )
    if not path.is_file():  # the name comes from the log, which is not yet verified: read no device or FIFO
        raise VerificationError(f"the log names {path} as its checkpoint file, but it is not a regular file")
    return read_checkpoints(path)


def _collect(
    log_path: Path,
    given: Sequence[tuple[str, Checkpoint]],
    recorded: list[tuple[AuditRecord, Checkpoint | None]],
    witness: Witness | None,
) -> tuple[list[_Source], dict[Path, set[Checkpoint]]]:
    """Every distinct checkpoint to check, first source first, and what each local file holds."""
    sources: list[_Source] = [_Source(cp, origin) for origin, cp in given]
    local: dict[Path, set[Checkpoint]] = {}
    for path in _local_files(log_path, recorded):
        count = sum(1 for record, _ in recorded if log_path.parent / record.object == path)
        held = _read_local(path, count)
        local[path] = set(held)
        sources.extend(_Source(cp, f"in {path.name}") for cp in held)
    for record, cp in recorded:
        if cp is None:
            raise VerificationError(
                f"record {record.seq} (line {record.seq + 1}) is an audit.checkpoint record whose details are not "
                f"a checkpoint ({log_path}:{record.seq + 1})"
            )
        sources.append(_Source(cp, f"recorded at record {record.seq}"))
    if witness is not None:
        sources.extend(_Source(cp, f"received by the SIEM, {seen.where}") for seen, cp in witness.checkpoints)
    unique: dict[Checkpoint, _Source] = {}
    for source in sources:
        unique.setdefault(source.checkpoint, source)
    return list(unique.values()), local


def _check_authentic(sources: list[_Source], trust: KeyTrust, log_id: str) -> None:
    """Every checkpoint belongs to this log and is signed by a key trusted for its tree size."""
    for index, source in enumerate(sources, start=1):
        cp, what = source.checkpoint, source.describe(index)
        if cp.log_id != log_id:
            raise VerificationError(f"{what} belongs to log {cp.log_id}, not to this log {log_id}")
        signer = trust.signer(cp.key_id, cp.tree_size)
        if signer is None:
            raise VerificationError(
                f"{what}: signature does not verify under the trusted key(s) {trust.names()} (it names key "
                f"{cp.key_id}): forged or altered checkpoint"
            )
        if not cp.verify_signature(signer):
            raise VerificationError(
                f"{what}: signature does not verify under key {cp.key_id}: forged or altered checkpoint"
            )


def _check_recorded(
    log_path: Path, recorded: list[tuple[AuditRecord, Checkpoint | None]], local: dict[Path, set[Checkpoint]]
) -> None:
    """Each recorded checkpoint covers exactly the records before it and is still in the file it names."""
    for record, cp in recorded:
        assert cp is not None  # _collect refused malformed checkpoint records
        where = f"{log_path}:{record.seq + 1}"
        if cp.tree_size != record.seq:
            raise VerificationError(
                f"record {record.seq} records a checkpoint of tree size {cp.tree_size} ({cp.time}); a checkpoint "
                f"record covers exactly the records before it ({where})"
            )
        path = log_path.parent / record.object
        if cp not in local.get(path, set()):
            raise VerificationError(
                f"checkpoint file trimmed: the log records checkpoint of tree size {cp.tree_size} ({cp.time}) at "
                f"record {record.seq}, but {path} does not hold it ({where})"
            )


def verify_log(
    path: str | os.PathLike[str],
    *,
    checkpoints: Sequence[Checkpoint] | None = None,
    checkpoint_files: Sequence[str | os.PathLike[str]] = (),
    public_key: Ed25519PublicKey | Sequence[Ed25519PublicKey] | None = None,
    allow_unpinned: bool = False,
    witness: Sequence[str | os.PathLike[str]] = (),
) -> VerifyResult:
    """Verify the log at ``path``.

    Checked are every record, the local checkpoint files (the ones the log's ``audit.checkpoint``
    records name, and ``LOG.checkpoints``), the checkpoints the chain records, ``checkpoints`` and
    ``checkpoint_files`` held elsewhere, and with ``witness`` the SIEM's files of received messages (see
    :mod:`runtime.audit.witness`): only a witness or a checkpoint held elsewhere shows a log that was
    cut back, or rolled back together with its checkpoint file.

    ``public_key`` pins the checkpoint key(s). Without it the caller must say ``allow_unpinned=True``:
    the keys the log itself records are then used, which shows consistency but not authenticity
    (the result says so).
    """
    log_path = Path(path)
    if public_key is None and not allow_unpinned:
        raise InputError("verify_log: pin the checkpoint key(s) with public_key, or pass allow_unpinned=True")
    regular = log_path.is_file()  # anything else is refused by the walk below, never read ahead of it
    recorded = _recorded(log_path) if regular else []
    seen = read_witness(witness, (peek_log_id(log_path) if regular else None) or "") if witness else None
    given = [("held elsewhere", cp) for cp in checkpoints or ()]
    given.extend((f"from {path}", cp) for path in checkpoint_files for cp in read_checkpoints(path))
    sources, local = _collect(log_path, given, recorded, seen)
    state = walk(log_path, roots_at={source.checkpoint.tree_size for source in sources})
    if seen is not None:
        compare(log_path, state.count, seen)

    trust = pinned_keys(public_key) if public_key is not None else keys_in_log(log_path, state.genesis)
    if sources and not trust:
        raise VerificationError(
            f"cannot check checkpoint signatures: the log records no checkpoint key; pass --key ({log_path})"
        )
    # Authenticity first, so a forged checkpoint is reported as forged rather than as a truncation.
    _check_authentic(sources, trust, state.log_id)
    newest: Checkpoint | None = None
    if sources:
        index, top = max(enumerate(sources, start=1), key=lambda item: item[1].checkpoint.tree_size)
        newest = top.checkpoint
        if newest.tree_size > state.count:  # the largest one shows everything that was cut off
            missing = (
                f"record {state.count} is"
                if newest.tree_size == state.count + 1
                else f"records {state.count}..{newest.tree_size - 1} are"
            )
            raise VerificationError(
                f"log truncated: {top.describe(index)} covers {newest.tree_size} records but the log holds "
                f"{state.count}: {missing} missing from the end"
            )
    for index, source in enumerate(sources, start=1):
        cp = source.checkpoint
        if state.roots.get(cp.tree_size, b"").hex() != cp.root_hash:
            raise VerificationError(
                f"{source.describe(index)}: its Merkle root does not match the log's first {cp.tree_size} records: "
                f"the log was rewritten after it was signed, or the checkpoint is forged"
            )
    _check_recorded(log_path, recorded, local)

    pinned = public_key is not None
    # The newest checkpoint's own record follows the tree it signs; it is no unsigned record to warn of.
    own_record = newest is not None and any(record.seq == newest.tree_size for record, _ in recorded)
    unsigned = state.count - own_record - (newest.tree_size if newest is not None else 0)
    notes = _notes(state.count, unsigned, newest, pinned, seen)
    return VerifyResult(
        path=str(log_path),
        log_id=state.log_id,
        records=state.count,
        last_hash=state.last_hash,
        checkpoints=len(sources),
        newest_checkpoint=newest,
        key_id=newest.key_id if newest is not None else None,
        key_source=("pinned" if pinned else "log") if newest is not None else None,
        authenticated=pinned and newest is not None,
        witnessed=len(seen.records) if seen is not None else None,
        notes=notes,
    )


def _notes(count: int, unsigned: int, newest: Checkpoint | None, pinned: bool, seen: Witness | None) -> list[str]:
    """What the result does not prove, in plain words."""
    notes: list[str] = []
    if newest is None:
        notes.append("no checkpoints: nothing is signed, so neither authenticity nor a truncated tail can be shown")
    else:
        if not pinned:
            notes.append(UNPINNED_NOTE)
        if unsigned > 0:
            notes.append(f"{unsigned} records after the newest checkpoint rest on the chain alone")
    if seen is None:
        notes.append(
            "no witness: a log cut back to a checkpoint together with its checkpoint file, or rolled back with it, "
            "looks intact locally; check it against the SIEM's copy with --witness"
        )
    else:
        newest_seen = seen.newest
        assert newest_seen is not None  # compare() refused a witness without records of this log
        if newest_seen.seq + 1 < count:
            notes.append(f"{count - newest_seen.seq - 1} records after record {newest_seen.seq} are not yet witnessed")
        if seen.damaged:
            notes.append(f"{seen.damaged} messages of this log at the SIEM were damaged and not used")
    return notes


def result_json(result: VerifyResult) -> str:
    """The result as one JSON document."""
    return json.dumps(result.to_json(), indent=2, sort_keys=True)
