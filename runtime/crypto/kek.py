"""Key-encryption keys (KEKs): one small interface, providers chosen by URI scheme.

A KEK wraps and unwraps data keys (DEKs) with AES key wrap (RFC 3394). A KEK never hands out its
own key material through this interface; with an HSM it never leaves the HSM at all.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Protocol


class Kek(Protocol):
    """A key-encryption key that wraps and unwraps 32-byte DEKs with AES key wrap (RFC 3394).

    A protocol, so anything with these members is a KEK (the file, PKCS#11 and key broker KEKs, and test
    doubles); a class that names it as a base must define the abstract members and inherits ``close``
    and the context manager.
    """

    @property
    @abc.abstractmethod
    def kek_id(self) -> str:
        """A stable, non-secret name of this KEK, recorded in each object's header."""

    @abc.abstractmethod
    def wrap(self, dek: bytes) -> bytes:
        """Wrap ``dek``; returns the RFC 3394 ciphertext (40 bytes for a 32-byte DEK)."""

    @abc.abstractmethod
    def unwrap(self, wrapped: bytes) -> bytes:
        """Unwrap a DEK; raises :class:`~runtime.crypto.errors.WrongKekError` if it does not verify."""

    def close(self) -> None:
        """Release what the KEK holds (an HSM session); the default holds nothing."""
        return

    def __enter__(self) -> Kek:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_kek(uri: str) -> Kek:
    """Open the KEK named by ``uri``.

    ``file:PATH`` is a 32-byte key file (development only: it warns with
    :class:`~runtime.crypto.kek_file.UnsafeKekWarning`); ``pkcs11:...`` (RFC 7512) is a key held in
    an HSM. Raises :class:`~runtime.crypto.errors.KekError` for anything else.
    """
    from runtime.crypto.errors import KekError

    scheme, sep, _ = uri.partition(":")
    if sep and scheme == "file":
        from runtime.crypto.kek_file import UnsafeFileKek

        return UnsafeFileKek.from_uri(uri)
    if sep and scheme == "pkcs11":
        from runtime.crypto.kek_pkcs11 import Pkcs11Kek

        return Pkcs11Kek.from_uri(uri)
    raise KekError(f"unsupported KEK URI {uri!r}: use file:PATH or a pkcs11: URI (RFC 7512)")
