"""A key broker on loopback with chosen limits, and raw HTTPS clients that can misbehave."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phistack.keybroker.appraisal import Appraiser
from phistack.keybroker.limits import HttpLimits
from phistack.keybroker.nonces import NonceLimits, NonceStore
from phistack.keybroker.server import RunningBroker, server_tls_context, start_broker
from phistack.keybroker.service import KeyBroker
from runtime.audit import AuditLog
from runtime.crypto import open_kek
from tests.support.attestation import device_root, read_audit, write_tls_material

DATASET = "chest-ct-2026"


@dataclass
class Broker:
    running: RunningBroker
    broker: KeyBroker
    ca: Path
    audit: AuditLog
    audit_path: Path

    @property
    def port(self) -> int:
        return self.running.server.port

    def context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cafile=str(self.ca))
        return context

    def connection(self, source: str = "127.0.0.1", timeout: float = 5.0) -> http.client.HTTPSConnection:
        """A keep-alive HTTPS connection from ``source`` (any 127.x.y.z address is loopback)."""
        return http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=self.context(), timeout=timeout, source_address=(source, 0)
        )

    def tls(self, source: str = "127.0.0.1", timeout: float = 5.0) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout, source_address=(source, 0))
        return self.context().wrap_socket(raw, server_hostname="127.0.0.1")

    def raw(self, data: bytes, source: str = "127.0.0.1") -> tuple[int, dict[str, Any]]:
        """Send ``data`` as it is on a fresh TLS connection; return the status and JSON answer."""
        with self.tls(source) as tls:
            tls.sendall(data)
            response = http.client.HTTPResponse(tls)
            response.begin()
            return response.status, json.loads(response.read())

    def records(self) -> list[dict[str, Any]]:
        self.audit.sync()
        return read_audit(self.audit_path)


def serve(
    tmp_path: Path,
    *,
    http: HttpLimits | None = None,
    nonces: NonceLimits | None = None,
    window_s: float = 60.0,
    max_bursts: int = 1024,
    ttl_s: float = 30.0,
) -> Iterator[Broker]:
    """A broker (one dataset, no NRAS) on 127.0.0.1; stopped, and its audit log closed, afterwards."""
    ca, cert, key = write_tls_material(tmp_path)
    kek_path = tmp_path / "kek.bin"
    kek_path.write_bytes(os.urandom(32))
    appraiser = Appraiser()
    audit_path = tmp_path / "audit.log"
    with AuditLog.open(audit_path) as audit:
        broker = KeyBroker(
            datasets={DATASET: open_kek(f"file:{kek_path}")},
            device_root=device_root(),
            appraiser=appraiser,
            audit=audit,
            nonces=NonceStore(ttl_s=ttl_s, limits=nonces),
            audit_window_s=window_s,
            audit_max_bursts=max_bursts,
        )
        running = start_broker(broker, server_tls_context(cert, key), limits=http)
        try:
            yield Broker(running, broker, ca, audit, audit_path)
        finally:
            running.stop()
            appraiser.close()


def post(connection: http.client.HTTPSConnection, path: str, body: bytes = b"{}") -> tuple[int, dict[str, Any]]:
    connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def counted(records: list[dict[str, Any]], action: str, code: str) -> tuple[int, int]:
    """(records, events) for one action and code: aggregated records carry ``count``."""
    chosen = [r for r in records if r["action"] == action and r["details"].get("code") == code]
    return len(chosen), sum(int(r["details"]["count"]) for r in chosen)
