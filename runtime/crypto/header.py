"""The header of an encrypted object: layout, parsing and serialisation (docs/DATA.md, "File format").

All integers are big-endian. The header is followed by the segment records (see :mod:`.segments`).

==========  =======  ==================================================================
offset      length   field
==========  =======  ==================================================================
0           4        magic ``PHIE``
4           1        format version (1)
5           1        AEAD suite (1: AES-256-GCM segments, keys derived by HKDF-SHA256)
6           1        DEK wrap algorithm (1: AES key wrap, RFC 3394)
7           1        reserved, 0
8           4        segment size: plaintext bytes in every segment but the final one
12          16       key id: random, names the DEK; bound into every segment's associated data
28          32       HKDF salt
60          7        nonce prefix
67          16       object check: HMAC-SHA256(binding key, "object" || object id), first 16 bytes
83          16       tenant check: HMAC-SHA256(binding key, "tenant" || tenant), first 16 bytes
99          2        n: length of the KEK id
101         n        KEK id, UTF-8 (names the key-encryption key; never secret)
101+n       2        m: length of the wrapped DEK
103+n       m        wrapped DEK
103+n+m     32       header tag: HMAC-SHA256(header key, every preceding header byte)
==========  =======  ==================================================================
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import BinaryIO

from runtime.crypto.errors import IntegrityError, NotEncryptedError, UnsupportedFormatError

MAGIC = b"PHIE"
FORMAT_VERSION = 1
SUITE_AES256_GCM_HKDF_SHA256 = 1
WRAP_AES_KW = 1

KEY_ID_SIZE = 16
SALT_SIZE = 32
NONCE_PREFIX_SIZE = 7
CHECK_SIZE = 16
TAG_SIZE = 32
MAX_KEK_ID = 1024
MAX_WRAPPED_DEK = 1024

DEFAULT_SEGMENT_SIZE = 1 << 20
MIN_SEGMENT_SIZE = 1 << 12
MAX_SEGMENT_SIZE = 1 << 26

_FIXED = struct.Struct(f">4sBBBBI{KEY_ID_SIZE}s{SALT_SIZE}s{NONCE_PREFIX_SIZE}s{CHECK_SIZE}s{CHECK_SIZE}s")
_U16 = struct.Struct(">H")


@dataclass(frozen=True)
class Header:
    """The parsed header; ``to_bytes()`` of a parsed header gives back the exact input bytes."""

    segment_size: int
    key_id: bytes
    salt: bytes
    nonce_prefix: bytes
    object_check: bytes
    tenant_check: bytes
    kek_id: str
    wrapped_dek: bytes
    tag: bytes = b""
    version: int = FORMAT_VERSION
    suite: int = SUITE_AES256_GCM_HKDF_SHA256
    wrap_alg: int = WRAP_AES_KW

    def authenticated_bytes(self) -> bytes:
        """Every header byte the tag covers (all but the tag itself)."""
        kek_id = self.kek_id.encode("utf-8")
        return b"".join(
            (
                _FIXED.pack(
                    MAGIC,
                    self.version,
                    self.suite,
                    self.wrap_alg,
                    0,
                    self.segment_size,
                    self.key_id,
                    self.salt,
                    self.nonce_prefix,
                    self.object_check,
                    self.tenant_check,
                ),
                _U16.pack(len(kek_id)),
                kek_id,
                _U16.pack(len(self.wrapped_dek)),
                self.wrapped_dek,
            )
        )

    def to_bytes(self) -> bytes:
        """The header as written to the file (requires ``tag``)."""
        if len(self.tag) != TAG_SIZE:
            raise ValueError("header tag not set")
        return self.authenticated_bytes() + self.tag

    def with_tag(self, tag: bytes) -> Header:
        """A copy carrying ``tag``."""
        return replace(self, tag=tag)

    def __len__(self) -> int:
        return _FIXED.size + 2 + len(self.kek_id.encode("utf-8")) + 2 + len(self.wrapped_dek) + TAG_SIZE


def _read_exact(src: BinaryIO, size: int, what: str) -> bytes:
    data = src.read(size)
    if len(data) != size:
        raise IntegrityError(f"truncated header: the file ends inside the {what}")
    return data


def read_header(src: BinaryIO) -> Header:
    """Read and parse a header from ``src``, leaving it positioned at the first segment.

    Only the layout is checked here; the tag is checked once the DEK is unwrapped.
    """
    start = src.read(len(MAGIC))
    if start != MAGIC:
        raise NotEncryptedError("not a phistack encrypted object (bad magic bytes)")
    fixed = start + _read_exact(src, _FIXED.size - len(MAGIC), "fixed header fields")
    (_, version, suite, wrap_alg, reserved, segment_size, key_id, salt, prefix, obj_check, ten_check) = (
        _FIXED.unpack(fixed)
    )
    if version != FORMAT_VERSION:
        raise UnsupportedFormatError(
            f"unsupported format version {version} (this build reads {FORMAT_VERSION})"
        )
    if suite != SUITE_AES256_GCM_HKDF_SHA256:
        raise UnsupportedFormatError(f"unsupported AEAD suite {suite}")
    if wrap_alg != WRAP_AES_KW:
        raise UnsupportedFormatError(f"unsupported key wrap algorithm {wrap_alg}")
    if reserved != 0 or not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise IntegrityError("malformed header: reserved byte or segment size out of range")
    (kek_len,) = _U16.unpack(_read_exact(src, 2, "KEK id length"))
    if not 0 < kek_len <= MAX_KEK_ID:
        raise IntegrityError(f"malformed header: KEK id length {kek_len}")
    try:
        kek_id = _read_exact(src, kek_len, "KEK id").decode("utf-8")
    except UnicodeDecodeError as err:
        raise IntegrityError("malformed header: KEK id is not UTF-8") from err
    (wrapped_len,) = _U16.unpack(_read_exact(src, 2, "wrapped key length"))
    if not 0 < wrapped_len <= MAX_WRAPPED_DEK:
        raise IntegrityError(f"malformed header: wrapped key length {wrapped_len}")
    wrapped = _read_exact(src, wrapped_len, "wrapped key")
    tag = _read_exact(src, TAG_SIZE, "header tag")
    return Header(
        segment_size=segment_size,
        key_id=key_id,
        salt=salt,
        nonce_prefix=prefix,
        object_check=obj_check,
        tenant_check=ten_check,
        kek_id=kek_id,
        wrapped_dek=wrapped,
        tag=tag,
        version=version,
        suite=suite,
        wrap_alg=wrap_alg,
    )
