"""Remote verification through NVIDIA's Remote Attestation Service (NRAS), GPU API v3.

Request (``POST <url>``, e.g. ``https://nras.attestation.nvidia.com/v3/attest/gpu``)::

    {"nonce": "<64 hex>", "arch": "HOPPER", "claims_version": "3.0",
     "evidence_list": [{"evidence": "<base64 SPDM report>", "certificate": "<base64 PEM chain>"}]}

Response: ``[["JWT", "<overall EAT>"], {"GPU-0": "<detached EAT>", ...}]``. The overall token's
``submods`` names each GPU with ``["DIGEST", ["SHA-256", "<hex>"]]``, the SHA-256 of that GPU's
detached token text. Every token is ES384 and verified against a pinned JWKS (NRAS publishes its
set at ``/.well-known/jwks.json``; pin a copy). Both the overall and each detached token must carry
``eat_nonce`` equal to the nonce that was sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runtime.attestation.claims import Claims
from runtime.attestation.errors import AttestationError
from runtime.attestation.evidence import GpuEvidence
from runtime.attestation.jws import JsonWebKeySet, verify_es384

NRAS_GPU_URL = "https://nras.attestation.nvidia.com/v3/attest/gpu"
NRAS_ISSUER = "https://nras.attestation.nvidia.com"
CLAIMS_VERSION = "3.0"
MAX_RESPONSE_BYTES = 1 << 20

# (url, body, headers) -> response body. Injectable so tests need no network.
Transport = Callable[[str, bytes, Mapping[str, str]], bytes]


def build_request(nonce: bytes, evidence: Sequence[GpuEvidence]) -> dict[str, Any]:
    """The NRAS v3 GPU attestation request body."""
    if not evidence:
        raise AttestationError("no GPU evidence to send")
    arches = {gpu.arch for gpu in evidence}
    if len(arches) != 1:
        raise AttestationError(f"evidence mixes GPU architectures: {sorted(arches)}")
    return {
        "nonce": nonce.hex(),
        "arch": arches.pop(),
        "claims_version": CLAIMS_VERSION,
        "evidence_list": [{key: gpu.to_wire()[key] for key in ("evidence", "certificate")} for gpu in evidence],
    }


def _check_nonce(claims: Mapping[str, Any], nonce: bytes, what: str) -> None:
    sent = nonce.hex()
    got = claims.get("eat_nonce")
    if not isinstance(got, str) or not hmac.compare_digest(got.lower(), sent):
        raise AttestationError(f"{what}: eat_nonce {got!r} does not match the nonce sent ({sent})")


def verify_response(
    response: Any,
    jwks: JsonWebKeySet,
    *,
    nonce: bytes,
    at_time: dt.datetime,
    issuer: str | None = NRAS_ISSUER,
    leeway_s: int = 0,
) -> Claims:
    """Verify an NRAS answer (overall + detached tokens) and return its claims."""
    try:
        (label, overall_token), detached = response[0], response[1]
    except (TypeError, ValueError, IndexError, KeyError):
        raise AttestationError('NRAS response is not [["JWT", token], {gpu: token}]') from None
    if label != "JWT" or not isinstance(detached, Mapping):
        raise AttestationError('NRAS response is not [["JWT", token], {gpu: token}]')
    overall = verify_es384(overall_token, jwks, at_time=at_time, issuer=issuer, leeway_s=leeway_s)
    _check_nonce(overall, nonce, "overall token")
    submods = overall.get("submods")
    if not isinstance(submods, Mapping) or not submods:
        raise AttestationError("overall token lists no submodules (GPUs)")
    if set(detached) != set(submods):
        raise AttestationError(
            f"detached tokens {sorted(detached)} do not match the overall token's submods {sorted(submods)}"
        )
    gpus: dict[str, dict[str, Any]] = {}
    for name in sorted(submods):
        token = detached[name]
        if not isinstance(token, str):
            raise AttestationError(f"{name}: detached token is not a string")
        try:
            kind, (algorithm, expected) = submods[name]
        except (TypeError, ValueError):
            raise AttestationError(f'{name}: submods entry is not ["DIGEST", [alg, hex]]') from None
        if kind != "DIGEST" or algorithm != "SHA-256":
            raise AttestationError(f"{name}: unsupported submods digest {kind}/{algorithm}")
        actual = hashlib.sha256(token.encode("ascii")).hexdigest()
        if not hmac.compare_digest(actual, str(expected).lower()):
            raise AttestationError(f"{name}: detached token digest does not match the overall token")
        claims = verify_es384(token, jwks, at_time=at_time, issuer=issuer, leeway_s=leeway_s)
        _check_nonce(claims, nonce, f"{name} token")
        gpus[name] = claims
    return Claims("nras", overall, gpus)


def _urllib_transport(context: ssl.SSLContext, timeout_s: float) -> Transport:
    def send(url: str, body: bytes, headers: Mapping[str, str]) -> bytes:
        if not url.startswith("https://"):
            raise AttestationError(f"NRAS URL must be https: {url}")
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
        try:
            with urllib.request.urlopen(request, context=context, timeout=timeout_s) as answer:
                data: bytes = answer.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as err:
            detail = err.read(2000).decode("utf-8", errors="replace")
            raise AttestationError(f"NRAS refused the evidence: HTTP {err.code}: {detail.strip()}") from err
        except (urllib.error.URLError, OSError) as err:
            raise AttestationError(f"NRAS unreachable at {url}: {getattr(err, 'reason', err)}") from err
        if len(data) > MAX_RESPONSE_BYTES:
            raise AttestationError("NRAS response is too large")
        return data

    return send


class NrasClient:
    """Sends GPU evidence to NRAS and verifies the answer against a pinned key set."""

    def __init__(
        self,
        jwks: JsonWebKeySet,
        *,
        url: str = NRAS_GPU_URL,
        issuer: str | None = NRAS_ISSUER,
        transport: Transport | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout_s: float = 30.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.jwks = jwks
        self.url = url
        self.issuer = issuer
        self.headers = dict(headers or {})  # e.g. an NVIDIA service key, as the account requires
        self._transport = transport or _urllib_transport(ssl_context or ssl.create_default_context(), timeout_s)

    def submit(self, nonce: bytes, evidence: Sequence[GpuEvidence]) -> Any:
        """POST the evidence; return the decoded (still unverified) JSON answer."""
        headers = {"Content-Type": "application/json", "Accept": "application/json", **self.headers}
        raw = self._transport(self.url, json.dumps(build_request(nonce, evidence)).encode(), headers)
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise AttestationError("NRAS answer is not JSON") from None

    def attest(self, nonce: bytes, evidence: Sequence[GpuEvidence], *, at_time: dt.datetime) -> tuple[Claims, Any]:
        """Submit and verify; return the claims and the raw answer (to forward to a key broker)."""
        answer = self.submit(nonce, evidence)
        return verify_response(answer, self.jwks, nonce=nonce, at_time=at_time, issuer=self.issuer), answer
