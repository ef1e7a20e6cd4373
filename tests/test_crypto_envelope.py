"""Envelope encryption: round trips, every tamper case, identity binding, wrong keys and rotation."""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path

import pytest

from runtime.crypto import (
    HeaderTamperedError,
    IntegrityError,
    KekError,
    NotEncryptedError,
    ObjectIdMismatchError,
    SegmentsReorderedError,
    SegmentTamperedError,
    TenantMismatchError,
    TrailingDataError,
    TruncatedError,
    UnsafeFileKek,
    UnsafeKekWarning,
    UnsupportedFormatError,
    WrongKekError,
    decrypt_bytes,
    decrypt_file,
    decrypt_segments,
    decrypt_to_memory,
    describe,
    encrypt_bytes,
    encrypt_file,
    generate_file_kek,
    open_decrypted,
    open_kek,
    rewrap_file,
)
from runtime.crypto.header import read_header
from runtime.crypto.segments import FINAL_BIT, GCM_TAG, WORD
from runtime.errors import ExitCode, InputError

# File KEKs warn that they are for development; the tests that check the warning use pytest.warns.
pytestmark = pytest.mark.filterwarnings("ignore::runtime.crypto.UnsafeKekWarning")

SEG = 4096
OBJ = "study-0001"
TENANT = "st-mary"


def _kek() -> UnsafeFileKek:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeKekWarning)
        return UnsafeFileKek(os.urandom(32))


@pytest.fixture
def kek() -> UnsafeFileKek:
    return _kek()


@pytest.fixture
def plaintext() -> bytes:
    return os.urandom(5 * SEG + 123)  # six segments, the final one partial


@pytest.fixture
def sealed(plaintext: bytes, kek: UnsafeFileKek) -> bytes:
    return encrypt_bytes(plaintext, object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)


def _header_len(blob: bytes) -> int:
    stream = io.BytesIO(blob)
    read_header(stream)
    return stream.tell()


def _records(blob: bytes) -> list[tuple[int, int]]:
    """(offset, length) of every segment record."""
    pos = _header_len(blob)
    out = []
    while pos < len(blob):
        (word,) = struct.unpack_from(">I", blob, pos)
        size = WORD + (word & ~FINAL_BIT) + GCM_TAG
        out.append((pos, size))
        pos += size
    return out


def _open(blob: bytes, kek: UnsafeFileKek, *, object_id: str = OBJ, tenant: str = TENANT) -> bytes:
    return decrypt_bytes(blob, object_id=object_id, tenant=tenant, kek=kek)


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 3 * SEG + 7])
def test_round_trip_at_segment_boundaries(size: int, kek: UnsafeFileKek) -> None:
    data = os.urandom(size)
    blob = encrypt_bytes(data, object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)
    assert _open(blob, kek) == data
    expected_segments = size // SEG + 1 if size % SEG or size == 0 else size // SEG
    assert len(_records(blob)) == expected_segments


def test_each_object_gets_a_fresh_data_key(plaintext: bytes, kek: UnsafeFileKek) -> None:
    one = encrypt_bytes(plaintext, object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)
    two = encrypt_bytes(plaintext, object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)
    first, second = read_header(io.BytesIO(one)), read_header(io.BytesIO(two))
    assert first.wrapped_dek != second.wrapped_dek
    assert first.key_id != second.key_id and first.salt != second.salt
    assert one[_header_len(one) :] != two[_header_len(two) :]


def test_flipped_bit_names_the_segment(sealed: bytes, kek: UnsafeFileKek) -> None:
    offset, _ = _records(sealed)[2]
    tampered = bytearray(sealed)
    tampered[offset + WORD + 100] ^= 0x01
    with pytest.raises(
        SegmentTamperedError, match=r"^segment 2 failed authentication: its bytes were modified$"
    ) as err:
        _open(bytes(tampered), kek)
    assert err.value.segment == 2
    assert err.value.exit_code == ExitCode.DENIED


def test_flipped_bit_in_final_tag(sealed: bytes, kek: UnsafeFileKek) -> None:
    tampered = bytearray(sealed)
    tampered[-1] ^= 0x80
    with pytest.raises(SegmentTamperedError, match=r"^segment 5 failed authentication") as err:
        _open(bytes(tampered), kek)
    assert err.value.segment == 5


def test_modified_length_word(sealed: bytes, kek: UnsafeFileKek) -> None:
    offset, _ = _records(sealed)[1]
    tampered = bytearray(sealed)
    tampered[offset + 3] ^= 0x01
    with pytest.raises(SegmentTamperedError, match=r"segment 1 failed authentication: malformed length"):
        _open(bytes(tampered), kek)


