"""Key release decisions, independent of HTTP.

A key request names a dataset and carries: the nonce this broker issued; evidence bound to it
(``evidence``: GPU reports and chains, verified offline against the device root) or an NRAS answer
(``nras``: tokens verified against the pinned JWKS); and the key operations wanted once the
appraisal passes (``unwrap``: data keys wrapped by the dataset's KEK, returned in the clear over
the TLS 1.3 channel; ``wrap``: new data keys to wrap under that KEK). The KEK itself never leaves
the broker. Every decision is audited before it takes effect; if the audit log cannot record it,
nothing is released. Refusals an anonymous client can cause without spending a nonce, and nonce
issuance, are audited through :class:`~phistack.keybroker.auditing.AggregatingAuditor` (one record
per burst, with a count), so they cannot flood the log.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from phistack.keybroker.appraisal import Appraisal, Appraiser
from phistack.keybroker.auditing import AggregatingAuditor, AuditSink, bounded, bounded_name
from phistack.keybroker.nonces import IssuedNonce, NonceRateLimited, NonceRefused, NonceStore
from runtime.attestation import (
    AttestationError,
    Claims,
    JsonWebKeySet,
    ReferenceMeasurements,
    offline_claims,
    verify_gpu_report,
    verify_response,
)
from runtime.attestation.evidence import evidence_list_from_wire
from runtime.attestation.spdm import NONCE_LENGTH
from runtime.crypto import Kek
from runtime.errors import PhistackError

ACTOR = "svc:keybroker"
MAX_KEYS_PER_REQUEST = 64
MAX_WRAPPED_CHARS = 1024  # base64 of a wrapped data key is ~56 characters
MAX_GPUS = 16  # evidence entries per request (an HGX board has 8 GPUs); each costs a chain verification
DATASET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
Clock = Callable[[], dt.datetime]


class Refusal(Exception):
    """A refused request: HTTP ``status`` and the reasons sent back to the client.

    ``code`` names the kind of refusal for audit aggregation (it must not hold client-chosen text);
    ``decided`` marks a refusal reached after a valid nonce was spent (audited one record each).
    """

    def __init__(
        self,
        status: int,
        reason: str,
        reasons: tuple[str, ...] = (),
        *,
        code: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.reasons = reasons or (reason,)
        self.code = code or f"http-{status}"
        self.retry_after_s = retry_after_s
        self.decided = False
        self.audited = False

    def to_dict(self) -> dict[str, Any]:
        return {"error": "refused", "reason": self.reason, "reasons": list(self.reasons)}


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Dataset:
    """A dataset's KEK, serialised by a lock (an HSM session is not shared between threads)."""

    name: str
    kek: Kek
    lock: threading.Lock


def _b64_list(request: Mapping[str, Any], field: str) -> list[bytes]:
    items = request.get(field, [])
    if not isinstance(items, list) or len(items) > MAX_KEYS_PER_REQUEST:
        raise Refusal(400, f"'{field}' must be a list of at most {MAX_KEYS_PER_REQUEST} base64 strings")
    if any(not isinstance(item, str) or len(item) > MAX_WRAPPED_CHARS for item in items):
        raise Refusal(400, f"'{field}' holds a value that is not a base64 string of at most {MAX_WRAPPED_CHARS}")
    try:
        return [base64.b64decode(item, validate=True) for item in items]
    except (binascii.Error, ValueError, TypeError):
        raise Refusal(400, f"'{field}' holds a value that is not base64") from None


