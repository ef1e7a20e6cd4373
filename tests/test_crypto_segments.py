"""The segment layer's byte format is fixed: known answers, and every input and output path agrees."""

from __future__ import annotations

import hashlib
import itertools
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.crypto import UnsafeFileKek, UnsafeKekWarning, decrypt_bytes, decrypt_file, encrypt_bytes, encrypt_file

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
def fixed_random(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make os.urandom deterministic: the data key, key id, salt and nonce prefix of each object."""
    counter = itertools.count()

    def fake(size: int) -> bytes:
        step = next(counter) * 7
        return bytes((step + i) % 256 for i in range(size))

    monkeypatch.setattr(os, "urandom", fake)
    yield


def _digest(blob: bytes) -> tuple[int, str]:
    return len(blob), hashlib.sha256(blob).hexdigest()


@pytest.mark.parametrize("size", sorted(KNOWN))
def test_known_answers_in_memory(size: int, kek: UnsafeFileKek, fixed_random: None) -> None:
    blob = encrypt_bytes(DATA[:size], object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)
    assert _digest(blob) == KNOWN[size]
    assert decrypt_bytes(blob, object_id=OBJ, tenant=TENANT, kek=kek) == DATA[:size]


@pytest.mark.parametrize("size", sorted(KNOWN))
def test_known_answers_through_files(size: int, tmp_path: Path, kek: UnsafeFileKek, fixed_random: None) -> None:
    (tmp_path / "in").write_bytes(DATA[:size])
    encrypt_file(tmp_path / "in", tmp_path / "enc", object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)
    assert _digest((tmp_path / "enc").read_bytes()) == KNOWN[size]
    assert decrypt_file(tmp_path / "enc", tmp_path / "out", object_id=OBJ, tenant=TENANT, kek=kek) == size
    assert (tmp_path / "out").read_bytes() == DATA[:size]
