"""Keyed pseudonyms: the same identifier maps to the same replacement across files and runs, and nobody
without the organisation's secret can map it back or test a guess.

HMAC-SHA256 under a 32-byte secret held by the organisation (a file, e.g. one written by ``phistack data
keygen``); the secret is never written to the output or the manifest. Each kind of identifier is a separate
domain, so an MRN and an accession number with the same digits get unrelated pseudonyms.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from pathlib import Path

from runtime.errors import InputError

SECRET_SIZE = 32
UID_ROOT = "2.25."  # ITU-T X.667 / PS3.5 B.2: a UID from a 128-bit integer needs no registered root


class Pseudonymizer:
    """Deterministic, keyed replacements for identifiers and DICOM UIDs."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != SECRET_SIZE:
            raise ValueError(f"a pseudonym secret is exactly {SECRET_SIZE} bytes, got {len(secret)}")
        self._secret = bytes(secret)

    @classmethod
    def from_file(cls, path: Path) -> Pseudonymizer:
        """Read the secret; a missing, unreadable, wrongly sized or world-readable file is bad input."""
        try:
            info = path.stat()
            secret = path.read_bytes()
        except OSError as err:
            raise InputError(f"{path}: cannot read pseudonym secret: {err.strerror or err}") from err
        if len(secret) != SECRET_SIZE:
            raise InputError(f"{path}: a pseudonym secret is exactly {SECRET_SIZE} bytes, got {len(secret)}")
        if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise InputError(f"{path}: the pseudonym secret is readable by other users: chmod 600 it")
        return cls(secret)

    def _mac(self, domain: str, value: str) -> bytes:
        return hmac.new(self._secret, f"{domain}\x00{value}".encode(), hashlib.sha256).digest()

    def uid(self, original: str) -> str:
        """A DICOM UID for ``original``: ``2.25.`` and a 128-bit integer (at most 44 characters, under 64)."""
        return UID_ROOT + str(int.from_bytes(self._mac("uid", original.strip())[:16], "big"))

    def token(self, kind: str, value: str, length: int = 16) -> str:
        """A pseudonym for an identifier of ``kind`` (``mrn``, ``name``, ...): base32, upper case, ``length``
        characters (16 = 80 bits)."""
        text = base64.b32encode(self._mac(f"id:{kind}", value.strip())).decode("ascii")
        return text[:length]

    def day_shift(self, patient: str, max_days: int = 365) -> int:
        """A per-patient date shift in days, in ``[-max_days, -1]``: consistent for one patient, unrelated between
        patients (for schemas that ask to shift rather than truncate dates)."""
        return -1 - int.from_bytes(self._mac("shift", patient.strip())[:8], "big") % max_days
