"""The key broker over HTTPS, TLS 1.3 only.

Endpoints (JSON bodies; every error is ``{"error", "reason", "reasons"}``):

- ``POST /v1/nonce`` → ``{"nonce": "<64 hex>", "expires_at": "<RFC 3339>", "ttl_s": 60}``
- ``GET /v1/datasets/<name>`` → ``{"dataset", "kek_id"}``
- ``POST /v1/keys/<name>`` with ``{"nonce", "evidence" | "nras", "unwrap": [...], "wrap": [...]}`` →
  ``{"dataset", "kek_id", "keys": [...], "wrapped": [...], "appraisal": {"allow": true, "reasons": []}}``
  or 403 with the reasons
- ``GET /v1/health`` → ``{"status": "ok"}``

The TLS handshake runs in the connection's worker thread, so a slow or refused client (for
instance one offering only TLS 1.2) never blocks the accept loop.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from phistack.keybroker.service import KeyBroker, Refusal

MAX_BODY = 1 << 20
HANDSHAKE_TIMEOUT_S = 10.0


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context that accepts TLS 1.3 and nothing older."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(cert, key)
    return context


class _Handler(BaseHTTPRequestHandler):
    server: BrokerHttpServer
    protocol_version = "HTTP/1.1"
    server_version = "phistack-keybroker"
    sys_version = ""

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise Refusal(400, "bad Content-Length") from None
        if length < 0 or length > MAX_BODY:
            raise Refusal(413, f"request body larger than {MAX_BODY} bytes")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Refusal(400, "request body is not JSON") from None

    def _dispatch(self, method: str) -> None:
        broker = self.server.broker
        path = self.path.split("?", 1)[0]
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        try:
            if method == "GET" and path == "/v1/health":
                self._send(200, {"status": "ok"})
            elif method == "POST" and path == "/v1/nonce":
                self._body()
                self._send(200, broker.issue_nonce())
            elif method == "GET" and path.startswith("/v1/datasets/"):
                self._send(200, broker.describe(path[len("/v1/datasets/") :]))
            elif method == "POST" and path.startswith("/v1/keys/"):
                dataset = path[len("/v1/keys/") :]
                self._send(200, broker.release(dataset, self._body(), peer=peer))
            else:
                raise Refusal(404, f"no such endpoint: {method} {path}")
        except Refusal as refusal:
            self._send(refusal.status, refusal.to_dict())
        except Exception as err:  # never a traceback to the client; never a release
            self.server.errors.append(repr(err))
            self._send(500, Refusal(500, "internal error; nothing released").to_dict())

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        return  # decisions go to the audit log, not to stderr


class BrokerHttpServer(ThreadingHTTPServer):
    """ThreadingHTTPServer whose worker threads do the TLS 1.3 handshake."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], broker: KeyBroker, context: ssl.SSLContext) -> None:
        super().__init__(address, _Handler)
        self.broker = broker
        self.context = context
        self.errors: list[str] = []

    def finish_request(self, request: Any, client_address: Any) -> None:
        raw: socket.socket = request
        raw.settimeout(HANDSHAKE_TIMEOUT_S)
        try:
            tls = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            return  # refused handshake (e.g. TLS 1.2 only): nothing to answer
        try:
            tls.settimeout(30.0)
            super().finish_request(tls, client_address)
        finally:
            tls.close()

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
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


def start_broker(broker: KeyBroker, context: ssl.SSLContext, host: str = "127.0.0.1", port: int = 0) -> RunningBroker:
    """Bind (port 0 picks a free port) and serve on a background thread."""
    return RunningBroker(BrokerHttpServer((host, port), broker, context))
