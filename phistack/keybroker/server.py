"""The key broker over HTTPS, TLS 1.3 only.

Endpoints (JSON bodies; every error is ``{"error", "reason", "reasons"}``):

- ``POST /v1/nonce`` → ``{"nonce": "<64 hex>", "expires_at": "<RFC 3339>", "ttl_s": 60}``
- ``GET /v1/datasets/<name>`` → ``{"dataset", "kek_id"}``
- ``POST /v1/keys/<name>`` with ``{"nonce", "evidence" | "nras", "unwrap": [...], "wrap": [...]}`` →
  ``{"dataset", "kek_id", "keys": [...], "wrapped": [...], "appraisal": {"allow": true, "reasons": []}}``
  or 403 with the reasons
- ``GET /v1/health`` → ``{"status": "ok"}``

The TLS handshake runs in the connection's worker thread, so a slow or refused client (for
instance one offering only TLS 1.2) never blocks the accept loop. Worker threads are bounded
(:class:`~phistack.keybroker.limits.HttpLimits`): a connection over the cap is closed at once. Each
phase of a request has a deadline, enforced across reads (a client trickling one byte at a time
is dropped when its phase's time is up, not when it pauses). Every refusal is audited through the
broker (aggregated per burst); a client that goes away ends its connection with one debug line.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import logging
import socket
import ssl
import sys
import threading
import time
from http import HTTPStatus
from http.client import HTTPException
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from phistack.keybroker.limits import MAX_REQUEST_LINE, HttpLimits, content_length, parse_json_body
from phistack.keybroker.service import KeyBroker, Refusal

WRITE_TIMEOUT_S = 10.0
log = logging.getLogger("phistack.keybroker")
# How a client going away shows up in a worker thread: normal, not an error.
DISCONNECTS = (ConnectionError, TimeoutError, ssl.SSLEOFError, ssl.SSLZeroReturnError)


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context that accepts TLS 1.3 and nothing older."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(cert, key)
    return context


class _PhaseTimeout(TimeoutError):
    """A request phase (idle, header, body) ran out of time."""

    def __init__(self, phase: str) -> None:
        super().__init__(f"{phase} timeout")
        self.phase = phase


class _TimedReader(io.RawIOBase):
    """Socket reads under a deadline for the whole phase, not for each read."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.phase = "idle"
        self.deadline = float("inf")
        self._then: tuple[str, float] | None = None

    def expect(self, phase: str, timeout_s: float, then: tuple[str, float] | None = None) -> None:
        """Start ``phase``; with ``then``, the first byte read starts that phase instead."""
        self.phase, self.deadline, self._then = phase, time.monotonic() + timeout_s, then

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _PhaseTimeout(self.phase)
        self.sock.settimeout(remaining)
        try:
            count = self.sock.recv_into(buffer)
        except TimeoutError:
            raise _PhaseTimeout(self.phase) from None
        if count and self._then is not None:
            (phase, timeout_s), self._then = self._then, None
            self.phase, self.deadline = phase, time.monotonic() + timeout_s
        return count


class _HeaderBudget:
    """The request's line reader while headers are parsed: at most ``left`` bytes in all."""

    def __init__(self, source: io.BufferedIOBase, left: int) -> None:
        self.source, self.left = source, left

    def readline(self, size: int = -1) -> bytes:
        want = self.left + 1 if size < 0 else min(size, self.left + 1)
        line = self.source.readline(want)
        self.left -= len(line)
        if self.left < 0:  # parse_request answers an HTTPException with 431
            raise HTTPException("request headers too large")
        return line


