"""Every way of tampering with a log or its checkpoints is caught, with the precise reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.audit import AuditLog, Checkpoint, read_checkpoints
from runtime.audit.record import leaf_hash, split_line
from runtime.audit.verify import verify_log
from runtime.errors import InputError, VerificationError

KEY = Ed25519PrivateKey.generate()


def make_log(tmp_path: Path, records: int = 10, *, key: Ed25519PrivateKey | None = KEY) -> Path:
    path = tmp_path / "audit.log"
    with AuditLog.open(path, signing_key=key, background=False) as log:
        for i in range(records):
            log.append("svc:runtime", "data.access", f"dataset:{i}", "success", {"i": i})
    return path


def read_lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def rehash(line: bytes, prev_hash: str | None = None) -> bytes:
    """Recompute a (modified) record's own hash, as a forger would."""
    body, prev, _ = split_line(line.rstrip(b"\n"))
    if prev_hash is not None:
        body = body.replace(prev, prev_hash.encode())
    return body[:-1] + b',"hash":"' + leaf_hash(body).hex().encode() + b'"}\n'


def verify(path: Path, **kwargs: object) -> str:
    kwargs.setdefault("allow_unpinned", "public_key" not in kwargs)
    with pytest.raises(VerificationError) as info:
        verify_log(path, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


def test_intact_log_verifies_with_a_summary(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    result = verify_log(path, public_key=KEY.public_key())
    # 10 events, the genesis record and the record of the checkpoint close() wrote (in file and chain alike)
    assert (result.records, result.checkpoints, result.key_source, result.authenticated) == (12, 1, "pinned", True)
    assert result.last_hash == json.loads(read_lines(path)[-1])["hash"]
    assert "12 records intact" in result.summary()
    assert "authenticity: proven" in result.summary()


def test_modified_record_is_named_by_its_index(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    lines = read_lines(path)
    lines[4] = lines[4].replace(b'"dataset:3"', b'"dataset:X"')
    write_lines(path, lines)
    assert verify(path).startswith("record 4 (line 5) was modified: its content does not match its hash")


def test_modified_and_rehashed_record_breaks_the_next_link(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    lines = read_lines(path)
    lines[4] = rehash(lines[4].replace(b'"success"', b'"denied"'))
    write_lines(path, lines)
    message = verify(path)
    assert message.startswith("chain broken at record 5 (line 6)")
    assert "record 4 was modified and rehashed or replaced" in message


def test_deleted_record_is_named_by_its_missing_sequence_number(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    lines = read_lines(path)
    del lines[6]
    write_lines(path, lines)
    assert verify(path).startswith("record 6 is missing (deleted): line 7 holds record 7 right after record 5")


def test_several_deleted_records(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    lines = read_lines(path)
    del lines[3:6]
    write_lines(path, lines)
    assert verify(path).startswith("records 3..5 are missing (deleted)")


def test_deleted_genesis_record(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    write_lines(path, read_lines(path)[1:])
    assert verify(path).startswith("record 0 is missing (deleted): line 1 holds record 1 at the start of the log")


def test_reordered_records(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    lines = read_lines(path)
    lines[3], lines[4] = lines[4], lines[3]
    write_lines(path, lines)
    assert verify(path).startswith(
        "records reordered: line 4 holds record 4 where record 3 belongs (record 3 is at line 5)"
    )


def test_duplicated_record(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    lines = read_lines(path)
    lines.insert(5, lines[4])
    write_lines(path, lines)
    assert verify(path).startswith("record 4 appears again at line 6 where record 5 belongs")


def test_tail_truncation_is_caught_by_the_local_checkpoint_file(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    write_lines(path, read_lines(path)[:-3])
    message = verify(path, public_key=KEY.public_key())
    assert message.startswith("log truncated: checkpoint 1 (tree size 11, ") and message.endswith(
        "in audit.log.checkpoints) covers 11 records but the log holds 9: records 9..10 are missing from the end"
    )


def test_tail_truncation_is_caught_by_a_checkpoint_held_elsewhere(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    held = read_checkpoints(path.with_name("audit.log.checkpoints"))  # e.g. the copy at the SIEM
    write_lines(path, read_lines(path)[:-3])
    path.with_name("audit.log.checkpoints").unlink()
    assert verify_log(path, allow_unpinned=True).records == 9  # the chain alone cannot tell
    message = verify(path, checkpoints=held, public_key=KEY.public_key())
    assert message.startswith("log truncated: checkpoint 1 (tree size 11, ") and message.endswith(
        "held elsewhere) covers 11 records but the log holds 9: records 9..10 are missing from the end"
    )


def test_truncation_together_with_the_local_checkpoints_is_caught_by_the_held_copy(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    held = path.with_name("held.checkpoints")
    held.write_bytes(path.with_name("audit.log.checkpoints").read_bytes())
    write_lines(path, read_lines(path)[:-2])  # the last event and the checkpoint record after it
    path.with_name("audit.log.checkpoints").unlink()
    assert "record 10 is missing from the end" in verify(path, checkpoints=read_checkpoints(held))


def test_cut_mid_record(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    path.write_bytes(path.read_bytes()[:-40])
    assert verify(path).startswith("line 12 is an incomplete record (no newline)")


def test_forged_checkpoint_with_a_bad_signature(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    cp = read_checkpoints(path.with_name("audit.log.checkpoints"))[0]
    forged = Checkpoint(**{**cp.__dict__, "tree_size": 5})
    message = verify(path, checkpoints=[forged], public_key=KEY.public_key())
    assert message.endswith("signature does not verify under key " + cp.key_id + ": forged or altered checkpoint")


def test_checkpoint_signed_by_another_key(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    cp = read_checkpoints(path.with_name("audit.log.checkpoints"))[0]
    other = Ed25519PrivateKey.generate()
    forged = Checkpoint.sign(other, cp.log_id, cp.tree_size, cp.root_hash, cp.time)
    message = verify(path, checkpoints=[forged])  # the key recorded in the log
    assert "signature does not verify" in message and f"(it names key {forged.key_id})" in message
    assert "forged" in verify(path, checkpoints=[cp], public_key=other.public_key())  # wrong key pinned


def test_checkpoint_whose_root_does_not_match(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    cp = read_checkpoints(path.with_name("audit.log.checkpoints"))[0]
    forged = Checkpoint.sign(KEY, cp.log_id, cp.tree_size, "00" * 32, cp.time)
    message = verify(path, checkpoints=[forged], public_key=KEY.public_key())
    assert message.startswith("checkpoint 1 (tree size 11, ")
    assert "Merkle root does not match the log's first 11 records" in message


def test_rewritten_log_fails_against_an_earlier_checkpoint(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    held = read_checkpoints(path.with_name("audit.log.checkpoints"))
    lines = read_lines(path)
    # Rewrite the last event and fix up the hashes after it: the chain is consistent again, the checkpoint is not.
    lines[-2] = rehash(lines[-2].replace(b'"success"', b'"denied"'))
    lines[-1] = rehash(lines[-1], prev_hash=json.loads(lines[-2])["hash"])
    write_lines(path, lines)
    assert "Merkle root does not match" in verify(path, checkpoints=held, public_key=KEY.public_key())
    path.with_name("audit.log.checkpoints").unlink()  # the checkpoint the chain records still catches it
    message = verify(path, public_key=KEY.public_key())
    assert message.startswith("checkpoint file missing: the log records 1 checkpoint(s)")
    message = verify(path, checkpoints=held, public_key=KEY.public_key())
    assert message.startswith("checkpoint file missing")


def test_checkpoint_of_another_log(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = make_log(other_dir)
    foreign = read_checkpoints(other.with_name("audit.log.checkpoints"))
    assert "belongs to log" in verify(path, checkpoints=foreign, public_key=KEY.public_key())


def test_checkpoints_without_any_key_cannot_pass(tmp_path: Path) -> None:
    path = make_log(tmp_path, key=None)
    cp = Checkpoint.sign(KEY, json.loads(read_lines(path)[0])["details"]["log_id"], 11, "00" * 32, "t")
    assert "the log records no checkpoint key; pass --key" in verify(path, checkpoints=[cp])


def test_replaced_genesis_record(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    lines = read_lines(path)
    lines[0] = rehash(lines[0], prev_hash="11" * 32)
    write_lines(path, lines)
    assert "prev_hash is not the genesis hash" in verify(path)


def test_malformed_record_line(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    lines = read_lines(path)
    lines[2] = b'{"seq":2,"hello":"world"}\n'
    write_lines(path, lines)
    assert verify(path).startswith("record 2 (line 3) is malformed")


def test_unreadable_inputs_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read audit log"):
        verify_log(tmp_path / "missing.log", allow_unpinned=True)
    (tmp_path / "empty.log").write_bytes(b"")
    with pytest.raises(InputError, match="audit log is empty"):
        verify_log(tmp_path / "empty.log", allow_unpinned=True)
    with pytest.raises(InputError, match="cannot read checkpoints"):
        read_checkpoints(tmp_path / "missing.checkpoints")


def test_verify_reads_a_large_log_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import runtime.audit.chain as chain

    monkeypatch.setattr(chain, "CHUNK", 1000)  # records straddle chunk boundaries
    path = make_log(tmp_path, records=300)
    assert verify_log(path, public_key=KEY.public_key()).records == 302
    lines = read_lines(path)
    lines[250] = lines[250].replace(b'"dataset:249"', b'"dataset:248"')
    write_lines(path, lines)
    assert verify(path).startswith("record 250 (line 251) was modified")


def test_a_rotated_key_is_recorded_and_trusted_from_that_record_on(tmp_path: Path) -> None:
    path = make_log(tmp_path, records=3)
    new_key = Ed25519PrivateKey.generate()
    with AuditLog.open(path, signing_key=new_key, background=False) as log:
        log.append("svc:runtime", "data.access", "dataset:new", "success")
    announcement = json.loads(read_lines(path)[5])  # after the genesis, 3 events and a checkpoint record
    assert announcement["action"] == "audit.checkpoint.key" and announcement["actor"] == "phistack.audit"
    with AuditLog.open(path, signing_key=new_key, background=False) as log:
        log.append("svc:runtime", "data.access", "dataset:newer", "success")
    assert sum(b"audit.checkpoint.key" in line for line in read_lines(path)) == 1  # recorded once
    result = verify_log(path, allow_unpinned=True)  # both keys come from the log
    assert result.checkpoints == 3 and result.key_source == "log" and not result.authenticated
    assert verify_log(path, public_key=[KEY.public_key(), new_key.public_key()]).records == 10
    assert "it names key" in verify(path, public_key=KEY.public_key())  # the old key alone is not enough
    # A checkpoint signed by the new key over a tree that ends before the announcement is not trusted.
    old = read_checkpoints(path.with_name("audit.log.checkpoints"))[0]
    early = Checkpoint.sign(new_key, old.log_id, old.tree_size, old.root_hash, old.time)
    assert "signature does not verify under the trusted key(s)" in verify(path, checkpoints=[early])


def test_callers_cannot_write_the_logs_own_records(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "a.log", background=False) as log:
        for action in ("audit.checkpoint.key", "audit.spool.full", "audit.log.open"):
            with pytest.raises(InputError, match="written by the log itself"):
                log.append("phistack.audit", action, "a.log", "success", {"checkpoint_key": "00" * 32})


def test_a_rotation_followed_by_an_immediate_close_verifies(tmp_path: Path) -> None:
    path = make_log(tmp_path, records=3)
    new_key = Ed25519PrivateKey.generate()
    AuditLog.open(path, signing_key=new_key, background=False).close()  # announce, then close at once
    rows = [json.loads(line) for line in read_lines(path)]
    assert [row["action"] for row in rows[-2:]] == ["audit.checkpoint.key", "audit.checkpoint"]
    # The new key's first checkpoint covers the tree that ends with its own announcement.
    assert rows[-1]["details"]["tree_size"] == rows[-2]["seq"] + 1
    result = verify_log(path, allow_unpinned=True)
    assert (result.records, result.checkpoints) == (7, 2)
    assert verify_log(path, public_key=[KEY.public_key(), new_key.public_key()]).authenticated


def test_a_rotated_out_key_cannot_sign_later_trees(tmp_path: Path) -> None:
    path = make_log(tmp_path, records=3)
    with AuditLog.open(path, signing_key=Ed25519PrivateKey.generate(), background=False) as log:
        log.append("svc:runtime", "data.access", "dataset:new", "success")
    log_id = json.loads(read_lines(path)[0])["details"]["log_id"]
    late = Checkpoint.sign(KEY, log_id, 7, "00" * 32, "2027-01-01T00:00:00.000000Z")  # after the rotation
    assert "signature does not verify under the trusted key(s)" in verify(path, checkpoints=[late])


def test_verify_without_a_pinned_key_must_say_so(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    with pytest.raises(InputError, match="pin the checkpoint key"):
        verify_log(path)
    result = verify_log(path, allow_unpinned=True)
    assert (result.key_source, result.authenticated) == ("log", False)
    assert "authenticity: UNPROVEN" in result.summary() and "authenticity unproven" in result.summary()
    assert result.to_json()["authenticity"] == "unproven"
    # A pinned key with nothing signed proves nothing either.
    (tmp_path / "unsigned").mkdir()
    bare = verify_log(make_log(tmp_path / "unsigned", key=None), public_key=KEY.public_key())
    assert not bare.authenticated and "nothing is signed" in bare.summary()


def test_a_full_rewrite_with_the_attackers_key_is_not_reported_authentic(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    forged_dir = tmp_path / "forged"
    forged_dir.mkdir()
    attacker = Ed25519PrivateKey.generate()
    forged = make_log(forged_dir, key=attacker)  # consistent in itself, with the attacker's key in its genesis
    assert not verify_log(forged, allow_unpinned=True).authenticated
    assert "signature does not verify under the trusted key(s)" in verify(forged, public_key=KEY.public_key())
    assert verify_log(path, public_key=KEY.public_key()).authenticated


def test_a_forged_key_announcement_is_not_reported_authentic(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    attacker = Ed25519PrivateKey.generate()
    # Whoever can write the file appends an announcement of their own key and a checkpoint signed by it.
    with AuditLog.open(path, signing_key=attacker, background=False) as log:
        log.append("svc:runtime", "data.access", "dataset:planted", "success")
    assert not verify_log(path, allow_unpinned=True).authenticated
    assert "(it names key" in verify(path, public_key=KEY.public_key())


def test_trimming_the_checkpoint_file_is_caught_by_the_chain(tmp_path: Path) -> None:
    path = make_log(tmp_path, records=2)
    for i in range(2):
        with AuditLog.open(path, signing_key=KEY, background=False) as log:
            log.append("svc:runtime", "data.access", f"dataset:more-{i}", "success")
    cp_file = path.with_name("audit.log.checkpoints")
    kept = read_lines(cp_file)
    assert len(kept) == 3
    write_lines(cp_file, kept[:-1])
    message = verify(path, public_key=KEY.public_key())
    assert message.startswith("checkpoint file trimmed: the log records checkpoint of tree size")
    assert str(cp_file) in message
    write_lines(cp_file, kept[1:])  # trimmed at the front
    assert verify(path, public_key=KEY.public_key()).startswith("checkpoint file trimmed")


def test_a_checkpoint_file_given_elsewhere_does_not_hide_the_local_one(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    held = path.with_name("held.checkpoints")
    held.write_bytes(path.with_name("audit.log.checkpoints").read_bytes())
    local = path.with_name("audit.log.checkpoints")
    cp = read_checkpoints(local)[0]
    forged = Checkpoint(**{**cp.__dict__, "tree_size": 5})
    local.write_bytes(local.read_bytes() + forged.to_line())
    message = verify(path, checkpoint_files=[held], public_key=KEY.public_key())
    assert "in audit.log.checkpoints): signature does not verify" in message


def test_a_checkpoint_file_the_log_names_must_be_a_regular_file(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    local = path.with_name("audit.log.checkpoints")
    local.unlink()
    local.symlink_to("/dev/zero")  # reading it would never end
    message = verify(path, public_key=KEY.public_key())
    assert message.endswith("audit.log.checkpoints as its checkpoint file, but it is not a regular file")


def test_a_checkpoint_record_must_cover_exactly_the_records_before_it(tmp_path: Path) -> None:
    path = make_log(tmp_path, records=2)
    lines = read_lines(path)
    # Replay the checkpoint record (record 3, tree size 3) as record 4, its seq and hashes made to fit.
    replayed = lines[3].replace(b'{"seq":3,', b'{"seq":4,', 1)
    lines.append(rehash(replayed, prev_hash=json.loads(lines[3])["hash"]))
    write_lines(path, lines)
    message = verify(path, public_key=KEY.public_key())
    assert message.startswith("record 4 records a checkpoint of tree size 3")
