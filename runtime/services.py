"""The runner's seams to the services it depends on: attestation, key release, envelope encryption
and the audit log. The runner calls only the functions gathered in :class:`Services`; tests swap
them for doubles, and each default adapts the module that implements it.

Everything here fails closed: an attestation layer that cannot be loaded yields "not confidential"
with the reason, and a missing key-broker client refuses to release a key.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runtime.errors import InputError, PhistackError, VerificationError
from runtime.job import AuditConfig, KeyBroker

if TYPE_CHECKING:  # the crypto package loads on first use, as every service here does
    from runtime.crypto.kek import Kek


@dataclass(frozen=True)
class AttestationOutcome:
    """What evidence collection found: confidential or not, and why (``reason_code`` is stable)."""

    confidential: bool
    reason_code: str
    reason: str
    evidence: Any = None  # the collection result, passed on to the key broker

    def summary(self) -> dict[str, Any]:
        """Audit details: the verdict and reason, never raw evidence."""
        return {"confidential": self.confidential, "reason_code": self.reason_code, "reason": self.reason}


class AuditSink(Protocol):
    """The part of the audit log the runner uses."""

    def append(
        self, actor: str, action: str, object: str, outcome: str, details: dict[str, Any] | None = None
    ) -> Any: ...

    def close(self) -> None: ...


# --- attestation ---------------------------------------------------------------------------------


def collect_attestation(nonce: bytes) -> AttestationOutcome:
    """Collect this machine's evidence bound to ``nonce``; never raises for a non-confidential machine."""
    try:
        from runtime.attestation.collect import collect_evidence
    except ImportError as err:
        reason = f"the attestation module cannot load: {err}"
        return AttestationOutcome(False, "attestation-unavailable", reason)
    try:
        result = collect_evidence(nonce)
    except PhistackError as err:
        return AttestationOutcome(False, "evidence-failed", err.diagnostic())
    return AttestationOutcome(bool(result.confidential), result.reason_code, result.reason, result)


# --- keys ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _captured_warnings() -> Iterator[list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def open_development_kek(uri: str) -> tuple[Kek, list[str]]:
    """Open a ``file:`` KEK; returns it with the warnings the crypto layer raised (for the audit log)."""
    from runtime.crypto.kek import open_kek

    with _captured_warnings() as caught:
        kek = open_kek(uri)
    return kek, [str(w.message) for w in caught]


def obtain_broker_kek(broker: KeyBroker, outcome: AttestationOutcome, nonce: bytes) -> Kek:
    """Present the evidence to the key broker, which appraises it and lends the dataset's KEK or refuses."""
    try:
        from runtime.keyclient import request_key
    except ImportError as err:
        raise VerificationError(
            f"no key broker client in this build, so no data key can be released ({broker.url})"
        ) from err
    # The client refuses a non-confidential collection result before contacting the broker, and
    # collects fresh evidence for every nonce the broker issues.
    return request_key(broker.url, ca=broker.ca, dataset=broker.dataset, evidence=outcome.evidence, nonce=nonce)


# --- envelope encryption -------------------------------------------------------------------------


def decrypt_object(kek: Kek, ciphertext: bytes, *, object_id: str, tenant: str) -> bytes:
    """Decrypt an object in memory; the object id and tenant must match what it was sealed with."""
    from runtime.crypto.envelope import decrypt_bytes

    return decrypt_bytes(ciphertext, object_id=object_id, kek=kek, tenant=tenant)


def encrypt_object(kek: Kek, plaintext: bytes, *, object_id: str, tenant: str) -> bytes:
    """Encrypt an object in memory under a fresh data key wrapped by ``kek``."""
    from runtime.crypto.envelope import encrypt_bytes

    return encrypt_bytes(plaintext, object_id=object_id, kek=kek, tenant=tenant)


# --- audit ---------------------------------------------------------------------------------------


def open_audit(path: Path, config: AuditConfig) -> AuditSink:
    """Open (or create) the hash-chained audit log at ``path``, signing checkpoints with the job's
    key when it names one. A configured SIEM sink that cannot be set up refuses the job."""
    from runtime.audit import AuditLog
    from runtime.ed25519 import load_private_key

    if config.sink is not None:
        raise InputError(
            f"audit sink {config.sink!r} is not supported by this runtime build; ship the local log "
            "with the audit shipper instead (audit.sink)"
        )
    key = load_private_key(config.signing_key) if config.signing_key is not None else None
    path.parent.mkdir(parents=True, exist_ok=True)
    return AuditLog.open(path, signing_key=key)


@dataclass
class Services:
    """The functions the runner calls; every field can be replaced (tests, other deployments)."""

    attest: Callable[[bytes], AttestationOutcome] = collect_attestation
    open_development_kek: Callable[[str], tuple[Kek, list[str]]] = open_development_kek
    obtain_broker_kek: Callable[[KeyBroker, AttestationOutcome, bytes], Kek] = obtain_broker_kek
    decrypt: Callable[..., bytes] = decrypt_object
    encrypt: Callable[..., bytes] = encrypt_object
    open_audit: Callable[[Path, AuditConfig], AuditSink] = open_audit
    extra: dict[str, Any] = field(default_factory=dict)
