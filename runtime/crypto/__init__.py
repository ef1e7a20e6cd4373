"""Envelope encryption of PHI objects at rest: streaming AES-256-GCM segments, DEKs wrapped by KEKs.

The runtime calls::

    from runtime.crypto import open_kek, decrypt_to_memory, encrypt_file

    with open_kek("pkcs11:token=phistack;object=kek-2026?pin-source=file:/run/pin") as kek:
        study = decrypt_to_memory("study.enc", object_id="study-42", tenant="st-mary", kek=kek)

File format and commands: docs/DATA.md.
"""

from runtime.crypto.envelope import (
    DEFAULT_TENANT,
    DecryptingReader,
    EncryptResult,
    ObjectInfo,
    decrypt_bytes,
    decrypt_file,
    decrypt_segments,
    decrypt_to_memory,
    describe,
    encrypt_bytes,
    encrypt_file,
    encrypt_stream,
    open_decrypted,
    rewrap_file,
)
from runtime.crypto.errors import (
    HeaderTamperedError,
    IntegrityError,
    KekError,
    NotEncryptedError,
    ObjectIdMismatchError,
    SegmentError,
    SegmentsReorderedError,
    SegmentTamperedError,
    TenantMismatchError,
    TrailingDataError,
    TruncatedError,
    UnsupportedFormatError,
    WrongKekError,
)
from runtime.crypto.header import DEFAULT_SEGMENT_SIZE
from runtime.crypto.kek import Kek, open_kek
from runtime.crypto.kek_file import UnsafeFileKek, UnsafeKekWarning, generate_file_kek

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "DEFAULT_TENANT",
    "DecryptingReader",
    "EncryptResult",
    "HeaderTamperedError",
    "IntegrityError",
    "Kek",
    "KekError",
    "NotEncryptedError",
    "ObjectIdMismatchError",
    "ObjectInfo",
    "SegmentError",
    "SegmentTamperedError",
    "SegmentsReorderedError",
    "TenantMismatchError",
    "TrailingDataError",
    "TruncatedError",
    "UnsafeFileKek",
    "UnsafeKekWarning",
    "UnsupportedFormatError",
    "WrongKekError",
    "decrypt_bytes",
    "decrypt_file",
    "decrypt_segments",
    "decrypt_to_memory",
    "describe",
    "encrypt_bytes",
    "encrypt_file",
    "encrypt_stream",
    "generate_file_kek",
    "open_decrypted",
    "open_kek",
    "rewrap_file",
]
