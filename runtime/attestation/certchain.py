"""Verifying a GPU certificate chain (leaf first) up to a configured trust anchor.

Checks, for every link: the issuer name and signature (``verify_directly_issued_by``), the validity
window at an injected time, and the issuer's CA constraints (basicConstraints CA, keyCertSign when
keyUsage is present, pathLenConstraint). The chain must end at the anchor itself or at a certificate
the anchor issued. Every failure raises :class:`AttestationError` naming the certificate.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from runtime.attestation.errors import AttestationError

MAX_CHAIN_LENGTH = 8


@dataclass(frozen=True)
class VerifiedChain:
    """A chain that verified at ``verified_at``; ``not_after`` is the earliest expiry in it."""

    certificates: tuple[x509.Certificate, ...]
    anchor: x509.Certificate
    verified_at: dt.datetime
    not_after: dt.datetime

    @property
    def leaf(self) -> x509.Certificate:
        return self.certificates[0]


def load_pem_chain(data: bytes, what: str = "certificate chain") -> tuple[x509.Certificate, ...]:
    """Parse concatenated PEM certificates; raise AttestationError when none or malformed."""
    try:
        certificates = tuple(x509.load_pem_x509_certificates(data))
    except ValueError as err:
        raise AttestationError(f"{what} is not valid PEM: {err}") from err
    if not certificates:
        raise AttestationError(f"{what} holds no certificate")
    return certificates


def describe(certificate: x509.Certificate) -> str:
    """A short name for messages: the subject CN (or the whole subject) and the serial."""
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    name = str(names[0].value) if names else certificate.subject.rfc4514_string()
    return f"'{name}' (serial {certificate.serial_number:x})"


def _check_validity(certificate: x509.Certificate, at_time: dt.datetime) -> None:
    if at_time < certificate.not_valid_before_utc:
        raise AttestationError(
            f"certificate {describe(certificate)} is not yet valid at {at_time.isoformat()} "
            f"(valid from {certificate.not_valid_before_utc.isoformat()})"
        )
    if at_time > certificate.not_valid_after_utc:
        raise AttestationError(
            f"certificate {describe(certificate)} expired at {certificate.not_valid_after_utc.isoformat()} "
            f"(checked at {at_time.isoformat()})"
        )


def _check_issuer(issuer: x509.Certificate, intermediates_below: int) -> None:
    try:
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        raise AttestationError(f"issuer {describe(issuer)} lacks basicConstraints; it is not a CA") from None
    if not constraints.ca:
        raise AttestationError(f"issuer {describe(issuer)} is not a CA (basicConstraints CA=false)")
    if constraints.path_length is not None and intermediates_below > constraints.path_length:
        raise AttestationError(
            f"issuer {describe(issuer)} allows path length {constraints.path_length}, "
            f"chain has {intermediates_below} CA certificates below it"
        )
    try:
        usage = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not usage.key_cert_sign:
        raise AttestationError(f"issuer {describe(issuer)} may not sign certificates (keyUsage lacks keyCertSign)")


def _check_link(child: x509.Certificate, issuer: x509.Certificate) -> None:
    try:
        child.verify_directly_issued_by(issuer)
    except ValueError as err:
        raise AttestationError(f"certificate {describe(child)} was not issued by {describe(issuer)}: {err}") from err
    except InvalidSignature:
        raise AttestationError(
            f"certificate {describe(child)} has an invalid signature by {describe(issuer)}"
        ) from None
    except TypeError as err:
        raise AttestationError(f"certificate {describe(child)}: unsupported signature: {err}") from err


def _same(a: x509.Certificate, b: x509.Certificate) -> bool:
    return a.fingerprint(hashes.SHA256()) == b.fingerprint(hashes.SHA256())


def verify_chain(chain: Sequence[x509.Certificate], anchor: x509.Certificate, *, at_time: dt.datetime) -> VerifiedChain:
    """Verify ``chain`` (leaf first) up to ``anchor`` at ``at_time`` (timezone-aware)."""
    if at_time.tzinfo is None:
        raise ValueError("at_time must be timezone-aware")
    if not chain:
        raise AttestationError("certificate chain is empty")
    if len(chain) > MAX_CHAIN_LENGTH:
        raise AttestationError(f"certificate chain has {len(chain)} certificates, at most {MAX_CHAIN_LENGTH}")
    certificates = list(chain)
    # The anchor may or may not be included at the end; verify up to it either way.
    if _same(certificates[-1], anchor):
        certificates.pop()
    if not certificates:
        raise AttestationError("certificate chain holds only the trust anchor, no device certificate")
    path = [*certificates, anchor]
    for certificate in path:
        _check_validity(certificate, at_time)
    for position, (child, issuer) in enumerate(itertools.pairwise(path)):
        _check_issuer(issuer, intermediates_below=max(position, 0))
        _check_link(child, issuer)
    _check_link(anchor, anchor)  # a self-signed anchor must verify against itself
    not_after = min(certificate.not_valid_after_utc for certificate in path)
    return VerifiedChain(tuple(certificates), anchor, at_time, not_after)
