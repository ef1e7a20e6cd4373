"""The shipping spool: the log file itself, plus the persistent offset up to which the SIEM confirmed receipt.

The audit log on disk is the source of truth. What has not reached the SIEM yet is the byte range
from the acknowledged offset to the end of the log; that backlog is "the spool". Its size is
bounded by :class:`SpoolPolicy`: when it is full, ``block`` refuses appends (fail closed) and
``drop-oldest`` gives up shipping the oldest records (they stay in the local log) — either way an
alert record is appended. The acknowledged offset lives in ``<log>.shipped`` and is updated under
an advisory lock, so a forwarder in another process (``phistack audit ship``) and the writer share it.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runtime.errors import InputError
from runtime.fileio import write_atomic

SPOOL_FORMAT = "phistack.audit.spool/v1"
OnFull = Literal["block", "drop-oldest"]


@dataclass(frozen=True)
class SpoolPolicy:
    """How much unshipped log may pile up, and what happens beyond that."""

    max_pending_bytes: int = 64 << 20
    """Bytes of log not yet confirmed by the SIEM before the spool counts as full."""
    on_full: OnFull = "block"
    """``block``: appends wait up to ``block_timeout_s`` for the backlog to drain, then raise
    :class:`~runtime.audit.errors.SpoolFullError`. ``drop-oldest``: the oldest unshipped records are
    skipped (down to half the limit) and an ``audit.spool.overflow`` record says which."""
    block_timeout_s: float = 1.0

    def __post_init__(self) -> None:
        if self.on_full not in ("block", "drop-oldest"):
            raise InputError(f"spool policy on_full must be 'block' or 'drop-oldest', got {self.on_full!r}")
        if self.max_pending_bytes <= 0:
            raise InputError("spool max_pending_bytes must be positive")
        if self.block_timeout_s < 0:
            raise InputError("spool block_timeout_s must not be negative")


def state_path_for(log_path: str | os.PathLike[str]) -> Path:
    """Where the acknowledged offset of a log is kept."""
    return Path(f"{os.fspath(log_path)}.shipped")


class Spool:
    """The acknowledged position (byte offset and record count) of one log, shared across processes."""

    def __init__(self, log_path: str | os.PathLike[str], log_id: str, state_path: str | os.PathLike[str] | None = None):
        self.log_path = Path(log_path)
        self.log_id = log_id
        self.state_path = Path(state_path) if state_path is not None else state_path_for(log_path)
        self._lock_path = Path(f"{self.state_path}.lock")
        self._offset = 0
        self._seq = 0
        self._stamp: tuple[int, int] = (-1, -1)
        self._checked = 0.0
        self.changed = threading.Condition()
        self._mutex = threading.RLock()  # the writer and an in-process shipper share this object
        self._load()

    # -- reading -----------------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            stat = self.state_path.stat()
        except FileNotFoundError:
            return
        if (stat.st_ino, stat.st_mtime_ns) == self._stamp:
            return
        try:
            obj = json.loads(self.state_path.read_text(encoding="utf-8"))
            if obj.get("format") != SPOOL_FORMAT:
                raise ValueError(f"not a {SPOOL_FORMAT} file")
            if obj.get("log_id") != self.log_id:
                raise ValueError(f"it belongs to log {obj.get('log_id')}, not {self.log_id}")
            offset, seq = int(obj["offset"]), int(obj["seq"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise InputError(f"unreadable spool state: {err} ({self.state_path})") from err
        self._stamp = (stat.st_ino, stat.st_mtime_ns)
        self._offset, self._seq = max(self._offset, offset), max(self._seq, seq)

    def acked(self, *, max_age_s: float = 0.0) -> tuple[int, int]:
        """(byte offset, record count) confirmed so far; re-reads the file if older than ``max_age_s``."""
        with self._mutex:
            now = time.monotonic()
            if now - self._checked >= max_age_s:
                self._checked = now
                self._load()
            return self._offset, self._seq

    # -- writing -----------------------------------------------------------------------------------
    def advance(self, offset: int, seq: int) -> None:
        """Move the acknowledged position forward (never back), durably, under the cross-process lock."""
        with self._mutex, self._lock_path.open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                self._stamp = (-1, -1)
                self._load()
                if offset <= self._offset:
                    return
                self._offset, self._seq = offset, seq
                payload = {"format": SPOOL_FORMAT, "log_id": self.log_id, "offset": offset, "seq": seq}
                write_atomic(self.state_path, json.dumps(payload) + "\n")
                self._stamp = (-1, -1)  # re-read on next look: cheap, and never stale
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        with self.changed:
            self.changed.notify_all()
