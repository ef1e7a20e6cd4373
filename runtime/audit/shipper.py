"""Ship audit records to the customer's SIEM: syslog over TLS 1.3, at least once.

The log file is the spool. The shipper reads records from the acknowledged offset, sends each as an
RFC 5424 message in an RFC 5425 frame, and confirms receipt by closing the TLS session: it sends
close_notify and waits for the receiver's close_notify and end of stream with no reset, which a
receiver can only answer after reading every byte before it. Only then does the acknowledged offset
move (``<log>.shipped``). A failure anywhere — connect, handshake, send, close — drops the connection
and resends everything after the acknowledged offset, so the SIEM may see a record twice (it
de-duplicates by ``seq``) but never misses one. RFC 5425 itself has no acknowledgements; this
session-level confirmation is what lets a plain syslog/TLS receiver serve as the ack.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from runtime.audit.errors import ShippingError
from runtime.audit.spool import Spool
from runtime.audit.syslog import DEFAULT_SD_ID, MessageFormatter
from runtime.audit.tls import client_context, describe_tls_error

READ_CHUNK = 1 << 20
SEND_BATCH = 256 << 10


@dataclass(frozen=True)
class SyslogTarget:
    """Where and how to ship: a syslog receiver speaking TLS 1.3 (RFC 5425)."""

    host: str
    port: int
    ca_file: str | os.PathLike[str]
    """CA certificate(s) that must have issued the receiver's certificate (nothing else is trusted)."""
    server_name: str | None = None
    """Name checked against the receiver's certificate; defaults to ``host``."""
    client_cert: str | os.PathLike[str] | None = None
    """Client certificate (PEM) for mutual TLS."""
    client_key: str | os.PathLike[str] | None = None
    hostname: str | None = None
    """RFC 5424 HOSTNAME of the messages; defaults to this machine's name."""
    app_name: str = "phistack"
    sd_id: str = DEFAULT_SD_ID
    connect_timeout_s: float = 5.0
    commit_interval_s: float = 1.0
    """Confirm receipt (and advance the acknowledged offset) at least this often while sending."""
    commit_bytes: int = 8 << 20
    """... or after this many bytes of records, whichever comes first."""
    retry_initial_s: float = 0.1
    retry_max_s: float = 5.0
    max_message_bytes: int = 64 << 10
    """The receiver's message size limit (rsyslog ``maxMessageSize``): a longer message would arrive
    truncated, so it is never sent and never confirmed (shipping stops there with an error)."""

    @property
    def address(self) -> str:
        """``host:port`` for messages."""
        return f"{self.host}:{self.port}"


class LogSource(Protocol):
    """Tells the shipper how far the log may be read."""

    def wait_durable(self, offset: int, timeout: float) -> int:
        """Wait up to ``timeout`` for the readable end to pass ``offset``; return the readable end."""
        ...


class FileTail:
    """A log written by another process: readable up to the end of its file."""

    def __init__(self, path: str | os.PathLike[str], poll_s: float = 0.05) -> None:
        self.path = Path(path)
        self.poll_s = poll_s

    def wait_durable(self, offset: int, timeout: float) -> int:
        """Poll the file size until it passes ``offset`` or ``timeout`` runs out."""
        deadline = time.monotonic() + timeout
        while True:
            size = self.path.stat().st_size
            remaining = deadline - time.monotonic()
            if size > offset or remaining <= 0:
                return size
            time.sleep(min(self.poll_s, remaining))


@dataclass
class ShipStats:
    """Counters of one shipper."""

    records_sent: int = 0
    """Records written to the socket, resends included."""
    records_confirmed: int = 0
    """Records whose receipt the receiver confirmed (each counted once)."""
    connections: int = 0
    commits: int = 0
    failures: int = 0
    last_error: str | None = None
    errors: list[str] = field(default_factory=list)


class _Permanent(ShippingError):
    """A failure retrying will not fix by itself (certificate, protocol version)."""