def test_final_marker_set_on_an_inner_segment(sealed: bytes, kek: UnsafeFileKek) -> None:
    offset, _ = _records(sealed)[1]
    tampered = bytearray(sealed)
    tampered[offset] |= 0x80
    with pytest.raises(SegmentTamperedError, match=r"segment 1 .*final-segment marker was modified"):
        _open(bytes(tampered), kek)


def test_truncated_at_a_segment_boundary(sealed: bytes, kek: UnsafeFileKek) -> None:
    offset, _ = _records(sealed)[-1]
    with pytest.raises(TruncatedError, match=r"ends after segment 4; the final segment is missing") as err:
        _open(sealed[:offset], kek)
    assert err.value.segment == 5


def test_truncated_inside_a_segment(sealed: bytes, kek: UnsafeFileKek) -> None:
    offset, _ = _records(sealed)[3]
    with pytest.raises(TruncatedError, match=r"segment 3 is cut short \(1000 of 4116 bytes present\)"):
        _open(sealed[: offset + 1000], kek)


def test_truncated_to_the_header(sealed: bytes, kek: UnsafeFileKek) -> None:
    with pytest.raises(TruncatedError, match=r"no segment follows the header"):
        _open(sealed[: _header_len(sealed)], kek)


def test_truncated_inside_the_header(sealed: bytes, kek: UnsafeFileKek) -> None:
    with pytest.raises(IntegrityError, match=r"truncated header"):
        _open(sealed[:50], kek)


@pytest.mark.parametrize("extra", [b"\x00", os.urandom(SEG + 20)])
def test_appended_bytes(sealed: bytes, kek: UnsafeFileKek, extra: bytes) -> None:
    with pytest.raises(
        TrailingDataError, match=rf"^{len(extra)} unexpected bytes after the final segment \(segment 5\)"
    ):
        _open(sealed + extra, kek)


def test_final_segment_replayed_at_the_end(sealed: bytes, kek: UnsafeFileKek) -> None:
    offset, size = _records(sealed)[-1]
    with pytest.raises(TrailingDataError, match=rf"^{size} unexpected bytes"):
        _open(sealed + sealed[offset : offset + size], kek)


def test_swapped_segments(sealed: bytes, kek: UnsafeFileKek) -> None:
    records = _records(sealed)
    (a, size), (b, _) = records[1], records[2]
    swapped = sealed[:a] + sealed[b : b + size] + sealed[a : a + size] + sealed[b + size :]
    with pytest.raises(
        SegmentsReorderedError, match=r"segment 1 failed authentication: it is segment 2"
    ) as err:
        _open(swapped, kek)
    assert (err.value.segment, err.value.expected_at) == (1, 2)


def test_duplicated_segment(sealed: bytes, kek: UnsafeFileKek) -> None:
    (first, size), (second, _) = _records(sealed)[:2]
    duplicated = sealed[:second] + sealed[first : first + size] + sealed[second:]
    with pytest.raises(SegmentsReorderedError, match=r"segment 1 .* it is segment 0"):
        _open(duplicated, kek)


def test_final_segment_moved_forward(sealed: bytes, kek: UnsafeFileKek) -> None:
    records = _records(sealed)
    final_off, final_size = records[-1]
    moved = sealed[: records[2][0]] + sealed[final_off : final_off + final_size]
    with pytest.raises(SegmentsReorderedError, match=r"segment 2 .* it is segment 5"):
        _open(moved, kek)


def test_segment_from_another_object_with_the_same_id(
    plaintext: bytes, sealed: bytes, kek: UnsafeFileKek
) -> None:
    other = encrypt_bytes(plaintext, object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)
    offset, size = _records(sealed)[1]
    other_offset, _ = _records(other)[1]
    spliced = sealed[:offset] + other[other_offset : other_offset + size] + sealed[offset + size :]
    with pytest.raises(
        SegmentTamperedError, match=r"^segment 1 failed authentication: its bytes were modified"
    ):
        _open(spliced, kek)


def test_header_of_another_object(plaintext: bytes, sealed: bytes, kek: UnsafeFileKek) -> None:
    other = encrypt_bytes(plaintext, object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG)
    mixed = other[: _header_len(other)] + sealed[_header_len(sealed) :]
    with pytest.raises(SegmentTamperedError, match=r"^segment 0 failed authentication"):
        _open(mixed, kek)


def test_wrong_object_id(sealed: bytes, kek: UnsafeFileKek) -> None:
    with pytest.raises(
        ObjectIdMismatchError, match=r"object id mismatch: the object was not encrypted as 'study-0002'"
    ):
        _open(sealed, kek, object_id="study-0002")


