"""`phistack keybroker serve` as a process on loopback, with the runtime client against it."""

from __future__ import annotations

import base64
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from runtime.keyclient import KeyBrokerClient, KeyReleaseRefused, UnsafeRecordedEvidence
from tests.support.attestation import (
    VALID_NONCE,
    read_audit,
    reference_measurements_file,
    valid_evidence_wire,
    vector,
    write_tls_material,
)
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.paths import REPO

pytestmark = pytest.mark.filterwarnings(
    "ignore::runtime.crypto.UnsafeKekWarning", "ignore::runtime.keyclient.UnsafeRecordedEvidenceWarning"
)


def _config(tmp_path: Path) -> tuple[Path, Path, bytes]:
    ca, cert, key = write_tls_material(tmp_path)
    kek = os.urandom(32)
    (tmp_path / "kek.bin").write_bytes(kek)
    config = {
        "listen": {"host": "127.0.0.1", "port": 0},
        "tls": {"cert": cert.name, "key": key.name},
        "trust": {
            "device_root": str(vector("verifier_device_root.pem")),
            "reference_measurements": reference_measurements_file(tmp_path).name,
        },
        "audit": {"path": "audit.log"},
        "datasets": {"chest-ct-2026": {"kek": "file:kek.bin"}},
    }
    path = tmp_path / "broker.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, ca, kek


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[KeyBrokerClient, Path, bytes, subprocess.Popen[str]]]:
    config, ca, kek = _config(tmp_path)
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
            "--unsafe-fixed-nonce",
            VALID_NONCE.hex(),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(200):  # up to 20 s for the port file
            if port_file.exists() or process.poll() is not None:
                break
            time.sleep(0.1)
        assert port_file.exists(), (process.stderr.read() if process.stderr else "") or "no port file"
        port = int(port_file.read_text())
        yield KeyBrokerClient(f"https://127.0.0.1:{port}", ca_file=str(ca)), tmp_path, kek, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


Served = tuple[KeyBrokerClient, Path, bytes, "subprocess.Popen[str]"]


def test_served_broker_releases_to_the_real_vector_and_refuses_replay_and_tls12(served: Served) -> None:
    client, directory, kek, process = served
    dek = os.urandom(32)
    wrapped = aes_key_wrap(kek, dek)
    evidence = UnsafeRecordedEvidence({"evidence": [valid_evidence_wire()]})
    with client.unwrap("chest-ct-2026", wrapped, evidence=evidence) as key:
        assert bytes(key) == dek

    # Replay: the same nonce again, without a new one being issued.
    body = {
        "nonce": VALID_NONCE.hex(),
        "evidence": [valid_evidence_wire()],
        "unwrap": [base64.b64encode(wrapped).decode()],
    }
    with pytest.raises(KeyReleaseRefused, match="replay"):
        client._call("POST", "/v1/keys/chest-ct-2026", body)

    tls12 = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls12.load_verify_locations(cafile=str(directory / "ca.pem"))
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection((client.host, client.port), timeout=5) as raw, pytest.raises(ssl.SSLError):
        tls12.wrap_socket(raw, server_hostname="127.0.0.1")

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    stderr = process.stderr.read() if process.stderr else ""
    assert "listening on https://127.0.0.1:" in stderr and "WARNING: nonces are pinned" in stderr
    actions = [(r["action"], r["outcome"]) for r in read_audit(directory / "audit.log")]
    assert ("attestation.result", "success") in actions
    assert ("key.release", "success") in actions
    assert actions.count(("key.refusal", "denied")) == 1


def test_bad_config_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "broker.yaml"
    path.write_text(yaml.safe_dump({"tls": {"cert": "a", "key": "b"}}))
    assert_one_line_error(run_cli("keybroker", "serve", "--config", str(path)), 2, "trust")
    assert_one_line_error(run_cli("keybroker", "serve", "--config", str(tmp_path / "none.yaml")), 2, "none.yaml")
