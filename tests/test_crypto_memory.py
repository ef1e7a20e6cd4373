"""Memory stays bounded by a few segments, whatever the object's size."""

from __future__ import annotations

import os
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.crypto import (
    DEFAULT_SEGMENT_SIZE,
    UnsafeFileKek,
    UnsafeKekWarning,
    decrypt_file,
    encrypt_file,
    open_decrypted,
    rewrap_file,
)

SIZE = 64 * DEFAULT_SEGMENT_SIZE  # 64 MiB: 64 segments
# Encryption holds three segment buffers, decryption two (measured: 3.0 and 2.0 MiB); allow headroom.
BOUND = 4 * DEFAULT_SEGMENT_SIZE


def _peak(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def kek() -> UnsafeFileKek:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeKekWarning)
        return UnsafeFileKek(os.urandom(32))


def test_encrypt_decrypt_and_rewrap_of_64_segments_stay_within_four_segments(
    tmp_path: Path, kek: UnsafeFileKek
) -> None:
    plain = tmp_path / "big.bin"
    with plain.open("wb") as handle:
        handle.truncate(SIZE)  # sparse: reads back as zeros
    enc, out = tmp_path / "big.enc", tmp_path / "big.out"

    peak = _peak(lambda: encrypt_file(plain, enc, object_id="big", kek=kek))
    assert peak < BOUND, f"encrypt peaked at {peak} bytes"

    peak = _peak(lambda: decrypt_file(enc, out, object_id="big", kek=kek))
    assert peak < BOUND, f"decrypt peaked at {peak} bytes"
    assert out.stat().st_size == SIZE

    def stream() -> int:
        total = 0
        with open_decrypted(enc, object_id="big", kek=kek) as reader:
            while chunk := reader.read(1 << 16):
                total += len(chunk)
        return total

    peak = _peak(stream)
    assert peak < BOUND, f"streaming read peaked at {peak} bytes"

    peak = _peak(lambda: rewrap_file(enc, object_id="big", kek=kek, new_kek=kek))
    assert peak < BOUND, f"rewrap peaked at {peak} bytes"
