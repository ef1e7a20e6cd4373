"""ES384 token verification and the NRAS client, with tokens minted by a test key (no network)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from runtime.attestation import AttestationError, GpuEvidence, NrasClient, verify_es384, verify_response
from runtime.attestation.jws import JsonWebKeySet, b64url_encode
from runtime.errors import InputError
from tests.support.attestation import (
    NOW,
    VALID_NONCE,
    TestSigner,
    chain_pem,
    passing_gpu_claims,
    recorded_gpu_claims,
    report_bytes,
    vector,
)


@pytest.fixture(scope="module")
def signer() -> TestSigner:
    return TestSigner()


def _claims(now: dt.datetime = NOW, **extra: Any) -> dict[str, Any]:
    issued = int(now.timestamp())
    return {
        "iss": "https://nras.attestation.nvidia.com",
        "iat": issued,
        "nbf": issued,
        "exp": issued + 60,
        **extra,
    }


def test_valid_token_verifies(signer: TestSigner) -> None:
    claims = verify_es384(signer.mint(_claims(x=1)), signer.jwks(), at_time=NOW)
    assert claims["x"] == 1


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda s: s.mint(_claims(), alg="none"), "algorithm 'none' refused"),
        (lambda s: s.mint(_claims(), alg="HS256"), "algorithm 'HS256' refused"),
        (lambda s: s.mint(_claims(), kid="unknown"), "not in the pinned key set"),
        (lambda s: TestSigner(s.kid).mint(_claims()), "does not verify"),
        (lambda s: s.mint(_claims(now=NOW - dt.timedelta(hours=2))), "token expired"),
        (lambda s: s.mint(_claims(now=NOW + dt.timedelta(hours=2))), "not valid before"),
        (lambda s: s.mint({k: v for k, v in _claims().items() if k != "exp"}), "no numeric 'exp'"),
        (lambda s: s.mint(_claims(iss="https://evil.example")), "issuer"),
        (lambda s: "a.b", "not a compact JWS"),
    ],
)
def test_bad_tokens_are_rejected(signer: TestSigner, build, message: str) -> None:
    with pytest.raises(AttestationError, match=message):
        verify_es384(build(signer), signer.jwks(), at_time=NOW, issuer="https://nras.attestation.nvidia.com")


def test_tampered_payload_is_rejected(signer: TestSigner) -> None:
    header, _, signature = signer.mint(_claims(secboot=False)).split(".")
    forged = b64url_encode(json.dumps(_claims(secboot=True)).encode())
    with pytest.raises(AttestationError, match="does not verify"):
        verify_es384(f"{header}.{forged}.{signature}", signer.jwks(), at_time=NOW)


def test_jwks_validation() -> None:
    with pytest.raises(InputError, match="no EC P-384"):
        JsonWebKeySet.from_dict({"keys": [{"kty": "RSA", "kid": "r"}]})
    with pytest.raises(InputError, match="'keys'"):
        JsonWebKeySet.from_dict({})


def test_nras_response_verifies_and_extracts_claims(signer: TestSigner) -> None:
    response = signer.nras_response({"GPU-0": passing_gpu_claims(VALID_NONCE, NOW)}, nonce=VALID_NONCE, now=NOW)
    claims = verify_response(response, signer.jwks(), nonce=VALID_NONCE, at_time=NOW)
    assert claims.source == "nras"
    assert claims.overall["x-nvidia-overall-att-result"] is True
    assert claims.gpus["GPU-0"]["measres"] == "success"
    assert claims.gpus["GPU-0"]["x-nvidia-gpu-driver-version"] == "550.90.07"


def test_nras_response_with_wrong_nonce_is_rejected(signer: TestSigner) -> None:
    response = signer.nras_response({"GPU-0": passing_gpu_claims(VALID_NONCE, NOW)}, nonce=VALID_NONCE, now=NOW)
    with pytest.raises(AttestationError, match=r"eat_nonce .* does not match"):
        verify_response(response, signer.jwks(), nonce=bytes(32), at_time=NOW)


def test_detached_token_with_other_nonce_is_rejected(signer: TestSigner) -> None:
    response = signer.nras_response({"GPU-0": passing_gpu_claims(bytes(32), NOW)}, nonce=VALID_NONCE, now=NOW)
    with pytest.raises(AttestationError, match="GPU-0 token: eat_nonce"):
        verify_response(response, signer.jwks(), nonce=VALID_NONCE, at_time=NOW)


def test_swapped_detached_token_is_rejected(signer: TestSigner) -> None:
    response = signer.nras_response({"GPU-0": passing_gpu_claims(VALID_NONCE, NOW)}, nonce=VALID_NONCE, now=NOW)
    response[1]["GPU-0"] = signer.mint(passing_gpu_claims(VALID_NONCE, NOW) | {"secboot": False})
    with pytest.raises(AttestationError, match="digest does not match"):
        verify_response(response, signer.jwks(), nonce=VALID_NONCE, at_time=NOW)


def test_missing_detached_token_is_rejected(signer: TestSigner) -> None:
    response = signer.nras_response({"GPU-0": passing_gpu_claims(VALID_NONCE, NOW)}, nonce=VALID_NONCE, now=NOW)
    response[1] = {}
    with pytest.raises(AttestationError, match="do not match the overall token's submods"):
        verify_response(response, signer.jwks(), nonce=VALID_NONCE, at_time=NOW)


def test_real_nras_answer_is_refused_without_nvidia_key(signer: TestSigner) -> None:
    # The recorded answer is genuine but its key is only published online: unpinned kid -> refused.
    response = json.loads(vector("hopperClaimsv3_detached_eat.json").read_text())
    nonce = bytes.fromhex(recorded_gpu_claims()["eat_nonce"])
    at = dt.datetime.fromtimestamp(1749601900, dt.UTC)
    with pytest.raises(AttestationError, match=r"nv-eat-kid-prod.*not in the pinned key set"):
        verify_response(response, signer.jwks(), nonce=nonce, at_time=at)


@pytest.mark.parametrize("name", ["hopperClaimsv3_decoded.json", "nras_detached_claims_remote.json"])
def test_recorded_claim_shapes_round_trip(signer: TestSigner, name: str) -> None:
    recorded = recorded_gpu_claims(name)
    nonce = bytes.fromhex(recorded["eat_nonce"])
    at = dt.datetime.fromtimestamp(recorded["iat"] + 10, dt.UTC)
    response = signer.nras_response({"GPU-0": recorded}, nonce=nonce, now=at)
    claims = verify_response(response, signer.jwks(), nonce=nonce, at_time=at, issuer=None)
    assert claims.gpus["GPU-0"] == recorded


def test_client_sends_v3_request_through_transport(signer: TestSigner) -> None:
    sent: dict[str, Any] = {}

    def transport(url: str, body: bytes, headers: Mapping[str, str]) -> bytes:
        sent.update(url=url, body=json.loads(body), headers=dict(headers))
        gpus = {"GPU-0": passing_gpu_claims(VALID_NONCE, NOW)}
        return json.dumps(signer.nras_response(gpus, nonce=VALID_NONCE, now=NOW)).encode()

    client = NrasClient(signer.jwks(), transport=transport)
    claims, answer = client.attest(VALID_NONCE, [GpuEvidence(report_bytes(), chain_pem())], at_time=NOW)
    assert sent["url"].endswith("/v3/attest/gpu")
    assert sent["body"]["nonce"] == VALID_NONCE.hex()
    assert sent["body"]["arch"] == "HOPPER" and sent["body"]["claims_version"] == "3.0"
    assert set(sent["body"]["evidence_list"][0]) == {"evidence", "certificate"}
    assert claims.gpus["GPU-0"]["secboot"] is True
    assert answer[0][0] == "JWT"


class _NrasStub(BaseHTTPRequestHandler):
    """A loopback stand-in for NRAS that answers with whatever the test put in ``server.answer``."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.requests.append(json.loads(self.rfile.read(length)))  # type: ignore[attr-defined]
        status, payload = self.server.answer  # type: ignore[attr-defined]
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def nras_stub() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NrasStub)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _http_transport(url: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return bytes(answer.read())
    except urllib.error.HTTPError as err:
        raise AttestationError(f"NRAS refused the evidence: HTTP {err.code}") from err


def test_client_against_loopback_service(signer: TestSigner, nras_stub: ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{nras_stub.server_address[1]}/v3/attest/gpu"
    gpus = {"GPU-0": passing_gpu_claims(VALID_NONCE, NOW)}
    nras_stub.answer = (200, signer.nras_response(gpus, nonce=VALID_NONCE, now=NOW))  # type: ignore[attr-defined]
    client = NrasClient(signer.jwks(), url=url, transport=_http_transport)
    claims, _ = client.attest(VALID_NONCE, [GpuEvidence(report_bytes(), chain_pem())], at_time=NOW)
    assert claims.gpus["GPU-0"]["dbgstat"] == "disabled"
    assert nras_stub.requests[0]["nonce"] == VALID_NONCE.hex()  # type: ignore[attr-defined]

    nras_stub.answer = (400, {"error": "bad evidence"})  # type: ignore[attr-defined]
    with pytest.raises(AttestationError, match="HTTP 400"):
        client.attest(VALID_NONCE, [GpuEvidence(report_bytes(), chain_pem())], at_time=NOW)


def test_default_transport_refuses_plain_http(signer: TestSigner) -> None:
    client = NrasClient(signer.jwks(), url="http://127.0.0.1:9/v3/attest/gpu")
    with pytest.raises(AttestationError, match="must be https"):
        client.attest(VALID_NONCE, [GpuEvidence(report_bytes(), chain_pem())], at_time=NOW)
