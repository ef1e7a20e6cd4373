"""The SIEM's copy as a witness: reading back received messages, and checkpoints shipped as records."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.audit import AuditLog
from runtime.audit.shipper import SyslogTarget
from runtime.audit.syslog import MessageFormatter
from runtime.audit.verify import verify_log
from runtime.audit.witness import read_witness
from runtime.errors import InputError, VerificationError
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.rsyslog import Rsyslog, rsyslog  # noqa: F401  (the fixture)

KEY = Ed25519PrivateKey.generate()


def make_log(tmp_path: Path, events: int = 3) -> Path:
    path = tmp_path / "audit.log"
    for i in range(events):
        with AuditLog.open(path, signing_key=KEY, background=False) as log:
            # Characters structured data must escape, and text that looks like the start of a record.
            log.append('user:"x"] {"seq":9,', "data.access", f'dataset:]\\"{i}', "success", {"i": i})
    return path


def received(path: Path, lines: list[bytes], log_id: str, name: str = "siem.log") -> Path:
    """What a SIEM writing %rawmsg% lines would hold after receiving ``lines``."""
    formatter = MessageFormatter(log_id, hostname="node-7")
    out = path.with_name(name)
    out.write_bytes(b"".join(formatter.message(line) + b"\n" for line in lines))
    return out


def log_id_of(path: Path) -> str:
    return verify_log(path, public_key=KEY.public_key()).log_id


def test_messages_are_read_back_to_the_exact_records(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    lines = path.read_bytes().splitlines()
    log_id = log_id_of(path)
    siem = received(path, lines + lines[:3], log_id)  # at least once: resends are folded
    witness = read_witness([siem], log_id)
    assert sorted(witness.records) == list(range(len(lines)))
    assert all(witness.records[seq].line == line for seq, line in enumerate(lines))
    assert [cp.tree_size for _, cp in witness.checkpoints] == [2, 4, 6]
    result = verify_log(path, public_key=KEY.public_key(), witness=[siem])
    assert result.witnessed == len(lines) and result.authenticated


def test_messages_of_other_logs_and_damaged_ones_are_set_aside(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    lines = path.read_bytes().splitlines()
    log_id = log_id_of(path)
    siem = received(path, lines, log_id)
    other = received(path, lines[:2], "f" * 32, name="other.log")
    damaged = MessageFormatter(log_id, hostname="node-7").message(lines[1])[:-30]  # cut short in transit
    siem.write_bytes(siem.read_bytes() + other.read_bytes() + damaged + b"\nnot syslog at all\n")
    witness = read_witness([siem], log_id)
    assert (len(witness.records), witness.damaged, witness.other_logs) == (len(lines), 1, {"f" * 32})
    result = verify_log(path, public_key=KEY.public_key(), witness=[siem])
    assert any("1 messages of this log at the SIEM were damaged" in note for note in result.notes)


def test_two_different_records_with_one_number_are_a_rollback(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    lines = path.read_bytes().splitlines()
    log_id = log_id_of(path)
    forked = lines[3].replace(b'"success"', b'"denied"')  # its hash no longer matches: damaged, not a fork
    siem = received(path, [*lines, forked], log_id)
    assert read_witness([siem], log_id).damaged == 1
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    rewritten = make_log(other_dir, events=2).read_bytes().splitlines()  # records that are whole, but others
    siem = received(path, [*lines, rewritten[1]], log_id)
    with pytest.raises(VerificationError, match=r"two different records 1 \(.*siem.log:2 and .*siem.log:8\)"):
        read_witness([siem], log_id)


def test_a_witness_that_holds_no_shipped_record_is_bad_input(tmp_path: Path) -> None:
    junk = tmp_path / "junk.log"
    junk.write_text("<13>1 2026-01-01T00:00:00Z host app - - - plain syslog\n")
    with pytest.raises(InputError, match="witness holds no shipped audit record"):
        read_witness([junk], "0" * 32)


def test_checkpoints_reach_the_siem_as_records(rsyslog: Rsyslog, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "audit.log"
    target = SyslogTarget(
        rsyslog.host, rsyslog.ports["tls13"], rsyslog.pki.ca, server_name="localhost", commit_interval_s=0.1
    )
    with AuditLog.open(path, signing_key=KEY, shipper=target, checkpoint_interval_s=0.1) as log:
        log.append("svc:runtime", "job.start", "job:1", "success")
        deadline = time.monotonic() + 10
        while log.checkpoints_written < 2 and time.monotonic() < deadline:
            time.sleep(0.02)  # idle: only the timer writes these, and the shipper forwards them
        log_id = log.log_id
    count = len(path.read_bytes().splitlines())
    assert len(rsyslog.wait_for(count, 10)) >= count
    witness = read_witness([rsyslog.output], log_id)
    assert len(witness.checkpoints) >= 3  # two idle ones at least, and the one close() wrote
    result = verify_log(path, public_key=KEY.public_key(), witness=[rsyslog.output])
    assert result.witnessed == count and result.authenticated


def test_a_fifo_as_log_or_witness_is_refused_at_once(tmp_path: Path) -> None:
    path = make_log(tmp_path, events=1)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = run_cli("audit", "verify", str(path), "--witness", str(fifo), timeout=60)
    assert_one_line_error(proc, 2, "cannot read witness: not a regular file")
    proc = run_cli("audit", "verify", str(fifo), timeout=60)
    assert_one_line_error(proc, 2, "cannot read audit log: not a regular file")
