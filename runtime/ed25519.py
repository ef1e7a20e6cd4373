"""Ed25519 keys, for everything that signs: audit checkpoints, decision records, waiver approvals,
de-identification manifests; and signatures over JSON payloads (:func:`sign`, :func:`check_signature`).

One file format and one name for every key. A private key is unencrypted PKCS#8 PEM (mode 0600), a
public key SubjectPublicKeyInfo PEM; :func:`write_keypair` writes both as ``PREFIX.key`` and
``PREFIX.pub``. A key's id is ``sha256:`` followed by the hex SHA-256 of its 32 raw public bytes.

Errors a user can cause raise :class:`~runtime.errors.InputError` (exit 2) as one line:
``<path>: cannot read Ed25519 private key: <reason>`` (or ``public key``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from runtime.errors import InputError, VerificationError
from runtime.fileio import write_atomic

KEY_ID_PREFIX = "sha256:"
RAW_SIZE = 32


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The key's stable name: ``sha256:<hex of the SHA-256 of the raw public key>``."""
    return KEY_ID_PREFIX + hashlib.sha256(raw_public(key)).hexdigest()


def public_from_raw(data: bytes) -> Ed25519PublicKey:
    """Rebuild a public key from its 32 raw bytes."""
    try:
        return Ed25519PublicKey.from_public_bytes(data)
    except ValueError as err:
        raise InputError(f"not an Ed25519 public key: {err}") from err


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A public key written in a data file: PEM (SubjectPublicKeyInfo) or the raw 32 bytes in base64.

    Raises ValueError with the reason; the caller names the file and key path."""
    if "-----BEGIN" in text:
        key = serialization.load_pem_public_key(text.encode("ascii", "replace"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except ValueError as err:
        raise ValueError(f"neither PEM nor base64: {err}") from None
    if len(raw) != RAW_SIZE:
        raise ValueError(f"a raw Ed25519 public key is {RAW_SIZE} bytes, this is {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def _unreadable(path: str | os.PathLike[str], what: str, reason: str) -> InputError:
    return InputError(f"{os.fspath(path)}: cannot read Ed25519 {what}: {reason}")


def _read(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise _unreadable(path, what, str(err.strerror or err)) from err


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Load an unencrypted PKCS#8 PEM Ed25519 private key."""
    data = _read(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise _unreadable(path, "private key", f"not an unencrypted PEM private key ({err})") from err
    if not isinstance(key, Ed25519PrivateKey):
        raise _unreadable(path, "private key", "a PEM private key of another algorithm, not Ed25519")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """Load a PEM Ed25519 public key. A private key file is refused: whoever verifies must not need it."""
    data = _read(path, "public key")
    if b"PRIVATE KEY" in data:
        raise _unreadable(path, "public key", "not a PEM public key but a private key: give its PREFIX.pub")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise _unreadable(path, "public key", f"not a PEM public key ({err})") from err
    if not isinstance(key, Ed25519PublicKey):
        raise _unreadable(path, "public key", "a PEM public key of another algorithm, not Ed25519")
    return key


def keypair_paths(prefix: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``PREFIX.key`` and ``PREFIX.pub``: where :func:`write_keypair` writes."""
    base = os.fspath(prefix)  # appended to as text: a prefix of "." or "dir/" has no file name to extend
    return Path(base + ".key"), Path(base + ".pub")


def write_keypair(prefix: str | os.PathLike[str], *, replace_link: bool = False) -> tuple[Path, Path]:
    """Generate a key pair; write ``PREFIX.key`` (PKCS#8 PEM, mode 0600) and ``PREFIX.pub``; return both paths.

    Each file is written atomically, and a private key whose public half cannot be written is removed
    again, so no half pair is left behind. ``replace_link`` replaces a symbolic link at either path by
    the file (``--force``); without it a link is refused. Whether an existing file may be replaced is
    the caller's decision (:func:`runtime.fileio.refuse_existing`).
    """
    private, public = keypair_paths(prefix)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    write_atomic(private, private_pem, mode=0o600, replace_link=replace_link)
    try:
        write_atomic(public, public_pem, mode=0o644, replace_link=replace_link)
    except BaseException:
        private.unlink(missing_ok=True)
        raise
    return private, public


def canonical(payload: dict[str, Any]) -> bytes:
    """The bytes a payload signature covers: JSON with sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(key: Ed25519PrivateKey, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"alg": "Ed25519", "key_id", "value"}`` over the canonical JSON of ``payload``."""
    return {
        "alg": "Ed25519",
        "key_id": key_id(key.public_key()),
        "value": base64.b64encode(key.sign(canonical(payload))).decode("ascii"),
    }


def check_signature(public_key: Ed25519PublicKey, value: str, payload: dict[str, Any]) -> None:
    """Raise VerificationError unless ``value`` (base64) is ``public_key``'s signature over ``payload``."""
    try:
        public_key.verify(base64.b64decode(value, validate=True), canonical(payload))
    except (InvalidSignature, ValueError):
        raise VerificationError("signature does not match: the content was altered or forged") from None
