"""The runtime's key broker client: fetch a nonce, present evidence bound to it, receive data keys.

    client = KeyBrokerClient("https://broker.example:8443", ca_file="broker-ca.pem")
    with client.unwrap("chest-ct-2026", wrapped_dek, evidence=nvml_evidence()) as dek:
        ...  # dek is a bytearray, zeroised when the block ends

or, with envelope encryption, as a KEK whose every use is attested (the runner calls
:func:`request_key`, which builds one)::

    kek = BrokerKek(client, "chest-ct-2026", evidence=nvml_evidence())
    study = decrypt_to_memory("study.enc", object_id="study-42", kek=kek)

TLS 1.3 only, and only the pinned CA is trusted. Keys are held in memory only.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import http.client
import json
import os
import ssl
import urllib.parse
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runtime.attestation import collect_evidence
from runtime.crypto import Kek
from runtime.errors import InputError, VerificationError

# nonce -> the evidence part of a key request: {"evidence": [...]} or {"nras": <NRAS answer>}
EvidenceProvider = Callable[[bytes], Mapping[str, Any]]


class KeyReleaseRefused(VerificationError):
    """The broker refused to release keys; ``reasons`` lists why (exit 1)."""

    def __init__(self, message: str, reasons: tuple[str, ...] = (), status: int = 403) -> None:
        super().__init__(message)
        self.reasons = reasons
        self.status = status


class UnsafeRecordedEvidenceWarning(UserWarning):
    """Recorded evidence is presented instead of fresh evidence (tests only)."""


def nvml_evidence(**collect_options: Any) -> EvidenceProvider:
    """Collect fresh GPU evidence for each nonce; raises AttestationError when not confidential."""

    def provide(nonce: bytes) -> Mapping[str, Any]:
        result = collect_evidence(nonce, **collect_options)
        return {"evidence": [gpu.to_wire() for gpu in result.require()]}

    return provide


class UnsafeRecordedEvidence:
    """Presents the same recorded evidence whatever the nonce — only for tests against a broker
    whose nonce is pinned to the recording's nonce (``UnsafeFixedNonceSource``)."""

    def __init__(self, evidence: Mapping[str, Any]) -> None:
        warnings.warn(
            "presenting recorded attestation evidence, not fresh evidence (test mode)",
            UnsafeRecordedEvidenceWarning,
            stacklevel=2,
        )
        self.evidence = dict(evidence)

    def __call__(self, nonce: bytes) -> Mapping[str, Any]:
        return self.evidence


def zeroise(buffer: bytearray) -> None:
    """Overwrite a key buffer in place (best effort: Python may hold other copies briefly)."""
    for index in range(len(buffer)):
        buffer[index] = 0


