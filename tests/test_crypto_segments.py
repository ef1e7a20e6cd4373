"""The segment layer's byte format is fixed: known answers, and every input and output path agrees."""

from __future__ import annotations

import ctypes
import hashlib
import io
import itertools
import os
import stat
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest

from runtime import fileio
from runtime.crypto import (
    DEFAULT_SEGMENT_SIZE,
    SegmentTamperedError,
    TrailingDataError,
    TruncatedError,
    UnsafeFileKek,
    UnsafeKekWarning,
    decrypt_bytes,
    decrypt_file,
    decrypt_segments,
    describe,
    encrypt_bytes,
    encrypt_file,
    encrypt_stream,
)
from runtime.crypto.segments import CACHE_LINE, _Buffer, _Opener, record_size

SEG = 4096
OBJ = "study-0001"
TENANT = "st-mary"
DATA = bytes(i * 31 % 251 for i in range(3 * SEG + 100))

# sha256 of the object encrypt_bytes made of DATA[:size] with the deterministic randomness below,
# recorded from the format's first implementation: any change to the bytes on disk fails here.
KNOWN = {
    0: (216, "5afcef74e89d7b82e58016041c79fd4b954543159e26806ed98ae68852137d9b"),
    SEG: (4312, "57ab999d2434f9c49a32cc46d6e30b02b4af3c27460191e22f7450f8c09b6e8e"),
    3 * SEG + 100: (12664, "e0051a41ece449f4b8956204eadc0ef69c9d86ad564b7289c27f853066e9c841"),
}


@pytest.fixture
def kek() -> UnsafeFileKek:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeKekWarning)
        return UnsafeFileKek(bytes(range(32)))


