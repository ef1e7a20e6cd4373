"""Envelope encryption of PHI objects: the public API over headers, segments and KEKs.

Each object gets a fresh random 256-bit data key (DEK), wrapped by a key-encryption key (KEK) and
stored wrapped in the object's header. The DEK exists only in this process's memory. Object id,
tenant and key id are bound into every segment, so an object presented under another identity is
refused. Files are read and written in bounded memory (a few segment buffers), and outputs are
written atomically: a failed decryption leaves no output file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import io
import os
import shutil
import stat
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from runtime.crypto import derive, header, segments
from runtime.crypto.errors import (
    HeaderTamperedError,
    ObjectIdMismatchError,
    TenantMismatchError,
    WrongKekError,
)
from runtime.crypto.kek import Kek
from runtime.errors import InputError, PhistackError
from runtime.fileio import atomic_writer

DEFAULT_TENANT = "default"
DEK_SIZE = 32
MAX_NAME = 1024


@dataclass(frozen=True)
class EncryptResult:
    """What an encryption wrote."""

    segments: int
    plaintext_bytes: int
    ciphertext_bytes: int
    kek_id: str
    key_id: str


@dataclass(frozen=True)
class ObjectInfo:
    """The public facts in an object's header (readable without any key)."""

    version: int
    segment_size: int
    kek_id: str
    key_id: str
    header_bytes: int


def _check_name(kind: str, value: str) -> None:
    if not value:
        raise InputError(f"{kind} must not be empty")
    if len(value.encode("utf-8")) > MAX_NAME:
        raise InputError(f"{kind} is longer than {MAX_NAME} bytes")


@contextlib.contextmanager
def _about(path: str | os.PathLike[str]) -> Iterator[None]:
    """Name ``path`` in any PhistackError raised inside, and map I/O errors to InputError."""
    try:
        yield
    except PhistackError as err:
        named = getattr(err, "_phistack_named", False) or os.fspath(path) in str(err)
        if err.args and not named:
            err.args = (f"{err.args[0]} ({os.fspath(path)})", *err.args[1:])
            err._phistack_named = True  # type: ignore[attr-defined]
        raise
    except IsADirectoryError as err:
        raise InputError(f"is a directory ({err.filename or os.fspath(path)})") from err
    except OSError as err:
        raise InputError(f"{err.strerror or err} ({err.filename or os.fspath(path)})") from err