def client_tls_context(ca_file: str | None = None, *, ca_data: str | None = None) -> ssl.SSLContext:
    """TLS 1.3 only, trusting only the broker's pinned CA, with hostname checking."""
    if not ca_file and not ca_data:
        raise InputError("the key broker's CA must be pinned (ca_file or ca_data)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(cafile=ca_file, cadata=ca_data)
    return context


class KeyBrokerClient:
    """Talks to one key broker over TLS 1.3."""

    def __init__(
        self,
        url: str,
        *,
        ca_file: str | None = None,
        ca_data: str | None = None,
        timeout_s: float = 30.0,
        context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise InputError(f"key broker URL must be https://host[:port]: {url!r}")
        self.host = parts.hostname
        self.port = parts.port or 443
        self.timeout_s = timeout_s
        self.context = context or client_tls_context(ca_file, ca_data=ca_data)

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        connection = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout_s, context=self.context)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read(4 << 20)
        except (OSError, http.client.HTTPException) as err:
            raise VerificationError(f"key broker unreachable at {self.host}:{self.port}: {err}") from err
        finally:
            connection.close()
        try:
            answer = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise VerificationError(f"key broker answered HTTP {response.status} without JSON") from None
        if response.status != 200:
            reasons = tuple(answer.get("reasons") or ()) if isinstance(answer, dict) else ()
            reason = answer.get("reason") if isinstance(answer, dict) else None
            raise KeyReleaseRefused(
                f"key broker refused (HTTP {response.status}): {reason or 'no reason given'}", reasons, response.status
            )
        if not isinstance(answer, dict):
            raise VerificationError("key broker answer is not a JSON object")
        return answer

    def nonce(self) -> bytes:
        """A fresh nonce for one key request."""
        answer = self._call("POST", "/v1/nonce", {})
        try:
            return bytes.fromhex(answer["nonce"])
        except (KeyError, ValueError, TypeError):
            raise VerificationError("key broker sent a malformed nonce") from None

    def kek_id(self, dataset: str) -> str:
        """The non-secret id of a dataset's KEK."""
        return str(self._call("GET", f"/v1/datasets/{urllib.parse.quote(dataset)}")["kek_id"])

    def request(
        self,
        dataset: str,
        evidence: EvidenceProvider,
        *,
        unwrap: list[bytes] | None = None,
        wrap: list[bytes] | None = None,
    ) -> dict[str, Any]:
        """One attested key request: nonce → evidence bound to it → the broker's answer."""
        nonce = self.nonce()
        body: dict[str, Any] = {"nonce": nonce.hex(), **evidence(nonce)}
        body["unwrap"] = [base64.b64encode(item).decode() for item in unwrap or []]
        body["wrap"] = [base64.b64encode(item).decode() for item in wrap or []]
        return self._call("POST", f"/v1/keys/{urllib.parse.quote(dataset)}", body)

    @contextlib.contextmanager
    def unwrap(self, dataset: str, wrapped: bytes, *, evidence: EvidenceProvider) -> Iterator[bytearray]:
        """Yield the data key for ``wrapped`` as a bytearray that is zeroised afterwards."""
        answer = self.request(dataset, evidence, unwrap=[wrapped])
        key = bytearray(_decode_one(answer, "keys"))
        try:
            yield key
        finally:
            zeroise(key)


def _decode_one(answer: Mapping[str, Any], field: str) -> bytes:
    try:
        (item,) = answer[field]
        return base64.b64decode(item, validate=True)
    except (KeyError, ValueError, TypeError, binascii.Error):
        raise VerificationError(f"key broker answer has no single '{field}' entry") from None


class BrokerKek(Kek):
    """A KEK held by the key broker: every wrap and unwrap is a fresh attested request."""

    def __init__(self, client: KeyBrokerClient, dataset: str, *, evidence: EvidenceProvider) -> None:
        self.client = client
        self.dataset = dataset
        self.evidence = evidence
        self._kek_id: str | None = None

    @property
    def kek_id(self) -> str:
        if self._kek_id is None:
            self._kek_id = self.client.kek_id(self.dataset)
        return self._kek_id

    def wrap(self, dek: bytes) -> bytes:
        return _decode_one(self.client.request(self.dataset, self.evidence, wrap=[dek]), "wrapped")

    def unwrap(self, wrapped: bytes) -> bytes:
        return _decode_one(self.client.request(self.dataset, self.evidence, unwrap=[wrapped]), "keys")


def _split_dataset(url: str) -> tuple[str, str | None]:
    """``https://host:port/<dataset>`` → (``https://host:port``, dataset); no path → (url, None)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path.strip("/")
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return base, (urllib.parse.unquote(path.rsplit("/", 1)[-1]) if path else None)


def request_key(
    url: str,
    *,
    ca: str | os.PathLike[str],
    dataset: str | None = None,
    evidence: Any = None,
    nonce: bytes | None = None,
    evidence_provider: EvidenceProvider | None = None,
) -> BrokerKek:
    """The runner's entry point: a KEK held by the broker at ``url`` for ``dataset``.

    ``url`` may name the dataset as its last path segment (``https://broker:8443/chest-ct-2026``).
    ``evidence``, when given, is the runner's earlier :class:`~runtime.attestation.CollectionResult`:
    a machine that is not confidential is refused here, before the broker is contacted. The broker
    binds every key operation to a nonce it issues itself, so each wrap/unwrap collects fresh
    evidence through ``evidence_provider`` (default: NVML on this machine); ``nonce`` (the runner's
    own) is therefore not sent. The KEK id is fetched now, so an unreachable broker or an unknown
    dataset fails here.
    """
    del nonce  # evidence is re-collected for each broker-issued nonce
    require = getattr(evidence, "require", None)
    if callable(require):
        require()  # raises AttestationError with the reason when not confidential
    base, named = _split_dataset(url)
    name = dataset or named
    if not name:
        raise InputError(f"key broker URL names no dataset (use https://host:port/<dataset>): {url!r}")
    client = KeyBrokerClient(base, ca_file=os.fspath(ca))
    kek = BrokerKek(client, name, evidence=evidence_provider or nvml_evidence())
    _ = kek.kek_id
    return kek