def test_wrong_tenant(sealed: bytes, kek: UnsafeFileKek) -> None:
    with pytest.raises(TenantMismatchError, match=r"tenant mismatch: .* tenant 'st-luke'"):
        _open(sealed, kek, tenant="st-luke")


def test_wrong_kek_names_both_keys(sealed: bytes, kek: UnsafeFileKek) -> None:
    other = _kek()
    with pytest.raises(
        WrongKekError, match=rf"wrong KEK: the data key is wrapped by KEK {kek.kek_id}, not by {other.kek_id}"
    ):
        _open(sealed, other)


@pytest.mark.parametrize(
    ("field_offset", "error"),
    [
        (9, HeaderTamperedError),  # segment size
        (20, HeaderTamperedError),  # key id
        (40, HeaderTamperedError),  # salt
        (62, HeaderTamperedError),  # nonce prefix
        (70, HeaderTamperedError),  # object check
        (90, HeaderTamperedError),  # tenant check
        (102, HeaderTamperedError),  # KEK id
        (-1, HeaderTamperedError),  # header tag
    ],
)
def test_modified_header_field(
    sealed: bytes, kek: UnsafeFileKek, field_offset: int, error: type[Exception]
) -> None:
    tampered = bytearray(sealed)
    index = field_offset if field_offset >= 0 else _header_len(sealed) + field_offset
    tampered[index] ^= 0x01
    with pytest.raises(error, match=r"header|segment size"):
        _open(bytes(tampered), kek)


def test_modified_wrapped_key(sealed: bytes, kek: UnsafeFileKek) -> None:
    hdr = read_header(io.BytesIO(sealed))
    tampered = bytearray(sealed)
    tampered[_header_len(sealed) - 32 - 5] ^= 0x01  # inside the wrapped DEK
    with pytest.raises(WrongKekError, match=rf"cannot unwrap the data key with KEK {hdr.kek_id}"):
        _open(bytes(tampered), kek)


def test_not_an_encrypted_object(kek: UnsafeFileKek) -> None:
    with pytest.raises(NotEncryptedError, match=r"not a phistack encrypted object") as err:
        _open(b"\x00" * 200, kek)
    assert err.value.exit_code == ExitCode.USAGE


def test_unknown_format_version(sealed: bytes, kek: UnsafeFileKek) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"unsupported format version 2"):
        _open(sealed[:4] + b"\x02" + sealed[5:], kek)


def test_bad_arguments(kek: UnsafeFileKek) -> None:
    with pytest.raises(InputError, match=r"object id must not be empty"):
        encrypt_bytes(b"x", object_id="", kek=kek)
    with pytest.raises(InputError, match=r"segment size must be between"):
        encrypt_bytes(b"x", object_id=OBJ, kek=kek, segment_size=100)


def test_streaming_yields_only_verified_segments(sealed: bytes, plaintext: bytes, kek: UnsafeFileKek) -> None:
    offset, _ = _records(sealed)[3]
    tampered = bytearray(sealed)
    tampered[offset + WORD] ^= 0x01
    released = bytearray()
    with pytest.raises(SegmentTamperedError, match=r"segment 3"):
        for chunk in decrypt_segments(io.BytesIO(bytes(tampered)), object_id=OBJ, tenant=TENANT, kek=kek):
            released += chunk
    assert bytes(released) == plaintext[: 3 * SEG]


def test_files_round_trip_and_output_mode(tmp_path: Path, plaintext: bytes, kek: UnsafeFileKek) -> None:
    (tmp_path / "in").write_bytes(plaintext)
    result = encrypt_file(
        tmp_path / "in", tmp_path / "enc", object_id=OBJ, tenant=TENANT, kek=kek, segment_size=SEG
    )
    assert result.segments == 6 and result.plaintext_bytes == len(plaintext)
    assert result.ciphertext_bytes == (tmp_path / "enc").stat().st_size
    assert decrypt_file(tmp_path / "enc", tmp_path / "out", object_id=OBJ, tenant=TENANT, kek=kek) == len(
        plaintext
    )
    assert (tmp_path / "out").read_bytes() == plaintext
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o600
    assert decrypt_to_memory(tmp_path / "enc", object_id=OBJ, tenant=TENANT, kek=kek) == plaintext
    info = describe(tmp_path / "enc")
    assert (info.segment_size, info.kek_id, info.key_id) == (SEG, kek.kek_id, result.key_id)


