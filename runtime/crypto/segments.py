"""Streaming AEAD: the plaintext is cut into segments, each sealed with AES-256-GCM.

Modelled on Tink's AES-GCM-HKDF streaming AEAD. Segment ``i`` is sealed under the nonce
``nonce_prefix (7 bytes) || i (4 bytes, big-endian) || final (1 byte: 1 for the last segment, else 0)``,
so a segment moved to another position, a stream cut at a segment boundary, or a final segment
followed by more segments no longer verifies. Every segment carries the object's associated data.

A segment record on disk is ``word (4 bytes) || ciphertext || tag (16 bytes)``; ``word`` holds the
plaintext length in its low 31 bits and the final flag in bit 31. Every segment but the final one
holds exactly ``segment_size`` bytes; the final one holds 0 to ``segment_size`` bytes. The word is
authenticated implicitly: a changed length moves the tag, a changed flag changes the nonce. Knowing
where the final segment ends lets the reader name truncation and appended bytes precisely.

Memory is bounded by a few segment buffers whatever the object's size. Decrypted bytes are handed
out only after their segment's tag verified (``AESGCM.decrypt_into`` writes unverified plaintext
into its buffer, so a failed segment's buffer is wiped and never exposed).

Segments are read into and written from private buffers (never from a mapping of the file: a
writer racing a decryption could then change bytes between the tag check and the decryption).
Each buffer carries a cache line of slack, and every read or write uses the part of it that sits
at the same offset within a cache line as the file position: the kernel copies file data with
``rep movsb``, which on some CPUs (the AMD EPYC of docs/BENCHMARKS.md) runs at half speed or worse
when the destination sits some bytes further into its cache line than the source (8 to 28 there).
"""

from __future__ import annotations

import ctypes
import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runtime.crypto.errors import (
    SegmentsReorderedError,
    SegmentTamperedError,
    TrailingDataError,
    TruncatedError,
)
from runtime.errors import InputError

GCM_TAG = 16
WORD = 4
FINAL_BIT = 0x8000_0000
MAX_SEGMENTS = 1 << 32
# How many other positions a failed segment is tried at to tell "moved" from "modified".
REORDER_PROBE_LIMIT = 4096
CACHE_LINE = 64

_WORD = struct.Struct(">I")
_NONCE_TAIL = struct.Struct(">IB")


def record_size(segment_size: int) -> int:
    """Bytes on disk of a full segment record."""
    return WORD + segment_size + GCM_TAG


def nonce(prefix: bytes, index: int, final: bool) -> bytes:
    """The 12-byte GCM nonce of segment ``index``."""
    return prefix + _NONCE_TAIL.pack(index, 1 if final else 0)


def wipe(buffer: bytearray | memoryview, length: int | None = None) -> None:
    """Overwrite the first ``length`` bytes (default: all) of ``buffer`` with zeros, in place."""
    size = len(buffer) if length is None else length
    if size:
        ctypes.memset((ctypes.c_char * size).from_buffer(buffer), 0, size)


class _Buffer:
    """A reusable segment buffer whose views line up with file positions (see the module docstring)."""

    def __init__(self, size: int) -> None:
        self.data = bytearray(size + CACHE_LINE)
        self._address = ctypes.addressof(ctypes.c_char.from_buffer(self.data))
        self._whole = memoryview(self.data)

    def at(self, position: int, length: int) -> memoryview:
        """``length`` bytes of the buffer at the same offset within a cache line as file offset ``position``."""
        start = (position - self._address) % CACHE_LINE
        return self._whole[start : start + length]

    def wipe(self) -> None:
        wipe(self.data)


def _position(stream: BinaryIO) -> int:
    """The stream's offset, or 0 where it has none (a pipe): only the alignment of copies depends on it."""
    try:
        return stream.tell()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return 0


def _fill(src: BinaryIO, view: memoryview) -> int:
    """Read until ``view`` is full or the stream ends; returns the bytes read."""
    total = 0
    size = len(view)
    while total < size:
        got = src.readinto(view[total:])  # type: ignore[attr-defined]
        if not got:
            break
        total += got
    return total


def _count_rest(src: BinaryIO, limit: int = 1 << 20) -> int:
    """Bytes left in ``src`` (read in bounded chunks; nothing is kept)."""
    if not src.read(1):  # the common case: nothing follows (and no 1 MiB read buffer is allocated)
        return 0
    total = 1
    while True:
        chunk = src.read(limit)
        if not chunk:
            return total
        total += len(chunk)


@dataclass
class SealStats:
    """What :func:`seal_stream` wrote."""

    segments: int = 0
    plaintext_bytes: int = 0
    ciphertext_bytes: int = 0


