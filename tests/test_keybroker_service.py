"""The key broker on loopback over TLS 1.3: releases, refusals, replay, and the audit trail."""

from __future__ import annotations

import base64
import datetime as dt
import os
import socket
import ssl
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from phistack.keybroker.appraisal import Appraiser
from phistack.keybroker.nonces import NonceStore, UnsafeFixedNonceSource, UnsafeNonceWarning
from phistack.keybroker.server import RunningBroker, server_tls_context, start_broker
from phistack.keybroker.service import KeyBroker
from runtime.attestation import ReferenceMeasurements
from runtime.audit import AuditLog
from runtime.crypto import UnsafeFileKek, decrypt_bytes, encrypt_bytes, open_kek
from runtime.keyclient import (
    BrokerKek,
    KeyBrokerClient,
    KeyReleaseRefused,
    UnsafeRecordedEvidence,
    UnsafeRecordedEvidenceWarning,
)
from tests.support.attestation import (
    VALID_NONCE,
    TestSigner,
    device_root,
    passing_gpu_claims,
    read_audit,
    reference_measurements_file,
    valid_evidence_wire,
    write_tls_material,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore::runtime.crypto.UnsafeKekWarning",
    "ignore::phistack.keybroker.nonces.UnsafeNonceWarning",
    "ignore::runtime.keyclient.UnsafeRecordedEvidenceWarning",
)

DATASET = "chest-ct-2026"


@dataclass
class Harness:
    running: RunningBroker
    client: KeyBrokerClient
    kek: UnsafeFileKek
    audit_path: Path
    signer: TestSigner
    ca: Path
    audit: AuditLog

    def records(self) -> list[dict[str, Any]]:
        self.audit.sync()
        return read_audit(self.audit_path)

    def wrapped_dek(self) -> tuple[bytes, bytes]:
        dek = os.urandom(32)
        return dek, self.kek.wrap(dek)


def _start(tmp_path: Path, *, pinned: bool, references: bool = True) -> Iterator[Harness]:
    ca, cert, key = write_tls_material(tmp_path)
    kek_path = tmp_path / "kek.bin"
    kek_path.write_bytes(os.urandom(32))
    kek = open_kek(f"file:{kek_path}")
    assert isinstance(kek, UnsafeFileKek)
    signer = TestSigner()
    audit_path = tmp_path / "audit.log"
    source = UnsafeFixedNonceSource(VALID_NONCE) if pinned else None
    appraiser = Appraiser()
    with AuditLog.open(audit_path) as audit:
        broker = KeyBroker(
            datasets={DATASET: kek},
            device_root=device_root(),
            appraiser=appraiser,
            audit=audit,
            nonces=NonceStore(ttl_s=30, **({"source": source} if source else {})),
            references=ReferenceMeasurements.load(reference_measurements_file(tmp_path)) if references else None,
            nras_jwks=signer.jwks(),
        )
        running = start_broker(broker, server_tls_context(cert, key))
        try:
            client = KeyBrokerClient(running.url, ca_file=str(ca))
            yield Harness(running, client, kek, audit_path, signer, ca, audit)
        finally:
            running.stop()
            appraiser.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Harness]:
    yield from _start(tmp_path, pinned=False)


@pytest.fixture
def pinned_broker(tmp_path: Path) -> Iterator[Harness]:
    yield from _start(tmp_path, pinned=True)


def _nras(harness: Harness, **changes: Any) -> Any:
    """An evidence provider answering with NRAS tokens minted by the test key for the given nonce."""

    def provide(nonce: bytes) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        claims = passing_gpu_claims(nonce, now)
        for key, value in changes.items():
            if value is None:
                claims.pop(key, None)
            else:
                claims[key] = value
        return {"nras": harness.signer.nras_response({"GPU-0": claims}, nonce=nonce, now=now)}

    return provide


def _audit_actions(harness: Harness) -> list[tuple[str, str]]:
    return [(record["action"], record["outcome"]) for record in harness.records()]


