"""Ed25519 key files for checkpoint signing: PKCS#8 PEM private keys, SubjectPublicKeyInfo PEM public keys."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from runtime.errors import InputError
from runtime.fileio import write_atomic


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: hex SHA-256 of its raw bytes, first 16 characters."""
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def public_from_raw(data: bytes) -> Ed25519PublicKey:
    """Rebuild a public key from its 32 raw bytes."""
    try:
        return Ed25519PublicKey.from_public_bytes(data)
    except ValueError as err:
        raise InputError(f"not an Ed25519 public key: {err}") from err


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise InputError(f"cannot read key: {err.strerror or err} ({path})") from err


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Load an unencrypted PKCS#8 PEM Ed25519 private key."""
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise InputError(f"not a PEM private key: {err} ({path})") from err
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"not an Ed25519 private key ({path})")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """Load a PEM Ed25519 public key (a private key file is accepted and reduced to its public half)."""
    data = _read(path)
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise InputError(f"not a PEM public key: {err} ({path})") from err
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"not an Ed25519 public key ({path})")
    return key


def write_keypair(private_path: str | os.PathLike[str], public_path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Generate a keypair and write both files atomically; the private key is readable by its owner only."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    write_atomic(private_path, private_pem, mode=0o600)
    write_atomic(public_path, public_pem, mode=0o644)
    return key