def _open_input(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` unbuffered: segments are read straight into their buffers, with no extra copy."""
    try:
        handle = open(path, "rb", buffering=0)  # noqa: SIM115 (the caller closes it)
    except OSError as err:
        raise InputError(f"cannot read input: {err.strerror or err} ({os.fspath(path)})") from err
    with contextlib.suppress(OSError, AttributeError):
        os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
    return cast(BinaryIO, handle)


def _new_header(
    dek: bytes, *, object_id: str, tenant: str, kek: Kek, segment_size: int
) -> tuple[header.Header, bytes]:
    if not header.MIN_SEGMENT_SIZE <= segment_size <= header.MAX_SEGMENT_SIZE:
        raise InputError(
            f"segment size must be between {header.MIN_SEGMENT_SIZE} and {header.MAX_SEGMENT_SIZE} bytes"
        )
    draft = header.Header(
        segment_size=segment_size,
        key_id=os.urandom(header.KEY_ID_SIZE),
        salt=os.urandom(header.SALT_SIZE),
        nonce_prefix=os.urandom(header.NONCE_PREFIX_SIZE),
        object_check=b"",
        tenant_check=b"",
        kek_id=kek.kek_id,
        wrapped_dek=kek.wrap(dek),
    )
    keys = derive.derive_keys(dek, draft)
    bound = dataclasses.replace(
        draft,
        object_check=derive.binding_check(keys, b"object", object_id),
        tenant_check=derive.binding_check(keys, b"tenant", tenant),
    )
    return bound.with_tag(derive.header_tag(keys, bound)), keys.segment


def _unlock(hdr: header.Header, *, object_id: str, tenant: str, kek: Kek) -> tuple[derive.ObjectKeys, bytes]:
    """Unwrap the DEK and check the header and identity; returns the object's keys and its DEK."""
    try:
        dek = kek.unwrap(hdr.wrapped_dek)
    except WrongKekError as err:
        if hdr.kek_id != kek.kek_id:
            raise WrongKekError(
                f"wrong KEK: the data key is wrapped by KEK {hdr.kek_id}, not by {kek.kek_id}"
            ) from err
        raise
    if len(dek) != DEK_SIZE:
        raise HeaderTamperedError(f"header failed authentication: the wrapped data key is {len(dek)} bytes")
    keys = derive.derive_keys(dek, hdr)
    if not hmac.compare_digest(derive.header_tag(keys, hdr), hdr.tag):
        raise HeaderTamperedError("header failed authentication: a header field was modified")
    if not hmac.compare_digest(derive.binding_check(keys, b"object", object_id), hdr.object_check):
        raise ObjectIdMismatchError(f"object id mismatch: the object was not encrypted as {object_id!r}")
    if not hmac.compare_digest(derive.binding_check(keys, b"tenant", tenant), hdr.tenant_check):
        raise TenantMismatchError(f"tenant mismatch: the object was not encrypted for tenant {tenant!r}")
    return keys, dek


def _remaining(src: BinaryIO) -> int | None:
    """Bytes left in ``src`` when it is a regular file or in memory; None for a pipe or the like."""
    try:
        info = os.fstat(src.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None
        return info.st_size - src.tell()
    except (OSError, io.UnsupportedOperation):
        if isinstance(src, io.BytesIO):
            return len(src.getbuffer()) - src.tell()
        return None


def encrypt_stream(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    object_id: str,
    kek: Kek,
    tenant: str = DEFAULT_TENANT,
    segment_size: int = header.DEFAULT_SEGMENT_SIZE,
) -> EncryptResult:
    """Encrypt everything readable from ``src`` into ``dst`` under a fresh DEK wrapped by ``kek``."""
    _check_name("object id", object_id)
    _check_name("tenant", tenant)
    dek = os.urandom(DEK_SIZE)
    hdr, segment_key = _new_header(
        dek, object_id=object_id, tenant=tenant, kek=kek, segment_size=segment_size
    )
    head = hdr.to_bytes()
    dst.write(head)
    stats = segments.seal_stream(
        src,
        dst,
        key=segment_key,
        nonce_prefix=hdr.nonce_prefix,
        segment_size=segment_size,
        ad=derive.associated_data(object_id, tenant, hdr.key_id),
    )
    return EncryptResult(
        segments=stats.segments,
        plaintext_bytes=stats.plaintext_bytes,
        ciphertext_bytes=len(head) + stats.ciphertext_bytes,
        kek_id=hdr.kek_id,
        key_id=hdr.key_id.hex(),
    )


def decrypt_segments(
    src: BinaryIO, *, object_id: str, kek: Kek, tenant: str = DEFAULT_TENANT
) -> Generator[memoryview, None, None]:
    """Yield the plaintext of ``src`` segment by segment, each only after it verified.

    A view is valid until the next iteration. Integrity failures raise an
    :class:`~runtime.crypto.errors.IntegrityError` subclass; a truncated stream is only known when
    its end is reached, so consumers must not act on the data before the iteration completes.
    """
    _check_name("object id", object_id)
    _check_name("tenant", tenant)
    hdr = header.read_header(src)
    keys, _ = _unlock(hdr, object_id=object_id, tenant=tenant, kek=kek)
    yield from segments.open_stream(
        src,
        key=keys.segment,
        nonce_prefix=hdr.nonce_prefix,
        segment_size=hdr.segment_size,
        ad=derive.associated_data(object_id, tenant, hdr.key_id),
        remaining=_remaining(src),
    )


def encrypt_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    object_id: str,
    kek: Kek,
    tenant: str = DEFAULT_TENANT,
    segment_size: int = header.DEFAULT_SEGMENT_SIZE,
) -> EncryptResult:
    """Encrypt file ``src`` to ``dst`` (written atomically), streaming in bounded memory."""
    with _open_input(src) as reader, _about(dst), atomic_writer(dst) as writer:
        return encrypt_stream(
            reader, writer, object_id=object_id, kek=kek, tenant=tenant, segment_size=segment_size
        )


def decrypt_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    object_id: str,
    kek: Kek,
    tenant: str = DEFAULT_TENANT,
) -> int:
    """Decrypt ``src`` to ``dst`` (mode 0600); returns the plaintext size.

    ``dst`` appears only once every segment verified; on any failure no output file is left.
    """
    total = 0
    with _open_input(src) as reader, _about(src), atomic_writer(dst, mode=0o600) as writer:
        for chunk in decrypt_segments(reader, object_id=object_id, kek=kek, tenant=tenant):
            writer.write(chunk)
            total += len(chunk)
    return total


def decrypt_to_memory(
    src: str | os.PathLike[str], *, object_id: str, kek: Kek, tenant: str = DEFAULT_TENANT
) -> bytes:
    """Decrypt file ``src`` into memory only (nothing touches the disk); returns the plaintext."""
    out = bytearray()
    with _open_input(src) as reader, _about(src):
        for chunk in decrypt_segments(reader, object_id=object_id, kek=kek, tenant=tenant):
            out += chunk
    return bytes(out)


def encrypt_bytes(
    data: bytes,
    *,
    object_id: str,
    kek: Kek,
    tenant: str = DEFAULT_TENANT,
    segment_size: int = header.DEFAULT_SEGMENT_SIZE,
) -> bytes:
    """Encrypt ``data`` held in memory; returns the encrypted object (same format as files)."""
    out = io.BytesIO()
    encrypt_stream(
        io.BytesIO(data), out, object_id=object_id, kek=kek, tenant=tenant, segment_size=segment_size
    )
    return out.getvalue()


def decrypt_bytes(blob: bytes, *, object_id: str, kek: Kek, tenant: str = DEFAULT_TENANT) -> bytes:
    """Decrypt an encrypted object held in memory; returns the plaintext."""
    out = bytearray()
    for chunk in decrypt_segments(io.BytesIO(blob), object_id=object_id, kek=kek, tenant=tenant):
        out += chunk
    return bytes(out)


class DecryptingReader(io.RawIOBase):
    """A read-only binary stream of an object's verified plaintext, in bounded memory.

    Reads return data only from segments whose tag verified; an integrity failure raises from the
    read that reaches it (truncation: from the read that reaches the end).
    """

    def __init__(self, path: str | os.PathLike[str], *, object_id: str, kek: Kek, tenant: str) -> None:
        super().__init__()
        self._path = path
        self._file = _open_input(path)
        self._segments = decrypt_segments(self._file, object_id=object_id, kek=kek, tenant=tenant)
        self._view = memoryview(b"")
        self._done = False
        try:
            with _about(path):
                self._advance()  # unlock now: a wrong key or identity fails at open, not at first read
        except BaseException:
            self.close()
            raise

    def _advance(self) -> None:
        try:
            self._view = next(self._segments)
        except StopIteration:
            self._view = memoryview(b"")
            self._done = True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        target = memoryview(buffer).cast("B")
        with _about(self._path):
            while not self._view and not self._done:
                self._advance()
        size = min(len(target), len(self._view))
        target[:size] = self._view[:size]
        self._view = self._view[size:]
        return size

    def close(self) -> None:
        if not self.closed:
            self._segments.close()
            self._file.close()
        super().close()


def open_decrypted(
    path: str | os.PathLike[str], *, object_id: str, kek: Kek, tenant: str = DEFAULT_TENANT
) -> io.BufferedReader:
    """Open an encrypted file as a buffered binary stream of its verified plaintext."""
    return io.BufferedReader(DecryptingReader(path, object_id=object_id, kek=kek, tenant=tenant), 1 << 16)


def describe(path: str | os.PathLike[str]) -> ObjectInfo:
    """Read the public header facts of an encrypted file (no key needed, nothing verified)."""
    with _open_input(path) as reader, _about(path):
        hdr = header.read_header(reader)
    return ObjectInfo(
        version=hdr.version,
        segment_size=hdr.segment_size,
        kek_id=hdr.kek_id,
        key_id=hdr.key_id.hex(),
        header_bytes=len(hdr),
    )


def rewrap_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str] | None = None,
    *,
    object_id: str,
    kek: Kek,
    new_kek: Kek,
    tenant: str = DEFAULT_TENANT,
) -> ObjectInfo:
    """Re-wrap the object's DEK under ``new_kek`` without re-encrypting its data (key rotation).

    Only the header changes; the segments are copied byte for byte. The old KEK must unwrap the DEK
    and the header, object id and tenant must verify first. ``dst`` defaults to replacing ``src``
    atomically. Returns the new header's facts.
    """
    _check_name("object id", object_id)
    _check_name("tenant", tenant)
    target = Path(dst if dst is not None else src)
    with _open_input(src) as reader, _about(src):
        old = header.read_header(reader)
        keys, dek = _unlock(old, object_id=object_id, tenant=tenant, kek=kek)
        updated = dataclasses.replace(old, kek_id=new_kek.kek_id, wrapped_dek=new_kek.wrap(dek))
        updated = updated.with_tag(derive.header_tag(keys, updated))
        if len(updated.kek_id.encode("utf-8")) > header.MAX_KEK_ID:
            raise InputError("new KEK id is too long")
        mode = os.fstat(reader.fileno()).st_mode & 0o777
        with atomic_writer(target, mode=mode) as writer:
            writer.write(updated.to_bytes())
            shutil.copyfileobj(reader, writer, 1 << 20)
    return ObjectInfo(
        version=updated.version,
        segment_size=updated.segment_size,
        kek_id=updated.kek_id,
        key_id=updated.key_id.hex(),
        header_bytes=len(updated),
    )