# -- transport ------------------------------------------------------------------------------------


def test_tls12_client_is_refused(broker: Harness) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(broker.ca))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection(("127.0.0.1", broker.running.server.port), timeout=5) as raw,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(raw, server_hostname="127.0.0.1")
    # The broker still serves TLS 1.3 clients afterwards.
    assert len(broker.client.nonce()) == 32


def test_tls13_is_negotiated(broker: Harness) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(broker.ca))
    with (
        socket.create_connection(("127.0.0.1", broker.running.server.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() == "TLSv1.3"


def test_client_refuses_a_broker_with_another_ca(broker: Harness, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other_ca, _, _ = write_tls_material(tmp_path / "other")
    client = KeyBrokerClient(broker.running.url, ca_file=str(other_ca))
    with pytest.raises(Exception, match="unreachable"):
        client.nonce()


# -- releases -------------------------------------------------------------------------------------


def test_real_vector_releases_the_key_end_to_end(pinned_broker: Harness) -> None:
    dek, wrapped = pinned_broker.wrapped_dek()
    with warnings.catch_warnings(record=True):
        evidence = UnsafeRecordedEvidence({"evidence": [valid_evidence_wire()]})
    with pinned_broker.client.unwrap(DATASET, wrapped, evidence=evidence) as key:
        assert bytes(key) == dek
        held = key
    assert bytes(held) == bytes(32)  # zeroised after use
    assert ("key.release", "success") in _audit_actions(pinned_broker)
    assert ("attestation.result", "success") in _audit_actions(pinned_broker)


def test_broker_kek_encrypts_and_decrypts_through_attestation(pinned_broker: Harness) -> None:
    evidence = UnsafeRecordedEvidence({"evidence": [valid_evidence_wire()]})
    kek = BrokerKek(pinned_broker.client, DATASET, evidence=evidence)
    assert kek.kek_id == pinned_broker.kek.kek_id
    blob = encrypt_bytes(b"PHI: chest CT study", object_id="study-42", kek=kek)
    assert decrypt_bytes(blob, object_id="study-42", kek=pinned_broker.kek) == b"PHI: chest CT study"
    assert decrypt_bytes(blob, object_id="study-42", kek=kek) == b"PHI: chest CT study"


def test_passing_nras_claims_get_the_key(broker: Harness) -> None:
    dek, wrapped = broker.wrapped_dek()
    answer = broker.client.request(DATASET, _nras(broker), unwrap=[wrapped])
    assert base64.b64decode(answer["keys"][0]) == dek
    assert answer["appraisal"] == {"allow": True, "reasons": []}


# -- refusals -------------------------------------------------------------------------------------

FAILING_CLAIMS: dict[str, tuple[dict[str, Any], str]] = {
    "measurement failure": ({"measres": "fail"}, "GPU-0: measurement result is fail, not success"),
    "secure boot off": ({"secboot": False}, "GPU-0: secure boot is false, not true"),
    "debug on": ({"dbgstat": "enabled"}, "GPU-0: debug status is enabled, not disabled"),
    "driver not allow-listed": (
        {"x-nvidia-gpu-driver-version": "470.82.01"},
        "GPU-0: driver version 470.82.01 is not allow-listed",
    ),
    "vbios not allow-listed": (
        {"x-nvidia-gpu-vbios-version": "96.00.30.00.01"},
        "GPU-0: VBIOS version 96.00.30.00.01 is not allow-listed",
    ),
    "bad certificate": (
        {"x-nvidia-gpu-attestation-report-cert-chain": {"x-nvidia-cert-status": "revoked"}},
        "GPU-0: attestation certificate chain is not valid",
    ),
    "missing claims": ({"measres": None}, "GPU-0: measurement result is missing, not success"),
}


@pytest.mark.parametrize("case", sorted(FAILING_CLAIMS))
def test_each_failing_claim_is_refused_with_its_reason(broker: Harness, case: str) -> None:
    changes, reason = FAILING_CLAIMS[case]
    _, wrapped = broker.wrapped_dek()
    with pytest.raises(KeyReleaseRefused) as refused:
        broker.client.request(DATASET, _nras(broker, **changes), unwrap=[wrapped])
    assert refused.value.status == 403
    assert reason in refused.value.reasons
    assert _audit_actions(broker)[-2:] == [("attestation.result", "denied"), ("key.refusal", "denied")]


def test_expired_evidence_is_refused(broker: Harness) -> None:
    def stale(nonce: bytes) -> dict[str, Any]:
        then = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
        claims = passing_gpu_claims(nonce, then)
        return {"nras": broker.signer.nras_response({"GPU-0": claims}, nonce=nonce, now=then)}

    _, wrapped = broker.wrapped_dek()
    with pytest.raises(KeyReleaseRefused, match="token expired"):
        broker.client.request(DATASET, stale, unwrap=[wrapped])
    assert ("attestation.result", "failure") in _audit_actions(broker)


def test_token_bound_to_another_nonce_is_refused(broker: Harness) -> None:
    def other_nonce(nonce: bytes) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        wrong = bytes(32)
        return {"nras": broker.signer.nras_response({"GPU-0": passing_gpu_claims(wrong, now)}, nonce=wrong, now=now)}

    _, wrapped = broker.wrapped_dek()
    with pytest.raises(KeyReleaseRefused, match=r"eat_nonce .* does not match the nonce sent"):
        broker.client.request(DATASET, other_nonce, unwrap=[wrapped])


def test_real_report_with_a_fresh_nonce_is_refused(broker: Harness) -> None:
    # Without the pinned test nonce, the recorded report is bound to the wrong nonce.
    evidence = UnsafeRecordedEvidence({"evidence": [valid_evidence_wire()]})
    _, wrapped = broker.wrapped_dek()
    with pytest.raises(KeyReleaseRefused, match="nonce mismatch"):
        broker.client.request(DATASET, evidence, unwrap=[wrapped])


def test_report_with_broken_signature_is_refused(pinned_broker: Harness) -> None:
    wire = valid_evidence_wire()
    raw = bytearray(base64.b64decode(wire["evidence"]))
    raw[-1] ^= 1
    wire["evidence"] = base64.b64encode(bytes(raw)).decode()
    _, wrapped = pinned_broker.wrapped_dek()
    with pytest.raises(KeyReleaseRefused, match="signature does not verify"):
        pinned_broker.client.request(DATASET, UnsafeRecordedEvidence({"evidence": [wire]}), unwrap=[wrapped])


def test_offline_evidence_without_reference_measurements_is_refused(tmp_path: Path) -> None:
    for harness in _start(tmp_path, pinned=True, references=False):
        _, wrapped = harness.wrapped_dek()
        evidence = UnsafeRecordedEvidence({"evidence": [valid_evidence_wire()]})
        with pytest.raises(KeyReleaseRefused) as refused:
            harness.client.request(DATASET, evidence, unwrap=[wrapped])
        assert "GPU-0: measurement result is not-verified, not success" in refused.value.reasons


def test_no_claims_are_refused(broker: Harness) -> None:
    _, wrapped = broker.wrapped_dek()
    with pytest.raises(KeyReleaseRefused) as refused:
        broker.client.request(DATASET, lambda nonce: {}, unwrap=[wrapped])
    assert refused.value.reasons == ("no GPU claims presented", "overall claims missing")


def test_replayed_nonce_is_refused(broker: Harness) -> None:
    _, wrapped = broker.wrapped_dek()
    nonce = broker.client.nonce()
    body = {"nonce": nonce.hex(), **_nras(broker)(nonce), "unwrap": [base64.b64encode(wrapped).decode()]}
    assert broker.client._call("POST", f"/v1/keys/{DATASET}", body)["keys"]
    with pytest.raises(KeyReleaseRefused, match=r"nonce already used \(replay\)"):
        broker.client._call("POST", f"/v1/keys/{DATASET}", body)
    assert _audit_actions(broker)[-1] == ("key.refusal", "denied")


def test_unknown_and_expired_nonces_are_refused(tmp_path: Path) -> None:
    store = NonceStore(ttl_s=1)
    issued = store.issue(at_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(Exception, match="expired"):
        store.consume(issued.nonce, at_time=dt.datetime(2026, 1, 1, 0, 0, 5, tzinfo=dt.UTC))
    with pytest.raises(Exception, match="not issued by this broker"):
        store.consume(os.urandom(32), at_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def test_unknown_dataset_and_bad_requests(broker: Harness) -> None:
    with pytest.raises(KeyReleaseRefused) as refused:
        broker.client.request("no-such-dataset", _nras(broker), unwrap=[b"x" * 40])
    assert refused.value.status == 404
    with pytest.raises(KeyReleaseRefused, match="nothing requested"):
        broker.client.request(DATASET, _nras(broker))
    _, wrapped = broker.wrapped_dek()
    with pytest.raises(KeyReleaseRefused, match="key operation failed"):
        broker.client.request(DATASET, _nras(broker), unwrap=[wrapped[:-1] + bytes([wrapped[-1] ^ 1])])


def test_every_decision_is_audited(broker: Harness) -> None:
    _, wrapped = broker.wrapped_dek()
    broker.client.request(DATASET, _nras(broker), unwrap=[wrapped])
    with pytest.raises(KeyReleaseRefused):
        broker.client.request(DATASET, _nras(broker, secboot=False), unwrap=[wrapped])
    records = broker.records()
    decisions = [r for r in records if r["action"] in {"key.release", "key.refusal", "attestation.result"}]
    assert [(r["action"], r["outcome"]) for r in decisions] == [
        ("attestation.result", "success"),
        ("key.release", "success"),
        ("attestation.result", "denied"),
        ("key.refusal", "denied"),
    ]
    assert all(r["actor"] == "svc:keybroker" and r["object"] == f"dataset:{DATASET}" for r in decisions)
    assert decisions[1]["details"]["kek_id"] == broker.kek.kek_id
    assert decisions[3]["details"]["reasons"] == ["GPU-0: secure boot is false, not true"]


def test_fixed_nonce_source_warns() -> None:
    with pytest.warns(UnsafeNonceWarning):
        UnsafeFixedNonceSource(VALID_NONCE)
    with pytest.warns(UnsafeRecordedEvidenceWarning):
        UnsafeRecordedEvidence({})


def test_request_key_is_the_runners_entry_point(pinned_broker: Harness) -> None:
    from runtime.attestation import AttestationError, CollectionResult
    from runtime.keyclient import request_key

    evidence = UnsafeRecordedEvidence({"evidence": [valid_evidence_wire()]})
    url = f"{pinned_broker.running.url}/{DATASET}"
    kek = request_key(url, ca=pinned_broker.ca, evidence_provider=evidence)
    assert kek.kek_id == pinned_broker.kek.kek_id
    dek, wrapped = pinned_broker.wrapped_dek()
    assert kek.unwrap(wrapped) == dek

    not_confidential = CollectionResult(False, VALID_NONCE, "no-gpu", "no NVIDIA GPU is visible")
    with pytest.raises(AttestationError, match="no-gpu"):
        request_key(url, ca=pinned_broker.ca, evidence=not_confidential)
    with pytest.raises(KeyReleaseRefused) as refused:
        request_key(f"{pinned_broker.running.url}/unknown", ca=pinned_broker.ca, evidence_provider=evidence)
    assert refused.value.status == 404
    with pytest.raises(Exception, match="names no dataset"):
        request_key(pinned_broker.running.url, ca=pinned_broker.ca)
