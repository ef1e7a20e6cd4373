"""Verify an audit log: its hash chain, and its signed checkpoints against the records.

:func:`verify_log` raises :class:`~runtime.errors.VerificationError` with the precise reason (a
modified, deleted or reordered record; a truncated tail; a forged checkpoint) and returns a
:class:`VerifyResult` only when everything checks out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from runtime.audit.chain import key_announcements, walk
from runtime.audit.checkpoint import Checkpoint, read_checkpoints
from runtime.audit.keys import key_id, public_from_raw
from runtime.audit.log import default_checkpoint_path
from runtime.errors import InputError, VerificationError


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
    """``pinned`` (given by the caller), ``log`` (recorded in the genesis record) or None."""
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few human lines."""
        lines = [
            f"OK: {self.path}: {self.records} records intact, hash chain unbroken",
            f"  log id:    {self.log_id}",
            f"  last hash: {self.last_hash}",
        ]
        if self.newest_checkpoint is not None:
            cp = self.newest_checkpoint
            lines.append(
                f"  checkpoints: {self.checkpoints} verified (key {self.key_id}, {self.key_source}); "
                f"newest covers {cp.tree_size} records at {cp.time}"
            )
        else:
            lines.append("  checkpoints: none")
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
            "notes": self.notes,
        }


def _describe(index: int, cp: Checkpoint) -> str:
    return f"checkpoint {index} (tree size {cp.tree_size}, {cp.time})"


def _keys_in_log(path: Path, genesis_key: object) -> dict[str, tuple[Ed25519PublicKey, int]]:
    """The checkpoint keys the log records, each with the first tree size it may sign."""
    found: list[tuple[int, object]] = [(0, genesis_key)] if genesis_key is not None else []
    found.extend(key_announcements(path))
    trusted: dict[str, tuple[Ed25519PublicKey, int]] = {}
    for seq, raw in found:
        try:
            key = public_from_raw(bytes.fromhex(raw)) if isinstance(raw, str) else None
        except (ValueError, InputError):
            key = None
        if key is None:
            raise VerificationError(f"record {seq} holds an unusable checkpoint key ({path}:{seq + 1})")
        trusted.setdefault(key_id(key), (key, seq + 1 if seq else 0))
    return trusted


def verify_log(
    path: str | os.PathLike[str],
    *,
    checkpoints: Sequence[Checkpoint] | None = None,
    public_key: Ed25519PublicKey | Sequence[Ed25519PublicKey] | None = None,
) -> VerifyResult:
    """Verify the log at ``path``.

    ``checkpoints`` defaults to the ones in ``<log>.checkpoints`` when that file exists; pass the
    copy held elsewhere (for instance at the SIEM) to detect a truncated tail. ``public_key`` pins
    the checkpoint key(s); without it the keys the log itself records are used: the genesis
    record's, and any ``audit.checkpoint.key`` record's for checkpoints that include that record.
    """
    log_path = Path(path)
    notes: list[str] = []
    if checkpoints is None:
        sidecar = default_checkpoint_path(log_path)
        checkpoints = read_checkpoints(sidecar) if sidecar.exists() else []
    state = walk(log_path, roots_at={cp.tree_size for cp in checkpoints})

    # key id -> (key, first tree size it may sign)
    trusted: dict[str, tuple[Ed25519PublicKey, int]] = {}
    if public_key is not None:
        source = "pinned"
        for pinned in [public_key] if isinstance(public_key, Ed25519PublicKey) else public_key:
            trusted[key_id(pinned)] = (pinned, 0)
    elif checkpoints:
        source = "log"
        trusted = _keys_in_log(log_path, state.genesis.details.get("checkpoint_key"))
        if not trusted:
            raise VerificationError(
                f"cannot check checkpoint signatures: the log records no checkpoint key; pass --key ({log_path})"
            )
        notes.append("checkpoint signatures checked against the keys the log records; pin them with --key")

    # Authenticity first, so a forged checkpoint is reported as forged rather than as a truncation.
    for index, cp in enumerate(checkpoints, start=1):
        what = _describe(index, cp)
        if cp.log_id != state.log_id:
            raise VerificationError(f"{what} belongs to log {cp.log_id}, not to this log {state.log_id}")
        signer, valid_from = trusted.get(cp.key_id, (None, 0))
        if signer is None or valid_from >= cp.tree_size:
            names = ", ".join(sorted(trusted))
            raise VerificationError(
                f"{what}: signature does not verify under the trusted key(s) {names} (it names key "
                f"{cp.key_id}): forged or altered checkpoint"
            )
        if not cp.verify_signature(signer):
            raise VerificationError(
                f"{what}: signature does not verify under key {cp.key_id}: forged or altered checkpoint"
            )
    newest: Checkpoint | None = None
    if checkpoints:
        index, newest = max(enumerate(checkpoints, start=1), key=lambda item: item[1].tree_size)
        if newest.tree_size > state.count:  # the largest one shows everything that was cut off
            missing = (
                f"record {state.count} is"
                if newest.tree_size == state.count + 1
                else f"records {state.count}..{newest.tree_size - 1} are"
            )
            raise VerificationError(
                f"log truncated: {_describe(index, newest)} covers {newest.tree_size} records but the log holds "
                f"{state.count}: {missing} missing from the end"
            )
    for index, cp in enumerate(checkpoints, start=1):
        if state.roots.get(cp.tree_size, b"").hex() != cp.root_hash:
            raise VerificationError(
                f"{_describe(index, cp)}: its Merkle root does not match the log's first {cp.tree_size} records: "
                f"the log was rewritten after it was signed, or the checkpoint is forged"
            )

    if newest is None:
        notes.append("no checkpoints: a truncated tail cannot be detected without one")
    elif newest.tree_size < state.count:
        notes.append(f"{state.count - newest.tree_size} records after the newest checkpoint rest on the chain alone")
    return VerifyResult(
        path=str(log_path),
        log_id=state.log_id,
        records=state.count,
        last_hash=state.last_hash,
        checkpoints=len(checkpoints),
        newest_checkpoint=newest,
        key_id=newest.key_id if newest is not None else None,
        key_source=source if checkpoints else None,
        notes=notes,
    )


def result_json(result: VerifyResult) -> str:
    """The result as one JSON document."""
    return json.dumps(result.to_json(), indent=2, sort_keys=True)
