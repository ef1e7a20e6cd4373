"""Errors of envelope encryption, each naming precisely what failed.

Integrity failures derive from :class:`~runtime.errors.VerificationError` (exit 1): the object was
modified, cut short, extended, reordered, presented under another identity or with another key.
Unusable input (not an encrypted object, an unknown format, a bad KEK URI) is an
:class:`~runtime.errors.InputError` (exit 2).
"""

from __future__ import annotations

from runtime.errors import InputError, VerificationError


class IntegrityError(VerificationError):
    """Base class: an encrypted object failed verification; nothing was released."""


class HeaderTamperedError(IntegrityError):
    """The header's authentication tag does not match: a header field was modified."""


class SegmentError(IntegrityError):
    """A failure located at one segment; ``segment`` is its zero-based position in the file."""

    def __init__(self, message: str, *, segment: int) -> None:
        super().__init__(message)
        self.segment = segment


class SegmentTamperedError(SegmentError):
    """A segment's tag does not verify: its bytes were modified."""


class SegmentsReorderedError(SegmentError):
    """A segment verifies, but belongs at another position: segments were moved or duplicated."""

    def __init__(self, message: str, *, segment: int, expected_at: int) -> None:
        super().__init__(message, segment=segment)
        self.expected_at = expected_at


class TruncatedError(SegmentError):
    """The object ends before its final segment: it was cut short."""


class TrailingDataError(SegmentError):
    """Bytes follow the final segment: data was appended."""


class ObjectIdMismatchError(IntegrityError):
    """The object was encrypted for another object id."""


class TenantMismatchError(IntegrityError):
    """The object was encrypted for another tenant."""


class WrongKekError(IntegrityError):
    """The data key cannot be unwrapped with the given key-encryption key."""


class NotEncryptedError(InputError):
    """The input is not a phistack encrypted object (wrong magic bytes)."""


class UnsupportedFormatError(InputError):
    """The object uses a format version or algorithm this build does not know."""


class KekError(InputError):
    """A KEK URI is malformed, or its key cannot be found or used."""