def test_failed_decrypt_leaves_no_output(tmp_path: Path, sealed: bytes, kek: UnsafeFileKek) -> None:
    offset, _ = _records(sealed)[-1]
    (tmp_path / "enc").write_bytes(sealed[:-1])
    with pytest.raises(TruncatedError, match=r"segment 5 is cut short .*\(.*enc\)$"):
        decrypt_file(tmp_path / "enc", tmp_path / "out", object_id=OBJ, tenant=TENANT, kek=kek)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc"]
    assert offset  # the final segment was partly present


def test_missing_input_is_an_input_error(tmp_path: Path, kek: UnsafeFileKek) -> None:
    with pytest.raises(InputError, match=r"cannot read input: No such file"):
        decrypt_file(tmp_path / "absent", tmp_path / "out", object_id=OBJ, kek=kek)


def test_streaming_reader(tmp_path: Path, sealed: bytes, plaintext: bytes, kek: UnsafeFileKek) -> None:
    (tmp_path / "enc").write_bytes(sealed)
    with open_decrypted(tmp_path / "enc", object_id=OBJ, tenant=TENANT, kek=kek) as stream:
        parts = []
        while chunk := stream.read(1000):
            parts.append(chunk)
    assert b"".join(parts) == plaintext
    with pytest.raises(ObjectIdMismatchError):
        open_decrypted(tmp_path / "enc", object_id="other", tenant=TENANT, kek=kek)
    (tmp_path / "bad").write_bytes(sealed + b"junk")
    with (
        open_decrypted(tmp_path / "bad", object_id=OBJ, tenant=TENANT, kek=kek) as stream,
        pytest.raises(TrailingDataError, match=r"4 unexpected bytes .*bad\)$"),
    ):
        stream.read()


def test_rotation_rewraps_without_reencrypting(
    tmp_path: Path, sealed: bytes, plaintext: bytes, kek: UnsafeFileKek
) -> None:
    new = _kek()
    (tmp_path / "enc").write_bytes(sealed)
    info = rewrap_file(
        tmp_path / "enc", tmp_path / "rotated", object_id=OBJ, tenant=TENANT, kek=kek, new_kek=new
    )
    rotated = (tmp_path / "rotated").read_bytes()
    assert info.kek_id == new.kek_id
    assert rotated[_header_len(rotated) :] == sealed[_header_len(sealed) :]
    assert read_header(io.BytesIO(rotated)).key_id == read_header(io.BytesIO(sealed)).key_id
    assert _open(rotated, new) == plaintext
    with pytest.raises(WrongKekError, match=r"wrong KEK"):
        _open(rotated, kek)
    # In place, and back again.
    rewrap_file(tmp_path / "rotated", object_id=OBJ, tenant=TENANT, kek=new, new_kek=kek)
    assert _open((tmp_path / "rotated").read_bytes(), kek) == plaintext


def test_rotation_refuses_without_changing_the_file(
    tmp_path: Path, sealed: bytes, kek: UnsafeFileKek
) -> None:
    (tmp_path / "enc").write_bytes(sealed)
    with pytest.raises(WrongKekError):
        rewrap_file(tmp_path / "enc", object_id=OBJ, tenant=TENANT, kek=_kek(), new_kek=_kek())
    with pytest.raises(ObjectIdMismatchError):
        rewrap_file(tmp_path / "enc", object_id="other", tenant=TENANT, kek=kek, new_kek=_kek())
    with pytest.raises(TenantMismatchError):
        rewrap_file(tmp_path / "enc", object_id=OBJ, tenant="other", kek=kek, new_kek=_kek())
    assert (tmp_path / "enc").read_bytes() == sealed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc"]


def test_file_kek_uris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kek_id = generate_file_kek(tmp_path / "k.key")
    assert (tmp_path / "k.key").stat().st_mode & 0o777 == 0o600
    assert len((tmp_path / "k.key").read_bytes()) == 32
    monkeypatch.chdir(tmp_path)
    for uri in ("file:k.key", f"file:{tmp_path}/k.key", f"file://{tmp_path}/k.key"):
        with pytest.warns(UnsafeKekWarning, match=r"development only"), open_kek(uri) as opened:
            assert opened.kek_id == kek_id
    with pytest.raises(KekError, match=r"refusing to overwrite"):
        generate_file_kek(tmp_path / "k.key")
    (tmp_path / "short.key").write_bytes(b"x" * 16)
    with pytest.raises(KekError, match=r"exactly 32 bytes, got 16"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeKekWarning)
        open_kek("file:short.key")
    (tmp_path / "k.key").chmod(0o644)
    with pytest.warns(UnsafeKekWarning, match=r"readable by other users"):
        open_kek("file:k.key")
    with pytest.raises(KekError, match=r"cannot read KEK file"):
        open_kek("file:absent.key")
    with pytest.raises(KekError, match=r"unsupported KEK URI"):
        open_kek("vault:secret/kek")
