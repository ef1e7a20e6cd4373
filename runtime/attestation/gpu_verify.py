"""Offline verification of an NVIDIA GPU attestation report.

Order: parse the report; verify the certificate chain to the trust anchor at the given time; verify
the report's ECDSA P-384 signature with the chain's leaf key; compare the nonce the report was
requested with against the one the verifier issued. Any failure raises :class:`AttestationError`.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from runtime.attestation.certchain import VerifiedChain, describe, load_pem_chain, verify_chain
from runtime.attestation.errors import AttestationError
from runtime.attestation.spdm import NONCE_LENGTH, SIGNATURE_LENGTH, SpdmReport, parse_report


@dataclass(frozen=True)
class VerifiedGpuReport:
    """A report whose chain, signature and nonce verified; only :func:`verify_gpu_report` builds it."""

    report: SpdmReport
    chain: VerifiedChain
    nonce: bytes
    verified_at: dt.datetime

    def summary(self) -> dict[str, object]:
        """The facts a person debugging attestation wants, as JSON-ready values."""
        return {
            "nonce": self.nonce.hex(),
            "driver_version": self.report.driver_version,
            "vbios_version": self.report.vbios_version,
            "measurement_blocks": len(self.report.measurements),
            "leaf": describe(self.chain.leaf),
            "hwmodel": hwmodel_of(self.chain),
            "chain_length": len(self.chain.certificates) + 1,
            "chain_not_after": self.chain.not_after.isoformat(),
            "verified_at": self.verified_at.isoformat(),
        }


def hwmodel_of(chain: VerifiedChain) -> str:
    """The hardware model as NRAS reports it: the common name of the leaf's issuer."""
    names = chain.leaf.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else chain.leaf.issuer.rfc4514_string()


def parse_nonce(text: str) -> bytes:
    """Parse a 32-byte nonce given as 64 hex digits."""
    try:
        nonce = bytes.fromhex(text.strip())
    except ValueError:
        raise AttestationError("nonce is not hexadecimal") from None
    if len(nonce) != NONCE_LENGTH:
        raise AttestationError(f"nonce must be {NONCE_LENGTH} bytes, got {len(nonce)}")
    return nonce


def parse_report_hex(text: str | bytes) -> bytes:
    """Decode a report stored as hex text (the format of NVIDIA's test vectors)."""
    try:
        return bytes.fromhex(text.decode("ascii") if isinstance(text, bytes) else text)
    except (ValueError, UnicodeDecodeError):
        raise AttestationError("attestation report is not hexadecimal text") from None


def _verify_signature(report: SpdmReport, leaf: x509.Certificate) -> None:
    key = leaf.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        raise AttestationError(f"leaf certificate {describe(leaf)} does not hold an ECDSA P-384 key")
    half = SIGNATURE_LENGTH // 2
    r = int.from_bytes(report.signature[:half], "big")
    s = int.from_bytes(report.signature[half:], "big")
    try:
        key.verify(utils.encode_dss_signature(r, s), report.signed_bytes, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        raise AttestationError(
            f"attestation report signature does not verify with the leaf key of {describe(leaf)}"
        ) from None


def verify_gpu_report(
    report: bytes | SpdmReport,
    chain: bytes | Sequence[x509.Certificate],
    nonce: bytes,
    anchor: x509.Certificate,
    *,
    at_time: dt.datetime,
) -> VerifiedGpuReport:
    """Verify a raw report against a PEM chain (leaf first), the expected nonce and the trust anchor."""
    if len(nonce) != NONCE_LENGTH:
        raise AttestationError(f"expected nonce must be {NONCE_LENGTH} bytes, got {len(nonce)}")
    parsed = report if isinstance(report, SpdmReport) else parse_report(report)
    certificates = load_pem_chain(chain) if isinstance(chain, bytes) else tuple(chain)
    verified_chain = verify_chain(certificates, anchor, at_time=at_time)
    _verify_signature(parsed, verified_chain.leaf)
    if not hmac.compare_digest(parsed.request_nonce, nonce):
        raise AttestationError(
            f"nonce mismatch: report was requested with {parsed.request_nonce.hex()}, expected {nonce.hex()}"
        )
    return VerifiedGpuReport(parsed, verified_chain, bytes(nonce), at_time)