class _Handler(BaseHTTPRequestHandler):
    server: BrokerHttpServer
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.1"  # refusals of unparseable request lines still get a status line
    # Headers and body go out in two writes: with Nagle, the second waits for the client's delayed
    # ACK (~40 ms a request on a kept-alive connection).
    disable_nagle_algorithm = True
    server_version = "phistack-keybroker"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # replaced: a socket file left open would keep the socket from closing
        self.reader = _TimedReader(self.connection)
        self.stream: io.BufferedIOBase = io.BufferedReader(self.reader)
        self.rfile = self.stream

    @property
    def client(self) -> str:
        return str(self.client_address[0])

    @property
    def peer(self) -> str:
        return f"{self.client_address[0]}:{self.client_address[1]}"

    # -- responses ---------------------------------------------------------------------------------
    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, sort_keys=True).encode()
        self.connection.settimeout(WRITE_TIMEOUT_S)  # reads left a phase's remaining time here
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _refuse(self, refusal: Refusal, action: str = "request.refusal", obj: str | None = None) -> None:
        """Audit the refusal (unless the broker did) and answer it."""
        if not refusal.audited:
            method, path = getattr(self, "command", None) or "-", getattr(self, "path", None) or "-"
            target = obj or f"endpoint:{method} {path.split('?', 1)[0]}"
            self.server.broker.audit_refusal(refusal, action, target, peer=self.peer, client=self.client)
        headers = {"Retry-After": str(max(1, round(refusal.retry_after_s)))} if refusal.retry_after_s else None
        self._send(refusal.status, refusal.to_dict(), headers)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's refusals (request line, headers, method) as audited JSON refusals."""
        self.close_connection = True
        # The message can quote the client's request line: never echo more than a little of it.
        reason = f"{int(code)} {HTTPStatus(code).phrase}" + (f": {message[:200]}" if message else "")
        self._refuse(Refusal(int(code), reason))

    # -- one request -------------------------------------------------------------------------------
    def handle_one_request(self) -> None:
        limits = self.server.limits
        self.command, self.path, self.request_version, self.requestline = "", "", "HTTP/1.1", ""
        self.reader.expect("idle", limits.idle_timeout_s, then=("header", limits.header_timeout_s))
        try:
            self.raw_requestline = self.stream.readline(MAX_REQUEST_LINE + 1)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if len(self.raw_requestline) > MAX_REQUEST_LINE:
                self.close_connection = True
                self._refuse(Refusal(414, f"request line longer than {MAX_REQUEST_LINE} bytes", code="path-too-long"))
                return
            self.rfile = _HeaderBudget(self.stream, limits.max_header_bytes)  # type: ignore[assignment]
            try:
                parsed = self.parse_request()
            finally:
                self.rfile = self.stream
            if not parsed:
                return
            handler = getattr(self, f"do_{self.command}", None)
            if handler is None:
                self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"unsupported method ({self.command[:32]!r})")
                return
            handler()
            self.wfile.flush()
        except _PhaseTimeout as timeout:
            self.close_connection = True
            if timeout.phase == "idle":
                log.debug("client %s: idle connection closed", self.peer)
                return
            refusal = Refusal(408, f"request {timeout.phase} not received in time", code=f"timeout-{timeout.phase}")
            self._refuse(refusal)

    def _body(self) -> Any:
        limits = self.server.limits
        try:
            length = content_length(self.headers, limits.max_body_bytes)
        except Refusal:
            self.close_connection = True  # the body is not read: the stream cannot be trusted after it
            raise
        raw = self.stream.read(length) if length else b"{}"
        if len(raw) < length:
            self.close_connection = True
            raise Refusal(400, "request body shorter than its Content-Length", code="bad-length")
        return parse_json_body(raw, limits.max_json_depth)

    def _dispatch(self, method: str) -> None:
        limits = self.server.limits
        self.reader.expect("body", limits.body_timeout_s)
        if method == "GET" and (
            self.headers.get("Transfer-Encoding") or self.headers.get("Content-Length", "0") != "0"
        ):
            self.close_connection = True  # a GET body is never read: what follows it is not a request
        broker = self.server.broker
        path = self.path.split("?", 1)[0]
        action, obj = "request.refusal", None
        if path.startswith("/v1/keys/"):
            action, obj = "key.refusal", f"dataset:{path[len('/v1/keys/') :]}"
        try:
            if len(self.path) > limits.max_path_chars:
                self.close_connection = True
                raise Refusal(414, f"request path longer than {limits.max_path_chars} characters", code="path-too-long")
            if method == "GET" and path == "/v1/health":
                self._send(200, {"status": "ok"})
            elif method == "POST" and path == "/v1/nonce":
                self._body()
                self._send(200, broker.issue_nonce(client=self.client, peer=self.peer))
            elif method == "GET" and path.startswith("/v1/datasets/"):
                self._send(200, broker.describe(path[len("/v1/datasets/") :]))
            elif method == "POST" and path.startswith("/v1/keys/"):
                dataset = path[len("/v1/keys/") :]
                self._send(200, broker.release(dataset, self._body(), peer=self.peer, client=self.client))
            else:
                raise Refusal(404, "no such endpoint", code="no-endpoint")
        except Refusal as refusal:
            self._refuse(refusal, action, obj)
        except DISCONNECTS:
            raise
        except Exception as err:  # never a traceback to the client; never a release
            self.server.note_error(err)
            log.error("internal error answering %s %s: %r", method, path[:200], err)
            self._send(500, Refusal(500, "internal error; nothing released").to_dict())

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        return  # decisions go to the audit log, not to stderr


class BrokerHttpServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with bounded workers, whose worker threads do the TLS 1.3 handshake."""

    daemon_threads = True
    request_queue_size = 128  # the accept backlog; socketserver's default of 5 drops bursts of SYNs

    def __init__(
        self, address: tuple[str, int], broker: KeyBroker, context: ssl.SSLContext, limits: HttpLimits | None = None
    ) -> None:
        self.broker = broker
        self.context = context
        self.limits = limits or HttpLimits()
        self.errors: list[str] = []
        self._slots_lock = threading.Lock()
        self._per_client: collections.Counter[str] = collections.Counter()
        self._active: set[socket.socket] = set()
        super().__init__(address, _Handler)

    # -- the connection cap --------------------------------------------------------------------------
    def _take_slot(self, client: str) -> Refusal | None:
        with self._slots_lock:
            if self._per_client.total() >= self.limits.max_connections:
                return Refusal(503, f"connection limit reached ({self.limits.max_connections})", code="connection-cap")
            if self._per_client[client] >= self.limits.max_connections_per_client:
                limit = self.limits.max_connections_per_client
                return Refusal(503, f"connection limit per client reached ({limit})", code="connection-cap-client")
            self._per_client[client] += 1
            return None

    def _release_slot(self, client: str) -> None:
        with self._slots_lock:
            self._per_client[client] -= 1
            if self._per_client[client] <= 0:
                del self._per_client[client]

    def connections(self) -> int:
        """Connections being served now."""
        with self._slots_lock:
            return self._per_client.total()

    def process_request(self, request: Any, client_address: Any) -> None:
        client = str(client_address[0])
        refusal = self._take_slot(client)
        if refusal is not None:  # closed before any TLS work: refusing costs next to nothing
            self.shutdown_request(request)
            peer = f"{client_address[0]}:{client_address[1]}"
            self.broker.audit_refusal(refusal, "request.refusal", "connections", peer=peer, client=client)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release_slot(client)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release_slot(str(client_address[0]))

    # -- one connection ------------------------------------------------------------------------------
    def finish_request(self, request: Any, client_address: Any) -> None:
        raw: socket.socket = request
        raw.settimeout(self.limits.handshake_timeout_s)  # CPython bounds the whole handshake by it
        try:
            tls = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as err:  # refused (e.g. TLS 1.2 only), too slow, or gone
            client = str(client_address[0])
            reason = "TLS handshake timed out" if isinstance(err, TimeoutError) else "TLS handshake failed"
            refusal = Refusal(400, f"{reason}: {err.__class__.__name__}", code="tls-handshake")
            peer = f"{client_address[0]}:{client_address[1]}"
            self.broker.audit_refusal(refusal, "request.refusal", "tls", peer=peer, client=client)
            return
        with self._slots_lock:
            self._active.add(tls)
        try:
            super().finish_request(tls, client_address)
        finally:
            with self._slots_lock:
                self._active.discard(tls)
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line, no traceback: a client going away is routine (debug), anything else an error."""
        err = sys.exc_info()[1]
        if isinstance(err, DISCONNECTS):
            log.debug("client %s:%s went away: %s", client_address[0], client_address[1], err.__class__.__name__)
        else:
            self.note_error(err)
            log.error("client %s:%s: connection failed: %r", client_address[0], client_address[1], err)

    def note_error(self, err: BaseException | None) -> None:
        """Keep the last unexpected errors (for tests and diagnostics), bounded."""
        self.errors[:] = [*self.errors[-99:], repr(err)]

    def service_actions(self) -> None:
        self.broker.tick()  # the serve loop's poll: writes aggregated audit records whose window ended

    def close_connections(self) -> None:
        """End every connection being served (at stop): their worker threads then finish at once."""
        with self._slots_lock:
            active = list(self._active)
        for tls in active:
            with contextlib.suppress(OSError):  # the plain socket's shutdown, not TLS's: thread-safe
                socket.socket.shutdown(tls, socket.SHUT_RDWR)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class RunningBroker:
    """A broker server on a background thread (tests, embedding); ``stop()`` shuts it down."""

    def __init__(self, server: BrokerHttpServer) -> None:
        self.server = server
        # A short poll interval keeps shutdown quick; the loop only checks a flag.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="keybroker", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host = self.server.server_address[0]
        host = host.decode() if isinstance(host, bytes) else host
        return f"https://{host}:{self.server.port}"

    def stop(self) -> None:
        """Stop accepting, end open connections, and write pending aggregated audit records."""
        self.server.shutdown()
        self.server.server_close()
        self.server.close_connections()
        self._thread.join(timeout=10)
        self.server.broker.close()


def start_broker(
    broker: KeyBroker,
    context: ssl.SSLContext,
    host: str = "127.0.0.1",
    port: int = 0,
    limits: HttpLimits | None = None,
) -> RunningBroker:
    """Bind (port 0 picks a free port) and serve on a background thread."""
    return RunningBroker(BrokerHttpServer((host, port), broker, context, limits))
