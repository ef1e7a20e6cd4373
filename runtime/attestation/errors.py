"""The one error type of attestation verification."""

from __future__ import annotations

from runtime.errors import VerificationError


class AttestationError(VerificationError):
    """Evidence, a certificate chain, a token or claims failed verification; the message says why.

    Verification functions raise this instead of returning a boolean, so a caller cannot forget to
    check the outcome. Exit code 1 (docs/CONTRACTS.md).
    """