@pytest.fixture
def fixed_random(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make os.urandom deterministic (the data key, key id, salt and nonce prefix of each object);
    calling the fixture's value starts the sequence again."""
    counter = itertools.count()

    def fake(size: int) -> bytes:
        step = next(counter) * 7
        return bytes((step + i) % 256 for i in range(size))

    def restart() -> None:
        nonlocal counter
        counter = itertools.count()

    monkeypatch.setattr(os, "urandom", fake)
    return restart


def _digest(blob: bytes) -> tuple[int, str]:
    return len(blob), hashlib.sha256(blob).hexdigest()


@pytest.mark.parametrize("size", sorted(KNOWN))
def test_known_answers_in_memory(size: int, kek: UnsafeFileKek, fixed_random: Callable[[], None]) -> None:
    blob = encrypt_bytes(DATA[:size], object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)
    assert _digest(blob) == KNOWN[size]
    assert decrypt_bytes(blob, object_id=OBJ, tenant=TENANT, kek=kek) == DATA[:size]


@pytest.mark.parametrize("size", sorted(KNOWN))
def test_known_answers_through_files(
    size: int, tmp_path: Path, kek: UnsafeFileKek, fixed_random: Callable[[], None]
) -> None:
    (tmp_path / "in").write_bytes(DATA[:size])
    encrypt_file(tmp_path / "in", tmp_path / "enc", object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)
    assert _digest((tmp_path / "enc").read_bytes()) == KNOWN[size]
    assert decrypt_file(tmp_path / "enc", tmp_path / "out", object_id=OBJ, tenant=TENANT, kek=kek) == size
    assert (tmp_path / "out").read_bytes() == DATA[:size]


def test_views_line_up_with_file_positions() -> None:
    buffer = _Buffer(SEG)
    for position in [0, 1, 20, 63, 64, 203, SEG + 20, 5 * (SEG + 20) + 203]:
        view = buffer.at(position, SEG)
        address = ctypes.addressof(ctypes.c_char.from_buffer(view))
        assert len(view) == SEG and address % CACHE_LINE == position % CACHE_LINE


def _pipe_of(data: bytes) -> tuple[BinaryIO, threading.Thread]:
    """A readable pipe that yields ``data`` (written by a thread, in small pieces)."""
    read_end, write_end = os.pipe()

    def feed() -> None:
        with open(write_end, "wb", buffering=0) as writer:
            for start in range(0, len(data), 1000):
                writer.write(data[start : start + 1000])

    thread = threading.Thread(target=feed)
    thread.start()
    return open(read_end, "rb", buffering=0), thread


@pytest.mark.parametrize("size", sorted(KNOWN))
def test_pipes_and_offset_streams_give_the_known_bytes(
    size: int, tmp_path: Path, kek: UnsafeFileKek, fixed_random: Callable[[], None]
) -> None:
    reader, feeder = _pipe_of(DATA[:size])
    sink = io.BytesIO()
    with reader:
        encrypt_stream(reader, sink, object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)
    feeder.join(5)
    blob = sink.getvalue()
    assert _digest(blob) == KNOWN[size]

    # A source and a destination that start at odd offsets: the records are the same bytes.
    (tmp_path / "in").write_bytes(b"x" * 37 + DATA[:size])
    fixed_random()
    with (tmp_path / "in").open("rb", buffering=0) as src, (tmp_path / "enc").open("wb") as dst:
        src.seek(37)
        dst.write(b"y" * 13)
        encrypt_stream(src, dst, object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)
    written = (tmp_path / "enc").read_bytes()
    assert written == b"y" * 13 + blob

    reader, feeder = _pipe_of(blob)
    with reader:
        plain = b"".join(bytes(chunk) for chunk in decrypt_segments(reader, object_id=OBJ, tenant=TENANT, kek=kek))
    feeder.join(5)
    assert plain == DATA[:size]
    with (tmp_path / "enc").open("rb", buffering=0) as src:
        src.seek(13)
        plain = b"".join(bytes(chunk) for chunk in decrypt_segments(src, object_id=OBJ, tenant=TENANT, kek=kek))
    assert plain == DATA[:size]


def test_an_exact_multiple_of_the_segment_size(tmp_path: Path, kek: UnsafeFileKek) -> None:
    data = os.urandom(2 * DEFAULT_SEGMENT_SIZE)
    (tmp_path / "in").write_bytes(data)
    result = encrypt_file(tmp_path / "in", tmp_path / "enc", object_id=OBJ, tenant=TENANT, kek=kek)
    header_bytes = describe(tmp_path / "enc").header_bytes
    assert result.segments == 2
    assert result.ciphertext_bytes == header_bytes + 2 * record_size(DEFAULT_SEGMENT_SIZE)
    assert (tmp_path / "enc").stat().st_size == result.ciphertext_bytes
    assert decrypt_file(tmp_path / "enc", tmp_path / "out", object_id=OBJ, tenant=TENANT, kek=kek) == len(data)
    assert (tmp_path / "out").read_bytes() == data


def test_an_empty_file(tmp_path: Path, kek: UnsafeFileKek) -> None:
    (tmp_path / "in").write_bytes(b"")
    result = encrypt_file(tmp_path / "in", tmp_path / "enc", object_id=OBJ, tenant=TENANT, kek=kek)
    assert (result.segments, result.plaintext_bytes) == (1, 0)
    assert decrypt_file(tmp_path / "enc", tmp_path / "out", object_id=OBJ, tenant=TENANT, kek=kek) == 0
    assert (tmp_path / "out").read_bytes() == b""
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o600


@pytest.fixture(params=["unnamed", "named"])
def writer_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways atomic_writer makes a file: an O_TMPFILE inode, or a named temporary file."""
    if request.param == "named":
        monkeypatch.setattr(fileio, "_supports_unnamed", lambda directory: False)
    return str(request.param)


def test_outputs_replace_an_existing_file_whole(tmp_path: Path, kek: UnsafeFileKek, writer_kind: str) -> None:
    data = os.urandom(3 * SEG + 5)
    (tmp_path / "in").write_bytes(data)
    for name in ("enc", "out"):
        (tmp_path / name).write_bytes(b"old " * 5000)
        (tmp_path / name).chmod(0o640)
    encrypt_file(tmp_path / "in", tmp_path / "enc", object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)
    assert decrypt_bytes((tmp_path / "enc").read_bytes(), object_id=OBJ, tenant=TENANT, kek=kek) == data
    assert decrypt_file(tmp_path / "enc", tmp_path / "out", object_id=OBJ, tenant=TENANT, kek=kek) == len(data)
    assert (tmp_path / "out").read_bytes() == data
    assert stat.S_IMODE((tmp_path / "enc").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc", "in", "out"]


def _tampered(blob: bytes) -> bytes:
    damaged = bytearray(blob)
    damaged[-SEG] ^= 0x01  # inside the last full segment's ciphertext
    return bytes(damaged)


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        (_tampered, SegmentTamperedError),
        (lambda blob: blob[:-1], TruncatedError),  # the final segment cut short
        (lambda blob: blob[: -(SEG + 20 + 120)], TruncatedError),  # cut inside an earlier segment
        (lambda blob: blob + b"\x00", TrailingDataError),
    ],
    ids=["tampered", "truncated-final", "truncated-inner", "appended"],
)
def test_a_failed_decryption_leaves_no_output_and_the_old_file_alone(
    tmp_path: Path, kek: UnsafeFileKek, writer_kind: str, damage: Callable[[bytes], bytes], error: type[Exception]
) -> None:
    blob = encrypt_bytes(os.urandom(4 * SEG + 100), object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)
    (tmp_path / "enc").write_bytes(damage(blob))
    with pytest.raises(error):
        decrypt_file(tmp_path / "enc", tmp_path / "new", object_id=OBJ, tenant=TENANT, kek=kek)
    (tmp_path / "old").write_bytes(b"previous plaintext")
    with pytest.raises(error):
        decrypt_file(tmp_path / "enc", tmp_path / "old", object_id=OBJ, tenant=TENANT, kek=kek)
    assert (tmp_path / "old").read_bytes() == b"previous plaintext"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc", "old"]


def test_a_failed_tag_wipes_the_unverified_plaintext() -> None:
    opener = _Opener(os.urandom(32), os.urandom(7), SEG, b"ad")
    sealed = memoryview(os.urandom(SEG + 16))
    into = opener.plain.at(0, SEG)
    assert not opener.open(0, False, sealed, into)
    assert bytes(into) == bytes(SEG)
