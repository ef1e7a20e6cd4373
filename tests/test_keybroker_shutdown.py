"""Stopping the broker and clients going away leave no traceback and no engine panic."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runtime.keyclient import KeyBrokerClient
from tests.e2e.test_keybroker_cli import _config
from tests.support.keybroker import DATASET, Broker, serve
from tests.support.paths import REPO

pytestmark = pytest.mark.filterwarnings("ignore::runtime.crypto.UnsafeKekWarning")
NOISE = ("Traceback", "unsendable", "Exception ignored", "SSLEOFError", "BrokenPipe", "ConnectionReset")


def _misbehave(port: int, broker: Broker | None = None, ca: Path | None = None) -> None:
    """Clients that leave at every stage of a request."""
    context = broker.context() if broker else None
    if context is None:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cafile=str(ca))
    socket.create_connection(("127.0.0.1", port)).close()  # before the handshake
    for payload in (
        b"",  # after the handshake, nothing sent
        b"POST /v1/nonce HTTP/1.1\r\nContent-Le",  # mid-headers
        b"POST /v1/nonce HTTP/1.1\r\nContent-Length: 100\r\n\r\n{",  # mid-body
        f"GET /v1/datasets/{DATASET} HTTP/1.1\r\n\r\n".encode(),  # before reading the answer
    ):
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        tls = context.wrap_socket(raw, server_hostname="127.0.0.1")
        if payload:
            tls.sendall(payload)
        # An abortive close (RST): the broker sees ECONNRESET or an unexpected EOF.
        tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        tls.close()
    time.sleep(0.3)


def test_client_disconnects_print_no_traceback(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    for broker in serve(tmp_path):
        _misbehave(broker.port, broker)
        assert broker.running.server.errors == []
        broker.running.stop()
    err = capfd.readouterr().err
    assert not [word for word in NOISE if word in err], err


def test_stop_ends_open_connections_at_once(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    for broker in serve(tmp_path):
        held = [broker.connection(f"127.0.4.{i}") for i in range(1, 4)]
        for connection in held:
            connection.request("GET", "/v1/health")
            assert connection.getresponse().read() == b'{"status": "ok"}'
        assert broker.running.server.connections() == 3  # kept alive, waiting for a next request
        started = time.monotonic()
        broker.running.stop()
        assert time.monotonic() - started < 2
        deadline = time.monotonic() + 2
        while broker.running.server.connections() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert broker.running.server.connections() == 0 and broker.running.server.errors == []
    err = capfd.readouterr().err
    assert not [word for word in NOISE if word in err], err


def test_served_broker_stops_without_a_traceback(tmp_path: Path) -> None:
    config, ca, _ = _config(tmp_path)
    port_file = tmp_path / "port"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "phistack",
            "keybroker",
            "serve",
            "--config",
            str(config),
            "--port-file",
            str(port_file),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        port = int(port_file.read_text())
        client = KeyBrokerClient(f"https://127.0.0.1:{port}", ca_file=str(ca))
        assert len(client.nonce()) == 32  # the policy engine has been used
        _misbehave(port, ca=ca)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    assert process.returncode == 0, err
    assert not [word for word in NOISE if word in err], err
    assert err.strip().splitlines()[-1] == "phistack keybroker: stopped"


def test_an_appraiser_never_closed_does_not_panic_at_exit() -> None:
    code = "from phistack.keybroker.appraisal import Appraiser\na = Appraiser()\na.evaluate({})\nprint('done')\n"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "done" and done.returncode == 0, done.stderr
    assert "unsendable" not in done.stderr and "Traceback" not in done.stderr, done.stderr