class Shipper:
    """Forwards one log to one syslog/TLS receiver; run it as a thread or call :meth:`ship_pending`."""

    def __init__(
        self,
        target: SyslogTarget,
        log_path: str | os.PathLike[str],
        log_id: str,
        *,
        spool: Spool | None = None,
        source: LogSource | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.target = target
        self.log_path = Path(log_path)
        self.spool = spool if spool is not None else Spool(log_path, log_id)
        self.source: LogSource = source if source is not None else FileTail(log_path)
        self.formatter = MessageFormatter(
            log_id, hostname=target.hostname, app_name=target.app_name, sd_id=target.sd_id
        )
        self._ctx = client_context(target.ca_file, client_cert=target.client_cert, client_key=target.client_key)
        self._on_error = on_error
        self.stats = ShipStats()
        self._conn: ssl.SSLSocket | None = None
        self._conn_started = 0.0
        self._conn_bytes = 0
        self._pos = 0  # next byte of the log to send on this connection
        self._next_seq = 0
        self._fd = -1
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._drain_until = 0.0
        self._retry_at = 0.0
        self._backoff = target.retry_initial_s

    # -- connection ---------------------------------------------------------------------------------
    def connect(self) -> None:
        """Open a TLS 1.3 session to the receiver; raises :class:`ShippingError` with the reason."""
        target = self.target
        try:
            raw = socket.create_connection((target.host, target.port), timeout=target.connect_timeout_s)
        except OSError as err:
            raise ShippingError(f"cannot connect to the SIEM at {target.address}: {err.strerror or err}") from err
        try:
            conn = self._ctx.wrap_socket(raw, server_hostname=target.server_name or target.host)
        except ssl.SSLError as err:
            raw.close()
            raise _Permanent(describe_tls_error(err, target.address)) from err
        except OSError as err:
            raw.close()
            raise ShippingError(f"TLS handshake with the SIEM at {target.address} failed: {err}") from err
        if conn.version() != "TLSv1.3":  # belt and braces: the context already forbids anything else
            conn.close()
            raise _Permanent(f"the SIEM at {target.address} negotiated {conn.version()}, not TLS 1.3")
        self._conn = conn
        self._conn_started = time.monotonic()
        self._conn_bytes = 0
        self.stats.connections += 1

    def _drop(self) -> None:
        """Abandon the connection; everything after the acknowledged offset will be sent again."""
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None
        self._pos, self._next_seq = self.spool.acked()

    def _commit(self) -> None:
        """Close the session cleanly and, if the receiver read everything, acknowledge what was sent."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        end, seq = self._pos, self._next_seq
        try:
            conn.settimeout(self.target.connect_timeout_s)
            plain = conn.unwrap()  # sends close_notify, waits for the receiver's
            try:
                tail = plain.recv(1)  # and for its end of stream
                error = plain.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            finally:
                plain.close()
        except (OSError, ValueError) as err:
            with contextlib.suppress(OSError):
                conn.close()
            raise ShippingError(f"the SIEM at {self.target.address} did not confirm receipt: {err}") from err
        if tail or error:
            raise ShippingError(f"the SIEM at {self.target.address} did not close cleanly (error {error})")
        before = self.spool.acked()[1]
        self.spool.advance(end, seq)
        self.stats.records_confirmed += max(seq - before, 0)
        self.stats.commits += 1

    # -- one step -----------------------------------------------------------------------------------
    def _open_log(self) -> int:
        if self._fd < 0:
            self._fd = os.open(self.log_path, os.O_RDONLY | os.O_CLOEXEC)
        return self._fd

    def _complete_end(self) -> int:
        """Offset just after the last complete record now in the file."""
        size = os.fstat(self._open_log()).st_size
        start = size
        while start > 0:
            start = max(size - READ_CHUNK, 0) if start == size else max(start - READ_CHUNK, 0)
            data = os.pread(self._fd, size - start, start)
            cut = data.rfind(b"\n")
            if cut >= 0:
                return start + cut + 1
        return 0

    def _send_some(self, end: int) -> None:
        """Send records between the current position and ``end`` (complete lines only)."""
        assert self._conn is not None
        data = os.pread(self._open_log(), min(end - self._pos, READ_CHUNK), self._pos)
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) == READ_CHUNK:
                raise _Permanent(f"a record longer than {READ_CHUNK} bytes at offset {self._pos} ({self.log_path})")
            return
        message = self.formatter.message
        limit = self.target.max_message_bytes
        lines = data[:cut].split(b"\n")[:-1]
        batch: list[bytes] = []
        size = 0
        sent = 0
        oversized: str | None = None
        for line in lines:
            msg = message(line)
            if len(msg) > limit:
                oversized = (
                    f"record {self._next_seq + sent} of {self.log_path} is a {len(msg)}-byte message, over the "
                    f"SIEM's limit of {limit} bytes: it would arrive truncated, so it is not sent"
                )
                cut = sum(len(done) + 1 for done in lines[:sent])
                break
            framed = b"%d %s" % (len(msg), msg)
            batch.append(framed)
            size += len(framed)
            if size >= SEND_BATCH:
                self._conn.sendall(b"".join(batch))
                batch, size = [], 0
            sent += 1
        if batch:
            self._conn.sendall(b"".join(batch))
        self._pos += cut
        self._next_seq += sent
        self._conn_bytes += cut
        self.stats.records_sent += sent
        if oversized is not None:
            self._commit()  # confirm the records before it; never the oversized one
            raise _Permanent(oversized)

    def step(self, wait_s: float = 0.2) -> bool:
        """Do one unit of work; return True while records remain unconfirmed. Raises on failure."""
        acked, acked_seq = self.spool.acked(max_age_s=0.05)
        if self._pos < acked:  # records skipped by drop-oldest, or confirmed by another shipper
            if self._conn is not None:
                self._drop()
            self._pos, self._next_seq = acked, acked_seq
        end = self.source.wait_durable(self._pos, wait_s)
        if end > self._pos:
            if self._conn is None:
                self.connect()
            self._send_some(end)
            due = time.monotonic() - self._conn_started >= self.target.commit_interval_s
            if due or self._conn_bytes >= self.target.commit_bytes:
                self._commit()
            return True
        if self._conn is not None:  # idle: confirm what was sent, then stay disconnected
            self._commit()
        return self._pos < end or self.spool.acked()[0] < end

    def _failed(self, err: ShippingError) -> None:
        self.stats.failures += 1
        self.stats.last_error = str(err)
        self.stats.errors = [*self.stats.errors[-9:], str(err)]
        if self._on_error is not None:
            self._on_error(str(err))
        self._drop()

    # -- synchronous use --------------------------------------------------------------------------------
    def ship_pending(self, timeout_s: float = 30.0) -> ShipStats:
        """Ship every record now in the log and confirm it; raise :class:`ShippingError` if that fails.

        A refused handshake (certificate, TLS version) raises at once; network errors are retried
        until ``timeout_s`` runs out.
        """
        deadline = time.monotonic() + timeout_s
        target_end = self._complete_end()
        self._pos, self._next_seq = self.spool.acked()
        backoff = self.target.retry_initial_s
        try:
            while self.spool.acked()[0] < target_end:
                try:
                    self.step(wait_s=0.0)
                    if self._pos >= target_end and self._conn is not None:
                        self._commit()
                except _Permanent as err:
                    self._failed(err)
                    raise ShippingError(str(err)) from err.__cause__
                except ShippingError as err:
                    self._failed(err)
                    if time.monotonic() + backoff > deadline:
                        raise ShippingError(f"gave up after {timeout_s:g} s: {err}") from err
                    time.sleep(backoff)
                    backoff = min(backoff * 2, self.target.retry_max_s)
                except OSError as err:
                    self._failed(ShippingError(f"sending to the SIEM at {self.target.address} failed: {err}"))
                    if time.monotonic() + backoff > deadline:
                        raise ShippingError(f"gave up after {timeout_s:g} s: {err}") from err
                    time.sleep(backoff)
                    backoff = min(backoff * 2, self.target.retry_max_s)
        finally:
            self._drop()
        return self.stats

    # -- background use ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Ship in a background thread until :meth:`stop`."""
        self._pos, self._next_seq = self.spool.acked()
        self._thread = threading.Thread(target=self._run, name="audit-shipper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            if self._stop.is_set() and time.monotonic() >= self._drain_until:
                break
            now = time.monotonic()
            if now < self._retry_at:
                time.sleep(min(self._retry_at - now, 0.05))
                continue
            try:
                # Stop only after a step that began once stop() was called: it saw every record the log
                # made durable before stopping us (close() appends its checkpoint record last).
                stopping = self._stop.is_set()
                busy = self.step(wait_s=0.05 if stopping else 0.2)
                self._backoff = self.target.retry_initial_s
                if stopping and not busy:
                    break
            except Exception as err:  # the thread must outlive any one failure: record it, back off, retry
                failure = (
                    err
                    if isinstance(err, ShippingError)
                    else ShippingError(f"sending to the SIEM at {self.target.address} failed: {err}")
                )
                self._failed(failure)
                self._retry_at = time.monotonic() + self._backoff
                self._backoff = min(self._backoff * 2, self.target.retry_max_s)
        if self._conn is not None:
            try:
                self._commit()
            except ShippingError as err:
                self._failed(err)
        self._drop()

    def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Let the thread confirm what is pending (for at most ``drain_timeout_s``), then stop it."""
        self._drain_until = time.monotonic() + drain_timeout_s
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=drain_timeout_s + self.target.connect_timeout_s + 1.0)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until every durable record is confirmed; True if that happened in time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            end = self.source.wait_durable(self.spool.acked()[0], 0.0)
            if self.spool.acked()[0] >= end:
                return True
            time.sleep(0.02)
        return False
