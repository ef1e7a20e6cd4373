"""The audit log writer: chained appends, batched fsync, periodic signed checkpoints, optional shipping.

Typical use::

    with AuditLog.open("audit.log", signing_key=key) as log:
        log.append("svc:runtime", "data.access", "s3://bucket/study-1", "success", {"bytes": 1024})

Appends are thread-safe. Records reach the disk in batches (every ``sync_every`` records, or
``sync_interval_s`` after the oldest unsynced one, whichever comes first); :meth:`AuditLog.sync`
forces it. A background thread writes due fsyncs and checkpoints, including checkpoints while no
records arrive, so a verifier holding the newest checkpoint can tell a truncated log from a quiet one.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from runtime.audit.chain import CHECKPOINT_ACTION, KEY_ACTION, key_announcements, walk
from runtime.audit.checkpoint import Checkpoint
from runtime.audit.errors import AuditUnavailableError, SpoolFullError
from runtime.audit.merkle import CompactTree
from runtime.audit.record import (
    FORMAT,
    GENESIS_ACTION,
    SYSTEM_ACTOR,
    AuditRecord,
    encode_with_leaf,
    genesis_hash,
    rfc3339,
)
from runtime.audit.spool import Spool, SpoolPolicy
from runtime.ed25519 import key_id, raw_public
from runtime.errors import InputError

if TYPE_CHECKING:
    from runtime.audit.shipper import Shipper, SyslogTarget

Clock = Callable[[], float]

# Actions the log writes about itself (alerts travel to the SIEM like any other record).
SPOOL_FULL = "audit.spool.full"
SPOOL_OVERFLOW = "audit.spool.overflow"
SPOOL_RECOVERED = "audit.spool.recovered"
LOG_REPAIRED = "audit.log.repaired"
RESERVED_PREFIX = "audit."


def default_checkpoint_path(path: str | os.PathLike[str]) -> Path:
    """Where checkpoints go unless told otherwise: ``<log>.checkpoints``."""
    return Path(f"{os.fspath(path)}.checkpoints")


class AuditLog:
    """An append-only, hash-chained audit log with signed RFC 6962 checkpoints. Use :meth:`open`."""

    def __init__(self, path: Path, handle: Any, *, state: dict[str, Any], options: dict[str, Any]) -> None:
        self.path = path
        self._file = handle
        self._lock = threading.RLock()
        self._closed = False
        self.log_id: str = state["log_id"]
        self._seq: int = state["seq"]
        self._last_hash: str = state["last_hash"]
        self._tree: CompactTree = state["tree"]
        self._end: int = state["end"]
        self._durable = self._end
        self._durable_cond = threading.Condition()
        self._unsynced = 0
        self._first_unsynced = 0.0
        self._clock: Clock = options["clock"]
        self._key: Ed25519PrivateKey | None = options["signing_key"]
        self.checkpoint_path: Path = options["checkpoint_path"]
        # Recorded relative to the log's folder, so a verifier finds the file next to a copied log.
        self._checkpoint_name = os.path.relpath(self.checkpoint_path, path.parent)
        self._interval = float(options["checkpoint_interval_s"])
        self._sync_every = int(options["sync_every"])
        self._sync_interval = float(options["sync_interval_s"])
        self._cp_file: Any = None
        self._next_checkpoint_at = self._clock() + self._interval
        self.checkpoints_written = 0
        self._background_error: BaseException | None = None
        self._spool_policy: SpoolPolicy | None = options["spool"]
        self.spool: Spool | None = None
        self._full_since: str | None = None
        self._refused = 0
        self._ticker: _Ticker | None = None
        self._shipper: Shipper | None = None

    # -- opening -------------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        signing_key: Ed25519PrivateKey | None = None,
        checkpoint_path: str | os.PathLike[str] | None = None,
        checkpoint_interval_s: float = 60.0,
        clock: Clock | None = None,
        sync_every: int = 1000,
        sync_interval_s: float = 0.05,
        background: bool = True,
        spool: SpoolPolicy | None = None,
        shipper: SyslogTarget | None = None,
    ) -> AuditLog:
        """Open (or create) the log at ``path`` for appending.

        ``signing_key`` signs checkpoints (none are written without it); they go to
        ``checkpoint_path`` (default ``<log>.checkpoints``) every ``checkpoint_interval_s`` seconds
        by ``clock`` (default :func:`time.time`), whether or not records arrived, and each is also
        appended as an ``audit.checkpoint`` record (so it is chained and shipped). ``sync_every`` and
        ``sync_interval_s`` batch fsyncs. ``background=False`` leaves due work to :meth:`tick`.
        ``spool`` bounds the unshipped backlog; ``shipper`` starts a forwarder thread to a syslog
        TLS receiver (and implies a default spool policy). An existing log is walked and checked
        first: a broken chain raises :class:`~runtime.errors.VerificationError` rather than being
        extended; an incomplete last line (a torn write) is cut off and an ``audit.log.repaired``
        record says so.
        """
        if checkpoint_interval_s <= 0 or sync_interval_s <= 0 or sync_every < 1:
            raise InputError("checkpoint_interval_s and sync_interval_s must be positive, sync_every at least 1")
        log_path = Path(path)
        options: dict[str, Any] = {
            "clock": clock or time.time,
            "signing_key": signing_key,
            "checkpoint_path": Path(checkpoint_path) if checkpoint_path else default_checkpoint_path(log_path),
            "checkpoint_interval_s": checkpoint_interval_s,
            "sync_every": sync_every,
            "sync_interval_s": sync_interval_s,
            "spool": spool if spool is not None or shipper is None else SpoolPolicy(),
        }
        try:
            fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        except OSError as err:
            raise InputError(f"cannot open audit log: {err.strerror or err} ({log_path})") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            raise InputError(f"audit log is open in another writer ({log_path})") from err
        try:
            created = os.fstat(fd).st_size == 0
            torn = 0
            if created:
                state: dict[str, Any] = {
                    "log_id": uuid.uuid4().hex,
                    "seq": 0,
                    "tree": CompactTree(),
                    "end": 0,
                }
                state["last_hash"] = genesis_hash(state["log_id"])
            else:
                chain = walk(log_path, need_tree=True, allow_torn_tail=True)
                torn = chain.torn_bytes
                if torn:
                    os.ftruncate(fd, chain.end_offset)
                state = {
                    "log_id": chain.log_id,
                    "seq": chain.count,
                    "last_hash": chain.last_hash,
                    "tree": chain.tree,
                    "end": chain.end_offset,
                }
            handle = os.fdopen(fd, "ab", buffering=1 << 20)
        except BaseException:
            os.close(fd)
            raise
        log = cls(log_path, handle, state=state, options=options)
        try:
            if created:
                log._write_genesis()
                _fsync_dir(log_path)
            if torn:
                log._append_locked(
                    SYSTEM_ACTOR,
                    LOG_REPAIRED,
                    log_path.name,
                    "failure",
                    {"discarded_bytes": torn},
                    bypass=True,
                )
                log.sync()
            if signing_key is not None and not created:
                log._announce_key(chain.genesis.details.get("checkpoint_key"))
            if options["spool"] is not None:
                log.spool = Spool(log_path, log.log_id)
            if shipper is not None:
                from runtime.audit.shipper import Shipper

                log._shipper = Shipper(shipper, log_path, log.log_id, spool=log.spool, source=log)
                log._shipper.start()
            if background:
                log._ticker = _Ticker(log)
                log._ticker.start()
        except BaseException:
            log.close()
            raise
        return log

    def _write_genesis(self) -> None:
        details: dict[str, Any] = {"format": FORMAT, "log_id": self.log_id}
        if self._key is not None:
            public = self._key.public_key()
            details["checkpoint_key"] = raw_public(public).hex()
            details["checkpoint_key_id"] = key_id(public)
        self._append_locked(SYSTEM_ACTOR, GENESIS_ACTION, self.path.name, "success", details, bypass=True)
        self.sync()

    def _announce_key(self, genesis_key: object) -> None:
        """Record a checkpoint key the log has not recorded yet, so verifiers can trust it from here on."""
        assert self._key is not None
        public = self._key.public_key()
        current = raw_public(public).hex()
        announced = [genesis_key, *(raw for _seq, raw in key_announcements(self.path))]
        if announced[-1] == current:
            return
        details = {"checkpoint_key": current, "checkpoint_key_id": key_id(public)}
        self._append_locked(SYSTEM_ACTOR, KEY_ACTION, self.path.name, "success", details, bypass=True)
        self.sync()

    # -- appending -----------------------------------------------------------------------------------
    def append(
        self, actor: str, action: str, object: str, outcome: str, details: dict[str, Any] | None = None
    ) -> AuditRecord:
        """Append one event and return its record. ``outcome`` is ``success``, ``failure`` or ``denied``.

        Raises :class:`~runtime.errors.InputError` for a malformed event and
        :class:`~runtime.audit.errors.AuditUnavailableError` (for instance
        :class:`~runtime.audit.errors.SpoolFullError`) when the event cannot be recorded; the
        caller must then not perform the operation the event describes.
        """
        if isinstance(action, str) and action.startswith(RESERVED_PREFIX):
            raise InputError(f"audit record: actions {RESERVED_PREFIX}* are written by the log itself, got {action!r}")
        with self._lock:
            return self._append_locked(actor, action, object, outcome, details, bypass=False)

    def _append_locked(
        self, actor: str, action: str, obj: str, outcome: str, details: dict[str, Any] | None, *, bypass: bool
    ) -> AuditRecord:
        if self._closed:
            raise AuditUnavailableError(f"audit log is closed ({self.path})")
        if self._background_error is not None:
            raise AuditUnavailableError(
                f"audit log failed in the background: {self._background_error} ({self.path})"
            ) from self._background_error
        now = self._clock()
        record, leaf = encode_with_leaf(self._seq, now, actor, action, obj, outcome, details, self._last_hash)
        if self.spool is not None and not bypass:
            self._make_room(len(record.line) + 1)
            if record.seq != self._seq:  # alert records went first: chain onto them
                record, leaf = encode_with_leaf(self._seq, now, actor, action, obj, outcome, details, self._last_hash)
        try:
            self._file.write(record.line + b"\n")
        except OSError as err:
            raise AuditUnavailableError(f"cannot write audit log: {err.strerror or err} ({self.path})") from err
        self._tree.append(leaf)
        self._seq += 1
        self._last_hash = record.hash
        self._end += len(record.line) + 1
        if not self._unsynced:
            self._first_unsynced = time.monotonic()
        self._unsynced += 1
        if self._unsynced >= self._sync_every:
            if self._ticker is not None:
                self._ticker.wake()  # group commit: the fsync runs there, appends go on meanwhile
            else:
                self._sync_locked()
        if not bypass and now >= self._next_checkpoint_at:
            self._checkpoint_locked()
        return record

    # -- durability ------------------------------------------------------------------------------------
    def sync(self) -> None:
        """Write every appended record to disk now (flush + fsync)."""
        with self._lock:
            self._sync_locked()

    flush = sync

    def _sync_locked(self) -> None:
        if self._closed:
            return
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as err:
            raise AuditUnavailableError(f"cannot sync audit log: {err.strerror or err} ({self.path})") from err
        self._unsynced = 0
        self._mark_durable(self._end)

    def _background_sync(self) -> None:
        """Flush under the lock, fsync outside it, so appends never wait for the disk."""
        with self._lock:
            if self._closed or not self._unsynced:
                return
            due = self._unsynced >= self._sync_every
            if not due and time.monotonic() - self._first_unsynced < self._sync_interval:
                return
            try:
                self._file.flush()
            except OSError as err:
                raise AuditUnavailableError(f"cannot write audit log: {err.strerror or err} ({self.path})") from err
            offset = self._end
            self._unsynced = 0
            fd = self._file.fileno()
        try:
            os.fsync(fd)  # the ticker is joined before close(), so fd is still open
        except OSError as err:
            raise AuditUnavailableError(f"cannot sync audit log: {err.strerror or err} ({self.path})") from err
        self._mark_durable(offset)

    def _mark_durable(self, offset: int) -> None:
        with self._durable_cond:
            if offset > self._durable:
                self._durable = offset
            self._durable_cond.notify_all()

    @property
    def durable_offset(self) -> int:
        """Bytes of the log known to be on disk; a shipper never reads past them."""
        return self._durable

    def wait_durable(self, offset: int, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for the durable end to pass ``offset``; return the durable end."""
        with self._durable_cond:
            if self._durable <= offset and not self._closed:
                self._durable_cond.wait(timeout)
            return self._durable

    # -- checkpoints --------------------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint | None:
        """Sync, then sign and write a checkpoint of every record so far (None without a signing key)."""
        with self._lock:
            if self._closed:
                raise AuditUnavailableError(f"audit log is closed ({self.path})")
            return self._checkpoint_locked()

    def _checkpoint_locked(self) -> Checkpoint | None:
        now = self._clock()
        self._next_checkpoint_at = now + self._interval
        if self._key is None:
            return None
        self._sync_locked()
        cp = Checkpoint.sign(self._key, self.log_id, self._tree.size, self._tree.root().hex(), rfc3339(now))
        try:
            if self._cp_file is None:
                self._cp_file = open(self.checkpoint_path, "ab")  # noqa: SIM115 - kept open across checkpoints
            self._cp_file.write(cp.to_line())
            self._cp_file.flush()
            os.fsync(self._cp_file.fileno())
        except OSError as err:
            raise AuditUnavailableError(
                f"cannot write checkpoint: {err.strerror or err} ({self.checkpoint_path})"
            ) from err
        self.checkpoints_written += 1
        # Enter the checkpoint into the chain as well: trimming the checkpoint file then shows, and the
        # record travels to the SIEM, an outside witness of the log's length and root.
        details = cp.to_json()
        self._append_locked(SYSTEM_ACTOR, CHECKPOINT_ACTION, self._checkpoint_name, "success", details, bypass=True)
        self._sync_locked()
        return cp

    def tick(self) -> None:
        """Do what is due now: a batched fsync, a checkpoint; the background thread calls it."""
        self._background_sync()
        with self._lock:
            if self._closed:
                return
            if self._clock() >= self._next_checkpoint_at:
                self._checkpoint_locked()

    def _tick_period(self) -> float:
        return min(max(min(self._sync_interval, self._interval / 4), 0.005), 1.0)

    # -- the spool -----------------------------------------------------------------------------------
    def _make_room(self, size: int) -> None:
        spool, policy = self.spool, self._spool_policy
        assert spool is not None and policy is not None
        acked = spool.acked(max_age_s=0.1)[0]
        if self._end - acked + size > policy.max_pending_bytes:
            acked = spool.acked()[0]
        if self._end - acked + size <= policy.max_pending_bytes:
            if self._full_since is not None:
                details = {"full_since": self._full_since, "refused_appends": self._refused}
                self._full_since, self._refused = None, 0
                self._append_locked(SYSTEM_ACTOR, SPOOL_RECOVERED, self.path.name, "success", details, bypass=True)
            return
        if policy.on_full == "drop-oldest":
            self._drop_oldest(acked, self._end + size - policy.max_pending_bytes // 2)
            return
        if self._full_since is None:
            self._full_since = rfc3339(self._clock())
            details = {"max_pending_bytes": policy.max_pending_bytes, "pending_bytes": self._end - acked}
            self._append_locked(SYSTEM_ACTOR, SPOOL_FULL, self.path.name, "failure", details, bypass=True)
        self._sync_locked()  # whatever the shipper may still send must be visible to it
        deadline = time.monotonic() + policy.block_timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            with spool.changed:
                spool.changed.wait(min(remaining, 0.05))  # also polls a forwarder in another process
            acked = spool.acked()[0]
            if self._end - acked + size <= policy.max_pending_bytes:
                return self._make_room(size)
        self._refused += 1
        raise SpoolFullError(
            f"audit spool full: {self._end - acked} bytes not yet confirmed by the SIEM "
            f"(limit {policy.max_pending_bytes}, policy block): event refused ({self.path})"
        )

    def _drop_oldest(self, acked: int, target: int) -> None:
        """Give up shipping the records between ``acked`` and ``target`` (rounded up to a record end)."""
        assert self.spool is not None
        self._file.flush()
        with self.path.open("rb") as handle:
            handle.seek(acked)
            data = handle.read(max(target - acked, 0) + (1 << 20))
        offset, first, last, count = acked, None, None, 0
        for line in data.split(b"\n")[:-1]:
            if offset >= target:
                break
            seq = int(line[7 : line.index(b",")])
            first = seq if first is None else first
            last, count = seq, count + 1
            offset += len(line) + 1
        if first is None or last is None:
            return
        self.spool.advance(offset, last + 1)
        details = {
            "policy": "drop-oldest",
            "first_seq": first,
            "last_seq": last,
            "records": count,
            "bytes": offset - acked,
        }
        self._append_locked(SYSTEM_ACTOR, SPOOL_OVERFLOW, self.path.name, "failure", details, bypass=True)

    # -- state and closing ----------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of records in the log (the genesis record included)."""
        return self._seq

    @property
    def last_hash(self) -> str:
        """Hash of the newest record."""
        return self._last_hash

    @property
    def public_key(self) -> Ed25519PublicKey | None:
        """The checkpoint verification key, when the log signs checkpoints."""
        return self._key.public_key() if self._key is not None else None

    @property
    def shipper(self) -> Shipper | None:
        """The in-process forwarder, when one was configured."""
        return self._shipper

    def close(self, *, drain_timeout_s: float = 5.0) -> None:
        """Sync, write a final checkpoint, let the shipper drain (bounded) and release the log."""
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        failure: BaseException | None = None
        with self._lock:
            if self._closed:
                return
            try:
                self._sync_locked()
                if self._key is not None:
                    self._checkpoint_locked()
            except BaseException as err:  # still release everything below, then report it
                failure = err
            finally:
                self._closed = True
                with self._durable_cond:
                    self._durable_cond.notify_all()
        try:
            if self._shipper is not None:
                self._shipper.stop(drain_timeout_s=drain_timeout_s)
        finally:
            if self._cp_file is not None:
                self._cp_file.close()
            self._file.close()  # closing the descriptor releases the flock
        if failure is not None:
            raise failure

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Ticker(threading.Thread):
    """Calls :meth:`AuditLog.tick` on a short period until stopped."""

    def __init__(self, log: AuditLog) -> None:
        super().__init__(name=f"audit-ticker-{log.log_id[:8]}", daemon=True)
        self._log = log
        self._stop_event = threading.Event()
        self._wake = threading.Event()

    def wake(self) -> None:
        """Run a tick now (a batch of records is waiting for its fsync)."""
        self._wake.set()

    def run(self) -> None:
        period = self._log._tick_period()
        while not self._stop_event.is_set():
            self._wake.wait(period)
            self._wake.clear()
            if self._stop_event.is_set():
                return
            try:
                self._log.tick()
            except BaseException as err:  # surfaced by the next append: fail closed, never silently
                self._log._background_error = err
                return

    def stop(self) -> None:
        self._stop_event.set()
        self._wake.set()
        if self is not threading.current_thread():
            self.join(timeout=5.0)


def _fsync_dir(path: Path) -> None:
    """Make the creation of ``path`` durable."""
    fd = os.open(path.parent if str(path.parent) else ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