def _claims_digest(claims: Claims | None) -> str | None:
    if claims is None:
        return None
    canonical = json.dumps(claims.to_dict(), sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


class KeyBroker:
    """Issues nonces, verifies evidence, appraises claims, releases key operations, audits all of it."""

    def __init__(
        self,
        *,
        datasets: Mapping[str, Kek],
        device_root: x509.Certificate,
        appraiser: Appraiser,
        audit: AuditSink,
        nonces: NonceStore,
        references: ReferenceMeasurements | None = None,
        nras_jwks: JsonWebKeySet | None = None,
        nras_issuer: str | None = "https://nras.attestation.nvidia.com",
        claims_ttl_s: int = 300,
        clock: Clock = utc_now,
        audit_window_s: float = 10.0,
        audit_max_bursts: int = 1024,
    ) -> None:
        self.datasets = {name: Dataset(name, kek, threading.Lock()) for name, kek in datasets.items()}
        self.device_root = device_root
        self.appraiser = appraiser
        self.audit = audit
        self.nonces = nonces
        self.references = references or ReferenceMeasurements()
        self.nras_jwks = nras_jwks
        self.nras_issuer = nras_issuer
        self.claims_ttl_s = claims_ttl_s
        self.clock = clock
        self.events = AggregatingAuditor(audit, ACTOR, window_s=audit_window_s, max_bursts=audit_max_bursts)

    def tick(self) -> None:
        """Write the records of aggregated bursts whose window has ended (call often)."""
        self.events.tick()

    def close(self) -> None:
        """Write every pending aggregated count (at shutdown)."""
        self.events.close()

    # -- nonces -----------------------------------------------------------------------------------
    def issue_nonce(self, *, client: str = "-", peer: str = "unknown") -> dict[str, Any]:
        """A fresh nonce for one key request; 429 when ``client`` is over its share (audited, aggregated)."""
        try:
            issued: IssuedNonce = self.nonces.issue(at_time=self.clock(), client=client)
        except NonceRateLimited as err:
            raise Refusal(429, str(err), code="nonce-rate-limit", retry_after_s=err.retry_after_s) from err
        except NonceRefused as err:
            raise Refusal(503, str(err), code="nonce-unavailable") from err
        details = {"peer": peer, "expires_at": issued.expires_at.isoformat()}
        self.events.event("nonce.issue", "nonces", "success", details, client=client, code="issued")
        return {
            "nonce": issued.nonce.hex(),
            "expires_at": issued.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ttl_s": int(self.nonces.ttl.total_seconds()),
        }

    def describe(self, dataset: str) -> dict[str, Any]:
        """Non-secret facts about a dataset (its KEK id), for clients writing object headers."""
        entry = self.datasets.get(dataset)
        if entry is None:
            raise Refusal(404, f"unknown dataset {bounded_name(dataset)!r}", code="unknown-dataset")
        return {"dataset": dataset, "kek_id": entry.kek.kek_id}

    # -- key requests ---------------------------------------------------------------------------
    def release(
        self, dataset: str, request: Mapping[str, Any], *, peer: str = "unknown", client: str | None = None
    ) -> dict[str, Any]:
        """Decide one key request; return the response body or raise Refusal (always audited)."""
        try:
            return self._release(dataset, request, peer)
        except Refusal as refusal:
            self.audit_refusal(refusal, "key.refusal", f"dataset:{dataset}", peer=peer, client=client)
            raise

    def audit_refusal(
        self, refusal: Refusal, action: str, obj: str, *, peer: str, client: str | None = None, **extra: Any
    ) -> None:
        """Audit a refusal: one record each once a nonce was spent, else aggregated per burst."""
        refusal.audited = True
        details = bounded({"peer": peer, "status": refusal.status, "reasons": list(refusal.reasons), **extra})
        if refusal.decided:
            self._audit(action, obj, "denied", details)
        else:
            who = client if client is not None else peer.rsplit(":", 1)[0]
            self.events.event(action, obj, "denied", details, client=who, code=refusal.code)

    def _release(self, dataset: str, request: Mapping[str, Any], peer: str) -> dict[str, Any]:
        entry = self.datasets.get(dataset) if DATASET_RE.match(dataset) else None
        if entry is None:
            raise Refusal(404, f"unknown dataset {bounded_name(dataset)!r}", code="unknown-dataset")
        if not isinstance(request, Mapping):
            raise Refusal(400, "request body must be a JSON object", code="bad-body")
        unwrap, wrap = _b64_list(request, "unwrap"), _b64_list(request, "wrap")
        if not unwrap and not wrap:
            raise Refusal(400, "nothing requested: give 'unwrap' and/or 'wrap'", code="bad-body")
        evidence = request.get("evidence")
        if isinstance(evidence, list) and len(evidence) > MAX_GPUS:
            raise Refusal(400, f"'evidence' lists more than {MAX_GPUS} GPUs", code="bad-body")
        now = self.clock()
        nonce = self._consume_nonce(request.get("nonce"), now)
        try:
            return self._decide(entry, request, nonce, now, peer, unwrap, wrap)
        except Refusal as refusal:
            refusal.decided = True  # a spent nonce: rate-bounded, so every one is recorded
            raise

    def _decide(
        self,
        entry: Dataset,
        request: Mapping[str, Any],
        nonce: bytes,
        now: dt.datetime,
        peer: str,
        unwrap: list[bytes],
        wrap: list[bytes],
    ) -> dict[str, Any]:
        dataset = entry.name
        claims = self._verified_claims(request, nonce, now, dataset, peer)
        appraisal = self.appraiser.appraise(claims, nonce=nonce, at_time=now)
        self._audit_appraisal(dataset, peer, claims, appraisal)
        if not appraisal.allow:
            raise Refusal(403, "attestation appraisal denied: " + "; ".join(appraisal.reasons), appraisal.reasons)
        keys, wrapped = self._key_operations(entry, unwrap, wrap)
        details = {
            "peer": peer,
            "kek_id": entry.kek.kek_id,
            "unwrapped": len(keys),
            "wrapped": len(wrapped),
            "claims": _claims_digest(claims),
            "source": claims.source if claims else None,
        }
        # Audited before the keys leave: if the log cannot record it, nothing is released.
        self._audit("key.release", f"dataset:{dataset}", "success", details, refuse_on_error=True)
        return {
            "dataset": dataset,
            "kek_id": entry.kek.kek_id,
            "keys": [base64.b64encode(key).decode("ascii") for key in keys],
            "wrapped": [base64.b64encode(item).decode("ascii") for item in wrapped],
            "appraisal": appraisal.to_dict(),
        }

    def _consume_nonce(self, value: Any, now: dt.datetime) -> bytes:
        if not isinstance(value, str):
            raise Refusal(403, "no nonce presented", code="nonce-missing")
        if len(value) != 2 * NONCE_LENGTH:
            raise Refusal(403, f"nonce must be {NONCE_LENGTH} bytes ({2 * NONCE_LENGTH} hex digits)", code="nonce-bad")
        try:
            nonce = bytes.fromhex(value)
        except ValueError:
            raise Refusal(403, "nonce is not hexadecimal", code="nonce-bad") from None
        try:
            self.nonces.consume(nonce, at_time=now)
        except NonceRefused as err:
            raise Refusal(403, str(err), code="nonce-refused") from err
        return nonce

    def _verified_claims(
        self, request: Mapping[str, Any], nonce: bytes, now: dt.datetime, dataset: str, peer: str
    ) -> Claims | None:
        """Claims from verified evidence; None when none was presented (the policy then denies)."""
        try:
            if "evidence" in request:
                gpus = evidence_list_from_wire(request["evidence"])
                verified = [
                    verify_gpu_report(gpu.report, gpu.cert_chain_pem, nonce, self.device_root, at_time=now)
                    for gpu in gpus
                ]
                pairs = [(report, self.references.compare(report.report)) for report in verified]
                return offline_claims(pairs, nonce=nonce, at_time=now, ttl_s=self.claims_ttl_s)
            if "nras" in request:
                if self.nras_jwks is None:
                    raise AttestationError("this broker has no pinned NRAS key set; present GPU evidence")
                return verify_response(
                    request["nras"], self.nras_jwks, nonce=nonce, at_time=now, issuer=self.nras_issuer
                )
        except AttestationError as err:
            details = bounded({"peer": peer, "reason": str(err)})
            self._audit("attestation.result", f"dataset:{dataset}", "failure", details)
            raise Refusal(403, f"evidence not verifiable: {err}") from err
        return None

    def _key_operations(
        self, entry: Dataset, unwrap: list[bytes], wrap: list[bytes]
    ) -> tuple[list[bytes], list[bytes]]:
        with entry.lock:
            try:
                keys = [entry.kek.unwrap(item) for item in unwrap]
                wrapped = [entry.kek.wrap(item) for item in wrap]
            except (PhistackError, ValueError) as err:  # wrong KEK, modified wrapped key, bad DEK length
                raise Refusal(400, f"key operation failed for dataset {entry.name!r}: {err}") from err
        return keys, wrapped

    # -- audit -------------------------------------------------------------------------------------
    def _audit_appraisal(self, dataset: str, peer: str, claims: Claims | None, appraisal: Appraisal) -> None:
        details: dict[str, Any] = {"peer": peer, "claims": _claims_digest(claims), "reasons": list(appraisal.reasons)}
        if claims is not None:
            details["source"] = claims.source
            details["gpus"] = {
                name: {
                    "hwmodel": gpu.get("hwmodel"),
                    "driver": gpu.get("x-nvidia-gpu-driver-version"),
                    "vbios": gpu.get("x-nvidia-gpu-vbios-version"),
                }
                for name, gpu in claims.gpus.items()
            }
        self._audit("attestation.result", f"dataset:{dataset}", "success" if appraisal.allow else "denied", details)

    def _audit(
        self, action: str, obj: str, outcome: str, details: dict[str, Any], *, refuse_on_error: bool = False
    ) -> None:
        try:
            self.audit.append(ACTOR, action, obj, outcome, details)
        except Exception as err:  # any audit failure: fail closed where a release depends on it
            if refuse_on_error:
                raise Refusal(503, f"audit log unavailable, nothing released: {err}") from err
            raise
