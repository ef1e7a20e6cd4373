"""One Ed25519 module for every signature: key files, key ids, errors; old audit key ids still verify."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from phistack import signing
from runtime import ed25519
from runtime.audit import AuditLog, Checkpoint
from runtime.audit.trust import pinned_keys
from runtime.audit.verify import verify_log
from runtime.errors import InputError


def test_key_id_is_sha256_of_the_raw_public_key() -> None:
    public = Ed25519PrivateKey.generate().public_key()
    assert ed25519.key_id(public) == "sha256:" + hashlib.sha256(ed25519.raw_public(public)).hexdigest()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", ed25519.key_id(public))


def test_a_checkpoint_and_a_decision_record_signed_by_one_key_name_it_alike() -> None:
    key = Ed25519PrivateKey.generate()
    checkpoint = Checkpoint.sign(key, "log", 1, "00" * 32, "2026-11-27T12:00:00Z")
    record_signature = signing.sign(key, {"decision": "allowed"})
    assert checkpoint.key_id == record_signature["key_id"] == ed25519.key_id(key.public_key())


def test_write_keypair_writes_prefix_key_0600_and_prefix_pub(tmp_path: Path) -> None:
    private, public = ed25519.write_keypair(tmp_path / "k")
    assert (private.name, public.name) == ("k.key", "k.pub")
    assert private.stat().st_mode & 0o777 == 0o600
    assert ed25519.load_public_key(public) == ed25519.load_private_key(private).public_key()
    with pytest.raises(InputError, match="not a PEM public key but a private key"):
        ed25519.load_public_key(private)  # a verifier must not need the private key


def test_a_pair_whose_public_half_cannot_be_written_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "k.pub").mkdir()  # the public key cannot be written here
    with pytest.raises(InputError, match=r"k\.pub: cannot write output"):
        ed25519.write_keypair(tmp_path / "k", replace_link=True)
    assert not (tmp_path / "k.key").exists()


@pytest.mark.parametrize(
    ("content", "loader", "reason"),
    [
        (None, "private", "cannot read Ed25519 private key: No such file or directory"),
        (b"junk", "private", "cannot read Ed25519 private key: not an unencrypted PEM private key"),
        (b"junk", "public", "cannot read Ed25519 public key: not a PEM public key"),
    ],
)
def test_an_unusable_key_file_is_one_line_naming_it(
    tmp_path: Path, content: bytes | None, loader: str, reason: str
) -> None:
    path = tmp_path / "k.pem"
    if content is not None:
        path.write_bytes(content)
    load = ed25519.load_private_key if loader == "private" else ed25519.load_public_key
    with pytest.raises(InputError) as raised:
        load(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: {reason}") and "\n" not in message


def test_a_key_of_another_algorithm_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = tmp_path / "ec.key"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(InputError, match="cannot read Ed25519 private key: a PEM private key of another algorithm"):
        ed25519.load_private_key(path)


def _legacy_id(public: Ed25519PublicKey) -> str:
    """The key id checkpoints carried before ``sha256:<hex>``: 16 hex digits."""
    return hashlib.sha256(ed25519.raw_public(public)).hexdigest()[:16]


def test_a_legacy_key_id_names_the_trusted_key_it_abbreviates() -> None:
    key, other = Ed25519PrivateKey.generate().public_key(), Ed25519PrivateKey.generate().public_key()
    trust = pinned_keys([key, other])
    assert trust.signer(_legacy_id(key), 1) is key and trust.signer(ed25519.key_id(key), 1) is key
    assert trust.signer("0" * 16, 1) is None


def test_a_log_written_with_legacy_key_ids_still_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Ed25519PrivateKey.generate()
    with monkeypatch.context() as old_writer:  # the writer as it was: checkpoints name their key by 16 hex digits
        old_writer.setattr("runtime.audit.checkpoint.key_id", _legacy_id)
        old_writer.setattr("runtime.audit.log.key_id", _legacy_id)
        with AuditLog.open(tmp_path / "audit.log", signing_key=key, background=False) as log:
            log.append("svc:runtime", "data.access", "dataset:1", "success")
    assert _legacy_id(key.public_key()) in (tmp_path / "audit.log.checkpoints").read_text()
    for pinned in (key.public_key(), None):
        result = verify_log(tmp_path / "audit.log", public_key=pinned, allow_unpinned=pinned is None)
        assert result.checkpoints == 1 and result.authenticated == (pinned is not None)
