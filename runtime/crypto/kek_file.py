"""File KEKs for development: a 32-byte raw key in a local file.

A key on disk is only as safe as the disk: use an HSM (``pkcs11:`` URIs) for real PHI. Opening a
file KEK warns with :class:`UnsafeKekWarning`.
"""

from __future__ import annotations

import hmac
import os
import stat
import warnings
from hashlib import sha256
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from runtime.crypto.errors import KekError, WrongKekError
from runtime.crypto.kek import Kek
from runtime.fileio import write_atomic

KEY_SIZE = 32


class UnsafeKekWarning(UserWarning):
    """A KEK whose key material lives outside an HSM (development only)."""


def path_from_uri(uri: str) -> Path:
    """The path of a ``file:`` URI: ``file:relative``, ``file:/abs`` or ``file:///abs`` (RFC 8089)."""
    rest = uri[len("file:") :]
    if rest.startswith("//"):
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise KekError(f"file KEK URI {uri!r} names a remote host")
        rest = parts.path
    if not rest:
        raise KekError("file KEK URI has no path (use file:PATH)")
    return Path(unquote(rest))


def kek_fingerprint(key: bytes) -> str:
    """A non-secret id of a key: 16 hex digits of an HMAC keyed by the key itself."""
    return hmac.new(key, b"phistack kek id", sha256).hexdigest()[:16]


class UnsafeFileKek(Kek):
    """A KEK read from a key file; the key material is in this process's memory."""

    def __init__(self, key: bytes, *, source: str = "memory") -> None:
        if len(key) != KEY_SIZE:
            raise KekError(f"a file KEK must be exactly {KEY_SIZE} bytes, got {len(key)} ({source})")
        warnings.warn(
            f"file KEK {source} is for development only: use a pkcs11: KEK held in an HSM for real PHI",
            UnsafeKekWarning,
            stacklevel=3,
        )
        self._key = bytes(key)
        self._id = f"file:{kek_fingerprint(self._key)}"

    @classmethod
    def from_uri(cls, uri: str) -> UnsafeFileKek:
        """Open ``file:PATH``."""
        path = path_from_uri(uri)
        try:
            info = path.stat()
            key = path.read_bytes()
        except OSError as err:
            raise KekError(f"cannot read KEK file: {err.strerror or err} ({path})") from err
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            warnings.warn(
                f"KEK file {path} is readable by other users (chmod 600 it)", UnsafeKekWarning, stacklevel=3
            )
        return cls(key, source=str(path))

    @property
    def kek_id(self) -> str:
        return self._id

    def wrap(self, dek: bytes) -> bytes:
        return aes_key_wrap(self._key, dek)

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            return aes_key_unwrap(self._key, wrapped)
        except (InvalidUnwrap, ValueError) as err:
            raise WrongKekError(
                f"cannot unwrap the data key with KEK {self._id}: wrong KEK or modified header"
            ) from err


def generate_file_kek(path: str | os.PathLike[str], *, overwrite: bool = False) -> str:
    """Write a new random 32-byte KEK to ``path`` (mode 0600) and return its KEK id.

    Refuses to replace an existing file or link unless ``overwrite`` (which replaces a link itself, not its
    target): losing a KEK loses every object it wraps.
    """
    target = Path(path)
    if os.path.lexists(target) and not overwrite:  # a link, dangling or not, counts: it is not ours to replace
        raise KekError(f"refusing to overwrite an existing key file ({target})")
    key = os.urandom(KEY_SIZE)
    write_atomic(target, key, mode=0o600, replace_link=overwrite)
    return f"file:{kek_fingerprint(key)}"
