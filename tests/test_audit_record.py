"""Record format, RFC 6962 Merkle hashing and checkpoint signatures."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.audit.checkpoint import Checkpoint, read_checkpoints, signed_message
from runtime.audit.merkle import EMPTY_ROOT, CompactTree, node_hash, root_from_leaves
from runtime.audit.record import (
    decode_record,
    encode_record,
    genesis_hash,
    leaf_hash,
    rfc3339,
    split_line,
)
from runtime.errors import InputError

# RFC 6962 test data used by the Certificate Transparency implementations (merkle_tree_test).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
CT_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


def test_merkle_roots_match_the_rfc6962_test_vectors() -> None:
    leaves = [hashlib.sha256(b"\x00" + data).digest() for data in CT_LEAVES]
    tree = CompactTree()
    for size, leaf in enumerate(leaves, start=1):
        tree.append(leaf)
        assert tree.root().hex() == CT_ROOTS[size]
        assert root_from_leaves(leaves[:size]).hex() == CT_ROOTS[size]
    assert CompactTree().root() == EMPTY_ROOT


def test_compact_tree_agrees_with_the_recursive_definition_for_every_size() -> None:
    leaves = [hashlib.sha256(bytes([i % 256, i // 256])).digest() for i in range(300)]
    tree = CompactTree()
    for size in range(1, len(leaves) + 1):
        tree.append(leaves[size - 1])
        assert tree.root() == root_from_leaves(leaves[:size]), size
    assert node_hash(leaves[0], leaves[1]) == hashlib.sha256(b"\x01" + leaves[0] + leaves[1]).digest()


def test_record_line_has_fixed_member_order_and_its_hash_is_the_leaf_hash() -> None:
    prev = genesis_hash("log-1")
    record = encode_record(7, 1_800_000_000.25, "user:jane", "data.access", "ds:1", "success", {"b": 2, "a": 1}, prev)
    obj = json.loads(record.line)
    assert list(obj) == [
        "seq", "time", "actor", "action", "object", "outcome", "details", "prev_hash", "hash",
    ]  # fmt: skip
    assert obj["time"] == "2027-01-15T08:00:00.250000Z"
    assert record.line.startswith(b'{"seq":7,"time":"2027-01-15T08:00:00.250000Z"')
    assert b'"details":{"a":1,"b":2}' in record.line  # sorted: the same details always hash the same
    body, prev_hex, hash_hex = split_line(record.line)
    assert body == record.line[: record.line.index(b',"hash":')] + b"}"
    assert prev_hex.decode() == prev
    assert hash_hex.decode() == record.hash == leaf_hash(body).hex()
    assert decode_record(record.line) == record


def test_non_ascii_text_stays_ascii_on_disk() -> None:
    record = encode_record(1, 0.0, "user:zoë", "data.access", "päd/1", "denied", {"note": "ünï"}, "0" * 64)
    assert record.line.isascii()
    assert json.loads(record.line)["actor"] == "user:zoë"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"actor": ""}, "actor must be a non-empty string"),
        ({"action": "Data Access"}, "action must match"),
        ({"action": "x" * 33}, "action must match"),
        ({"object": 5}, "object must be a non-empty string"),
        ({"outcome": "ok"}, "outcome must be one of"),
        ({"details": ["x"]}, "details must be a JSON object"),
        ({"details": {"x": object()}}, "not JSON-serialisable"),
        ({"details": {"x": float("nan")}}, "not JSON-serialisable"),
    ],
)
def test_malformed_events_are_refused(kwargs: dict[str, Any], fragment: str) -> None:
    fields: dict[str, Any] = {
        "actor": "a", "action": "data.access", "object": "o", "outcome": "success", "details": None,
    }  # fmt: skip
    fields.update(kwargs)
    with pytest.raises(InputError, match=fragment):
        encode_record(
            1, 0.0, fields["actor"], fields["action"], fields["object"], fields["outcome"], fields["details"], "0" * 64
        )


def test_rfc3339_rounds_microseconds_into_the_next_second() -> None:
    assert rfc3339(0.9999996) == "1970-01-01T00:00:01.000000Z"
    assert rfc3339(1.5) == "1970-01-01T00:00:01.500000Z"


def test_checkpoint_signature_covers_every_field(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    cp = Checkpoint.sign(key, "log-1", 10, "ab" * 32, "2027-01-15T08:00:00.000000Z")
    assert cp.verify_signature(key.public_key())
    assert signed_message("log-1", 10, "ab" * 32, "2027-01-15T08:00:00.000000Z").startswith(
        b"phistack.audit.checkpoint/v1\nlog-1\n10\n"
    )
    for change in ({"tree_size": 11}, {"root_hash": "cd" * 32}, {"log_id": "log-2"}, {"time": "2027"}):
        forged = Checkpoint(**{**cp.__dict__, **change})
        assert not forged.verify_signature(key.public_key()), change
    assert not cp.verify_signature(Ed25519PrivateKey.generate().public_key())
    assert not Checkpoint(**{**cp.__dict__, "signature": "not base64!"}).verify_signature(key.public_key())
    path = tmp_path / "cp"
    path.write_bytes(cp.to_line() + cp.to_line())
    assert read_checkpoints(path) == [cp, cp]
    path.write_text(json.dumps(json.loads(cp.to_line()), indent=2))  # one pretty-printed checkpoint
    assert read_checkpoints(path) == [cp]
    path.write_text("{not json\n")
    with pytest.raises(InputError, match="malformed checkpoint JSON"):
        read_checkpoints(path)
