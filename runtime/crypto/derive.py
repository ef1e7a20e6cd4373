"""Per-object keys derived from the DEK, and what binds an object to its identity.

One HKDF-SHA256 expansion of the DEK (salt from the header, info naming the format and the key
id) gives three independent 32-byte keys: the segment key (AES-256-GCM), the header key (HMAC of
the header) and the binding key (HMAC checks of object id and tenant, so a mismatch is reported
precisely instead of as a failed segment).
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass
from hashlib import sha256

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from runtime.crypto.header import CHECK_SIZE, Header

_INFO = b"phistack.data/v1 keys"
_AD_LABEL = b"phistack.data/v1"


@dataclass(frozen=True, repr=False)
class ObjectKeys:
    """Keys of one object; never persisted, never printed."""

    segment: bytes
    header: bytes
    binding: bytes

    def __repr__(self) -> str:
        return "ObjectKeys(<redacted>)"


def derive_keys(dek: bytes, header: Header) -> ObjectKeys:
    """Derive the object's keys from its DEK and header salt."""
    okm = HKDF(algorithm=hashes.SHA256(), length=96, salt=header.salt, info=_INFO + header.key_id).derive(dek)
    return ObjectKeys(segment=okm[:32], header=okm[32:64], binding=okm[64:])


def header_tag(keys: ObjectKeys, header: Header) -> bytes:
    """HMAC-SHA256 over every header byte but the tag."""
    return hmac.new(keys.header, header.authenticated_bytes(), sha256).digest()


def binding_check(keys: ObjectKeys, label: bytes, value: str) -> bytes:
    """Keyed check of an identity field (``label`` is ``b"object"`` or ``b"tenant"``)."""
    return hmac.new(keys.binding, label + b"\x00" + value.encode("utf-8"), sha256).digest()[:CHECK_SIZE]


def _field(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack(">H", len(raw)) + raw


def associated_data(object_id: str, tenant: str, key_id: bytes) -> bytes:
    """The associated data of every segment: binds object id, tenant and key id (length-prefixed)."""
    return _AD_LABEL + _field(object_id) + _field(tenant) + key_id