def seal_stream(
    src: BinaryIO, dst: BinaryIO, *, key: bytes, nonce_prefix: bytes, segment_size: int, ad: bytes
) -> SealStats:
    """Encrypt everything ``src`` yields into segment records written to ``dst``."""
    aead = AESGCM(key)
    current, ahead = _Buffer(segment_size), _Buffer(segment_size)
    record = _Buffer(record_size(segment_size))
    read_at, write_at = _position(src), _position(dst)
    stats = SealStats()
    try:
        plain = current.at(read_at, segment_size)
        filled = _fill(src, plain)
        read_at += filled
        index = 0
        while True:
            if filled < segment_size:
                final, next_plain, next_filled = True, plain, 0
            else:
                # A full buffer is final only if nothing follows it: read ahead to know.
                next_plain = ahead.at(read_at, segment_size)
                next_filled = _fill(src, next_plain)
                read_at += next_filled
                final = next_filled == 0
            if index >= MAX_SEGMENTS:
                raise InputError(f"object too large: more than {MAX_SEGMENTS} segments")
            end = WORD + filled + GCM_TAG
            out = record.at(write_at, end)
            _WORD.pack_into(out, 0, filled | (FINAL_BIT if final else 0))
            aead.encrypt_into(nonce(nonce_prefix, index, final), plain[:filled], ad, out[WORD:])
            dst.write(out)
            write_at += end
            stats.segments += 1
            stats.plaintext_bytes += filled
            stats.ciphertext_bytes += end
            if final:
                return stats
            current, ahead = ahead, current
            plain, filled = next_plain, next_filled
            index += 1
    finally:
        current.wipe()
        ahead.wipe()


class _Opener:
    """Verifies segment records one at a time; holds the reusable buffers."""

    def __init__(self, key: bytes, nonce_prefix: bytes, segment_size: int, ad: bytes) -> None:
        self.aead = AESGCM(key)
        self.prefix = nonce_prefix
        self.segment_size = segment_size
        self.ad = ad
        self.record = _Buffer(record_size(segment_size))
        self.plain = _Buffer(segment_size)

    def open(self, index: int, final: bool, sealed: memoryview, into: memoryview) -> bool:
        """Decrypt ``sealed`` as segment ``index`` into ``into`` (a view of ``self.plain``); False if the tag fails."""
        try:
            self.aead.decrypt_into(nonce(self.prefix, index, final), sealed, self.ad, into)
        except InvalidTag:
            # decrypt_into has written unverified plaintext: wipe it.
            wipe(into)
            return False
        return True

    def diagnose(self, index: int, final: bool, sealed: memoryview, into: memoryview, probe_until: int) -> Exception:
        """Say why segment ``index`` failed: moved from another position, or modified."""
        if self.open(index, not final, sealed, into):
            wipe(into)
            return SegmentTamperedError(
                f"segment {index} failed authentication: its final-segment marker was modified", segment=index
            )
        candidates = [j for j in range(min(probe_until, REORDER_PROBE_LIMIT + 1)) if j != index]
        for other in candidates:
            if self.open(other, final, sealed, into):
                wipe(into)
                return SegmentsReorderedError(
                    f"segment {index} failed authentication: it is segment {other} of this object "
                    "(segments reordered or duplicated)",
                    segment=index,
                    expected_at=other,
                )
        return SegmentTamperedError(
            f"segment {index} failed authentication: its bytes were modified", segment=index
        )

    def wipe(self) -> None:
        self.plain.wipe()


def open_stream(
    src: BinaryIO,
    *,
    key: bytes,
    nonce_prefix: bytes,
    segment_size: int,
    ad: bytes,
    remaining: int | None = None,
) -> Iterator[memoryview]:
    """Yield each segment's plaintext, in order, only after its tag verified.

    A yielded view is valid until the next iteration (the buffer is reused). The final segment is
    yielded only after the stream is also known to end there. ``remaining`` (the bytes after the
    header, when known) bounds the search that tells a moved segment from a modified one.
    Raises an :class:`~runtime.crypto.errors.IntegrityError` subclass naming the failing segment.
    """
    opener = _Opener(key, nonce_prefix, segment_size, ad)
    full = record_size(segment_size)
    read_at = _position(src)
    try:
        index = 0
        while True:
            record = opener.record.at(read_at, full)
            got = _fill(src, record)
            read_at += got
            if got == 0:
                if index == 0:
                    raise TruncatedError("truncated: no segment follows the header", segment=0)
                raise TruncatedError(
                    f"truncated: the object ends after segment {index - 1}; the final segment is missing",
                    segment=index,
                )
            if got < WORD:
                raise TruncatedError(f"truncated: the object ends inside segment {index}", segment=index)
            (word,) = _WORD.unpack_from(record)
            final = bool(word & FINAL_BIT)
            length = word & ~FINAL_BIT
            if length > segment_size or (not final and length != segment_size):
                raise SegmentTamperedError(
                    f"segment {index} failed authentication: malformed length {length} "
                    f"(segment size {segment_size})",
                    segment=index,
                )
            end = WORD + length + GCM_TAG
            if got < end:
                raise TruncatedError(
                    f"truncated: segment {index} is cut short ({got} of {end} bytes present)", segment=index
                )
            sealed = record[WORD:end]
            # The plaintext lines up with where a consumer writing from offset 0 puts it.
            plain = opener.plain.at(index * segment_size, length)
            if not opener.open(index, final, sealed, plain):
                # Positions to try: every segment the object can have had, plus a margin
                # (a truncated or spliced file holds fewer records than the original).
                estimate = -(-remaining // full) if remaining is not None else REORDER_PROBE_LIMIT
                probe_until = max(estimate, index + 1) + 64
                raise opener.diagnose(index, final, sealed, plain, probe_until)
            if final:
                extra = got - end + _count_rest(src)
                if extra:
                    opener.wipe()
                    raise TrailingDataError(
                        f"{extra} unexpected bytes after the final segment (segment {index}): "
                        "data was appended",
                        segment=index,
                    )
                yield plain
                return
            yield plain
            index += 1
            if index >= MAX_SEGMENTS:
                raise TruncatedError("malformed: more than 2**32 segments without a final one", segment=index)
    finally:
        opener.wipe()
