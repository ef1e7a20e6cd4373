"""`phistack audit` as a user runs it: a subprocess, its exit code, stdout and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from phistack.cli import main as cli_main
from runtime.audit import AuditLog
from runtime.audit.chain import walk
from runtime.audit.shipper import Shipper, SyslogTarget
from runtime.ed25519 import load_private_key, write_keypair
from tests.support.cli import REPO, assert_one_line_error
from tests.support.rsyslog import Rsyslog, rsyslog  # noqa: F401  (the fixture)


def audit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m phistack audit ARGS`` in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "phistack", "audit", *args],
        cwd=cwd,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


EVENTS = [
    ("attestation.result", "success"),
    ("key.release", "success"),
    ("data.access", "success"),
    ("inference.request", "failure"),
    ("key.refusal", "denied"),
]


def _keypair(prefix: Path) -> Ed25519PrivateKey:
    """Write PREFIX.key and PREFIX.pub, as keygen does; return the private key."""
    return load_private_key(write_keypair(prefix)[0])


@pytest.fixture
def signed_log(tmp_path: Path) -> Path:
    """A log of five events with a checkpoint after each, written through the library (CLI start-up is slow)."""
    key = _keypair(tmp_path / "signer")
    for i, (action, outcome) in enumerate(EVENTS):
        with AuditLog.open(tmp_path / "audit.log", signing_key=key, background=False) as log:
            log.append("svc:runtime", action, f"dataset:{i}", outcome, {"i": i})
    return tmp_path / "audit.log"


def test_keygen_and_append_build_a_signed_log(tmp_path: Path) -> None:
    keygen = audit("keygen", "-o", "signer", cwd=tmp_path)
    assert keygen.returncode == 0, keygen.stderr
    assert "phistack: wrote signer.key" in keygen.stderr and keygen.stdout == ""
    assert (tmp_path / "signer.key").stat().st_mode & 0o777 == 0o600
    proc = audit(
        "append", "audit.log", "--actor", "user:jane", "--action", "data.access", "--object", "dataset:ct",
        "--outcome", "success", "--details", '{"bytes": 12}', "--key", "signer.key", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert (record["seq"], record["actor"], record["details"]) == (1, "user:jane", {"bytes": 12})
    verify = audit("verify", "audit.log", "--key", "signer.pub", cwd=tmp_path)
    assert verify.returncode == 0 and "3 records intact" in verify.stdout  # genesis, event, checkpoint record
    assert_one_line_error(audit("keygen", "-o", "signer", cwd=tmp_path), 2, "refusing to overwrite")


def test_intact_log_exits_0_with_a_summary(signed_log: Path) -> None:
    proc = audit("verify", "audit.log", "--key", "signer.pub", cwd=signed_log.parent)
    assert proc.returncode == 0, proc.stderr
    last_hash = json.loads(signed_log.read_bytes().splitlines()[-1])["hash"]
    # the genesis record, and each of the five events followed by the record of its checkpoint
    assert "OK: audit.log: 11 records intact, hash chain unbroken" in proc.stdout
    assert f"last hash: {last_hash}" in proc.stdout
    assert "checkpoints: 5 verified" in proc.stdout and "newest covers 10 records" in proc.stdout
    assert "authenticity: proven" in proc.stdout and proc.stderr == ""
    as_json = audit("verify", "audit.log", "--json", cwd=signed_log.parent)
    assert as_json.returncode == 0
    result = json.loads(as_json.stdout)
    assert (result["status"], result["records"], result["last_hash"]) == ("intact", 11, last_hash)
    assert (result["key_source"], result["authenticity"]) == ("log", "unproven")
    assert as_json.stderr.startswith("phistack: warning: authenticity unproven: no checkpoint verified under a pinned")


def test_modified_record_exits_1_naming_the_record(signed_log: Path) -> None:
    data = signed_log.read_bytes()
    signed_log.write_bytes(data.replace(b'"dataset:2"', b'"dataset:7"'))
    proc = audit("verify", "audit.log", cwd=signed_log.parent)
    assert_one_line_error(proc, 1, "phistack: error: record 5 (line 6) was modified")


def test_deleted_record_exits_1_naming_the_missing_sequence_number(signed_log: Path) -> None:
    lines = signed_log.read_bytes().splitlines(keepends=True)
    signed_log.write_bytes(b"".join(lines[:2] + lines[3:]))
    proc = audit("verify", "audit.log", cwd=signed_log.parent)
    assert_one_line_error(proc, 1, "record 2 is missing (deleted): line 3 holds record 3")


def test_reordered_records_exit_1(signed_log: Path) -> None:
    lines = signed_log.read_bytes().splitlines(keepends=True)
    lines[2], lines[3] = lines[3], lines[2]
    signed_log.write_bytes(b"".join(lines))
    proc = audit("verify", "audit.log", cwd=signed_log.parent)
    assert_one_line_error(proc, 1, "records reordered: line 3 holds record 3 where record 2 belongs")


def test_truncated_tail_exits_1_against_the_checkpoint_held_elsewhere(signed_log: Path) -> None:
    folder = signed_log.parent
    local = folder / "audit.log.checkpoints"
    (folder / "held.checkpoints").write_bytes(local.read_bytes())
    lines = signed_log.read_bytes().splitlines(keepends=True)
    signed_log.write_bytes(b"".join(lines[:-2]))  # the last event and its checkpoint record
    # Whoever cut the log trimmed its checkpoint file to match: locally consistent, so it passes ...
    local.write_bytes(b"".join(local.read_bytes().splitlines(keepends=True)[:-1]))
    assert audit("verify", "audit.log", "--key", "signer.pub", cwd=folder).returncode == 0
    proc = audit("verify", "audit.log", "--checkpoint", "held.checkpoints", "--key", "signer.pub", cwd=folder)
    assert_one_line_error(proc, 1, "log truncated: checkpoint", "from held.checkpoints", "record 9 is missing")
    local.unlink()  # ... and without the file, the checkpoints the chain records still name it
    proc = audit("verify", "audit.log", "--key", "signer.pub", cwd=folder)
    assert_one_line_error(proc, 1, "checkpoint file missing: the log records 4 checkpoint(s)")


def test_forged_checkpoint_exits_1(signed_log: Path) -> None:
    folder = signed_log.parent
    cp = json.loads((folder / "audit.log.checkpoints").read_text().splitlines()[-1])
    cp["tree_size"] = 4
    (folder / "forged.checkpoints").write_text(json.dumps(cp) + "\n")
    proc = audit("verify", "audit.log", "--checkpoint", "forged.checkpoints", "--key", "signer.pub", cwd=folder)
    assert_one_line_error(proc, 1, "signature does not verify", "forged or altered checkpoint")
    _keypair(folder / "other")
    proc = audit("verify", "audit.log", "--key", "other.pub", cwd=folder)
    assert_one_line_error(proc, 1, "signature does not verify under the trusted key(s)", "(it names key")


def test_bad_input_exits_2(tmp_path: Path, signed_log: Path) -> None:
    assert_one_line_error(audit("verify", "missing.log", cwd=tmp_path), 2, "cannot read audit log")
    (tmp_path / "junk.checkpoints").write_text("{nope\n")
    proc = audit("verify", "audit.log", "--checkpoint", "junk.checkpoints", cwd=tmp_path)
    assert_one_line_error(proc, 2, "malformed checkpoint JSON", "junk.checkpoints:1")
    (tmp_path / "junk.pub").write_text("not a key")
    assert_one_line_error(audit("verify", "audit.log", "--key", "junk.pub", cwd=tmp_path), 2, "not a PEM public key")
    proc = audit("append", "audit.log", "--actor", "a", "--action", "Bad Action", "--object", "o",
                 "--outcome", "success", cwd=tmp_path)  # fmt: skip
    assert_one_line_error(proc, 2, "action must match")
    proc = audit("append", "audit.log", "--actor", "a", "--action", "data.access", "--object", "o",
                 "--outcome", "success", "--details", "{x", cwd=tmp_path)  # fmt: skip
    assert_one_line_error(proc, 2, "--details is not JSON")


def test_every_subcommand_has_help(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    top = audit("--help", cwd=tmp_path)
    assert top.returncode == 0
    for name in ("verify", "keygen", "append", "ship"):
        assert name in top.stdout
        with pytest.raises(SystemExit) as exited:  # in-process: the same parser, without the start-up cost
            cli_main(["audit", name, "--help"])
        assert exited.value.code == 0
        text = capsys.readouterr().out
        assert "usage: phistack audit " + name in text and len(text) > 300, name


def test_ship_delivers_and_refuses(signed_log: Path, rsyslog: Rsyslog) -> None:  # noqa: F811
    folder = signed_log.parent
    common = ["--host", rsyslog.host, "--ca", str(rsyslog.pki.ca), "--server-name", "localhost"]
    refused = audit("ship", "audit.log", *common, "--port", str(rsyslog.ports["tls12"]), cwd=folder)
    assert_one_line_error(refused, 1, "does not offer TLS 1.3")
    rogue = audit("ship", "audit.log", *common, "--port", str(rsyslog.ports["rogue"]), cwd=folder)
    assert_one_line_error(rogue, 1, "presented a certificate that does not verify")
    proc = audit("ship", "audit.log", *common, "--port", str(rsyslog.ports["tls13"]), "--hostname", "node-7",
                 cwd=folder)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "11 records confirmed" in proc.stderr
    received = rsyslog.wait_for(11, 10)
    lines = signed_log.read_bytes().splitlines()
    assert [message[message.index(b"] {") + 2 :] for message in received] == lines
    again = audit("ship", "audit.log", *common, "--port", str(rsyslog.ports["tls13"]), cwd=folder)
    assert again.returncode == 0 and "nothing to ship" in again.stderr  # nothing new: nothing resent


# --- what the chain and the keys prove, and what they cannot ---------------------------------------------------


def test_trimmed_checkpoint_file_exits_1(signed_log: Path) -> None:
    local = signed_log.parent / "audit.log.checkpoints"
    local.write_bytes(b"".join(local.read_bytes().splitlines(keepends=True)[:-1]))  # the log itself untouched
    proc = audit("verify", "audit.log", "--key", "signer.pub", cwd=signed_log.parent)
    assert_one_line_error(proc, 1, "checkpoint file trimmed: the log records checkpoint of tree size 10")


def test_the_local_checkpoint_file_is_checked_when_others_are_given(signed_log: Path) -> None:
    folder = signed_log.parent
    local = folder / "audit.log.checkpoints"
    (folder / "held.checkpoints").write_bytes(local.read_bytes())
    cp = json.loads(local.read_text().splitlines()[-1])
    local.write_text(local.read_text() + json.dumps({**cp, "tree_size": 3}) + "\n")  # forged, locally only
    proc = audit("verify", "audit.log", "--checkpoint", "held.checkpoints", "--key", "signer.pub", cwd=folder)
    assert_one_line_error(proc, 1, "in audit.log.checkpoints): signature does not verify", "forged")


def test_key_rotation_followed_by_an_immediate_close_verifies(signed_log: Path) -> None:
    folder = signed_log.parent
    new_key = _keypair(folder / "new")
    AuditLog.open(signed_log, signing_key=new_key, background=False).close()  # announce the key, close at once
    proc = audit("verify", "audit.log", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK: audit.log: 13 records intact" in proc.stdout and "checkpoints: 6 consistent" in proc.stdout
    pinned = audit("verify", "audit.log", "--key", "signer.pub", "--key", "new.pub", cwd=folder)
    assert pinned.returncode == 0 and "authenticity: proven" in pinned.stdout, pinned.stdout + pinned.stderr


def test_a_forged_key_announcement_is_never_reported_authentic(signed_log: Path) -> None:
    folder = signed_log.parent
    _keypair(folder / "attacker")
    planted = audit(
        "append", "audit.log", "--actor", "user:mallory", "--action", "data.access", "--object", "dataset:0",
        "--outcome", "success", "--key", "attacker.key", cwd=folder,
    )  # fmt: skip
    assert planted.returncode == 0, planted.stderr
    unpinned = audit("verify", "audit.log", cwd=folder)
    assert unpinned.returncode == 0  # consistent in itself ...
    assert "authenticity: UNPROVEN" in unpinned.stdout and "not pinned" in unpinned.stdout
    assert "authenticity proven" not in unpinned.stdout and "verified (key" not in unpinned.stdout
    assert unpinned.stderr.startswith("phistack: warning: authenticity unproven")
    pinned = audit("verify", "audit.log", "--key", "signer.pub", cwd=folder)  # ... but not signed by the real key
    assert_one_line_error(pinned, 1, "signature does not verify under the trusted key(s)", "(it names key")


# --- the SIEM as a witness: a real rsyslog received what was shipped --------------------------------------------


def ship(log: Path, server: Rsyslog) -> None:
    """Forward what the SIEM has not confirmed, as `phistack audit ship` does (in-process: CLI start-up is slow)."""
    target = SyslogTarget(server.host, server.ports["tls13"], server.pki.ca, server_name="localhost", hostname="node-7")
    Shipper(target, log, walk(log, allow_torn_tail=True).log_id).ship_pending(timeout_s=30)


def test_witness_catches_a_truncation_with_the_checkpoint_file_trimmed_to_match(
    signed_log: Path,
    rsyslog: Rsyslog,  # noqa: F811
) -> None:
    folder = signed_log.parent
    ship(signed_log, rsyslog)
    assert len(rsyslog.wait_for(11, 10)) == 11
    witness = str(rsyslog.output)
    intact = audit("verify", "audit.log", "--key", "signer.pub", "--witness", witness, cwd=folder)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "witness: 11 records received by the SIEM match the log" in intact.stdout
    signed_log.write_bytes(b"".join(signed_log.read_bytes().splitlines(keepends=True)[:-2]))
    local = folder / "audit.log.checkpoints"
    local.write_bytes(b"".join(local.read_bytes().splitlines(keepends=True)[:-1]))
    alone = audit("verify", "audit.log", "--key", "signer.pub", cwd=folder)
    assert alone.returncode == 0 and "no witness" in alone.stdout  # the limit of local evidence
    proc = audit("verify", "audit.log", "--key", "signer.pub", "--witness", witness, cwd=folder)
    assert_one_line_error(
        proc, 1, "log truncated or rolled back: the SIEM received record 10", "records 9..10 are missing from the end"
    )


def test_witness_catches_a_rollback_of_log_and_checkpoints_together(tmp_path: Path, rsyslog: Rsyslog) -> None:  # noqa: F811
    key = _keypair(tmp_path / "signer")
    log = tmp_path / "audit.log"
    files = [log, tmp_path / "audit.log.checkpoints"]

    def event(i: int) -> None:
        with AuditLog.open(log, signing_key=key, background=False) as writer:
            writer.append("svc:runtime", "data.access", f"dataset:{i}", "success")

    for i in range(2):
        event(i)
    backup = {path: path.read_bytes() for path in files}  # records 0..4
    ship(log, rsyslog)
    for i in range(2, 4):
        event(i)
    ship(log, rsyslog)
    assert len(rsyslog.wait_for(9, 10)) == 9
    witness = str(rsyslog.output)
    for path, data in backup.items():  # roll back the log and its checkpoints together
        path.write_bytes(data)
    (tmp_path / "audit.log.shipped").unlink()
    assert audit("verify", "audit.log", "--key", "signer.pub", cwd=tmp_path).returncode == 0
    proc = audit("verify", "audit.log", "--key", "signer.pub", "--witness", witness, cwd=tmp_path)
    assert_one_line_error(proc, 1, "log truncated or rolled back: the SIEM received record 8", "records 5..8 are")
    event(9)  # the log goes on from the rolled-back state
    proc = audit("verify", "audit.log", "--key", "signer.pub", "--witness", witness, cwd=tmp_path)
    assert_one_line_error(proc, 1, "record 5 (line 6) differs from the copy the SIEM received", "rolled back")
    ship(log, rsyslog)  # and reaches the SIEM: two different records 5 there
    assert len(rsyslog.wait_for(16, 10)) == 16
    proc = audit("verify", "audit.log", "--witness", witness, cwd=tmp_path)
    assert_one_line_error(proc, 1, "the SIEM received two different records 5", "rolled back and written again")


def test_witness_shows_a_log_rewritten_or_replaced(
    signed_log: Path,
    rsyslog: Rsyslog,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = signed_log.parent
    ship(signed_log, rsyslog)
    assert len(rsyslog.wait_for(11, 10)) == 11
    witness = str(rsyslog.output)
    log_id = walk(signed_log).log_id
    attacker = _keypair(folder / "attacker")
    # A full rewrite under the same log id with the attacker's key in the genesis record: consistent in itself.
    import runtime.audit.log as logmod

    monkeypatch.setattr(logmod.uuid, "uuid4", lambda: type("U", (), {"hex": log_id})())
    for path in (signed_log, folder / "audit.log.checkpoints", folder / "audit.log.shipped"):
        path.unlink()
    with AuditLog.open(signed_log, signing_key=attacker, background=False) as log:
        log.append("svc:runtime", "data.access", "dataset:0", "success")
    assert walk(signed_log).log_id == log_id
    unpinned = audit("verify", "audit.log", cwd=folder)
    assert unpinned.returncode == 0 and "authenticity: UNPROVEN" in unpinned.stdout
    proc = audit("verify", "audit.log", "--witness", witness, cwd=folder)
    assert_one_line_error(proc, 1, "record 0 (line 1) differs from the copy the SIEM received")
    # A new log in its place (a new log id): the SIEM never saw it.
    monkeypatch.undo()
    for path in (signed_log, folder / "audit.log.checkpoints"):
        path.unlink()
    AuditLog.open(signed_log, signing_key=attacker, background=False).close()
    proc = audit("verify", "audit.log", "--witness", witness, cwd=folder)
    assert_one_line_error(proc, 1, "the SIEM received no record of log", f"it holds log(s) {log_id}")


def test_unreadable_witness_is_bad_input(signed_log: Path) -> None:
    folder = signed_log.parent
    (folder / "empty.log").write_text("")
    proc = audit("verify", "audit.log", "--witness", "empty.log", cwd=folder)
    assert_one_line_error(proc, 2, "witness holds no shipped audit record", "empty.log")
    proc = audit("verify", "audit.log", "--witness", "missing.log", cwd=folder)
    assert_one_line_error(proc, 2, "cannot read witness", "missing.log")
