"""The AuditLog writer: chaining, batched fsync, reopening, periodic and idle checkpoints."""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.audit import AuditLog, AuditUnavailableError, read_checkpoints
from runtime.audit.chain import walk
from runtime.audit.record import genesis_hash
from runtime.audit.verify import verify_log
from runtime.errors import InputError, VerificationError

ACTIONS = (
    "data.access", "key.release", "key.refusal", "inference.request", "training.run",
    "attestation.result", "job.start", "job.end", "mode.development",
)  # fmt: skip


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_append_chains_records_after_a_genesis_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    key = Ed25519PrivateKey.generate()
    with AuditLog.open(path, signing_key=key, background=False) as log:
        records = [
            log.append("svc:runtime", action, f"obj-{i}", "success", {"i": i}) for i, action in enumerate(ACTIONS)
        ]
        assert log.size == len(ACTIONS) + 1
        assert log.last_hash == records[-1].hash
    rows = lines(path)
    genesis = rows[0]
    assert genesis["action"] == "audit.log.open" and genesis["seq"] == 0
    assert genesis["prev_hash"] == genesis_hash(str(genesis["details"]["log_id"]))
    assert [row["seq"] for row in rows] == list(range(len(rows)))
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["hash"]
    assert [row["action"] for row in rows[1:-1]] == list(ACTIONS)
    assert rows[-1]["action"] == "audit.checkpoint"  # close() checkpoints, and records it in the chain
    assert rows[-1]["details"]["tree_size"] == rows[-1]["seq"] == len(ACTIONS) + 1
    result = verify_log(path, public_key=key.public_key())
    assert result.records == len(rows) and result.checkpoints == 1  # the one close() writes


def test_outcomes_and_details_are_recorded(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "a.log", background=False) as log:
        log.append("svc:broker", "key.refusal", "dataset:ct", "denied", {"reason": "nonce reused"})
        log.append("svc:runtime", "training.run", "job:7", "failure")
    rows = lines(tmp_path / "a.log")
    assert (rows[1]["outcome"], rows[1]["details"]) == ("denied", {"reason": "nonce reused"})
    assert (rows[2]["outcome"], rows[2]["details"]) == ("failure", {})


def test_fsync_is_batched_and_sync_forces_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import runtime.audit.log as logmod

    calls: list[int] = []
    real_fsync = logmod.os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(logmod.os, "fsync", counting_fsync)
    with AuditLog.open(tmp_path / "a.log", sync_every=100, sync_interval_s=3600, background=False) as log:
        calls.clear()
        for i in range(250):
            log.append("a", "data.access", f"o{i}", "success")
        assert len(calls) == 2  # after records 100 and 200, not 250 times
        assert log.durable_offset < (tmp_path / "a.log").stat().st_size or log.durable_offset > 0
        log.sync()
        assert len(calls) == 3
        assert log.durable_offset == (tmp_path / "a.log").stat().st_size


def test_background_thread_syncs_a_quiet_log(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    with AuditLog.open(path, sync_every=10_000, sync_interval_s=0.02) as log:
        log.append("a", "data.access", "o", "success")
        deadline = time.monotonic() + 5
        while log.durable_offset < path.stat().st_size and time.monotonic() < deadline:
            time.sleep(0.01)
        assert log.durable_offset == path.stat().st_size


def test_reopen_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    key = Ed25519PrivateKey.generate()
    with AuditLog.open(path, signing_key=key, background=False) as log:
        first = log.append("a", "job.start", "job:1", "success")
        log_id = log.log_id
    checkpoint_record = lines(path)[-1]
    assert checkpoint_record["prev_hash"] == first.hash
    with AuditLog.open(path, signing_key=key, background=False) as log:
        assert log.log_id == log_id and log.size == 3
        second = log.append("a", "job.end", "job:1", "success")
    assert second.seq == 3 and second.prev_hash == checkpoint_record["hash"]
    assert verify_log(path, public_key=key.public_key()).records == 5


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "a.log", background=False), pytest.raises(InputError, match="another writer"):
        AuditLog.open(tmp_path / "a.log", background=False)


def test_a_torn_last_line_is_cut_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    with AuditLog.open(path, background=False) as log:
        log.append("a", "data.access", "o", "success")
    with path.open("ab") as handle:
        handle.write(b'{"seq":2,"time":"2027-01-1')  # a crash mid-write
    with AuditLog.open(path, background=False) as log:
        log.append("a", "data.access", "o2", "success")
    rows = lines(path)
    assert rows[2]["action"] == "audit.log.repaired" and rows[2]["details"] == {"discarded_bytes": 26}
    assert rows[3]["object"] == "o2"
    verify_log(path, allow_unpinned=True)


def test_a_tampered_log_is_not_extended(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    with AuditLog.open(path, background=False) as log:
        log.append("a", "data.access", "o", "success")
    path.write_bytes(path.read_bytes().replace(b'"object":"o"', b'"object":"p"'))
    with pytest.raises(VerificationError, match=r"record 1 .* was modified"):
        AuditLog.open(path, background=False)


def test_closed_log_refuses_appends(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path / "a.log", background=False)
    log.close()
    log.close()  # idempotent
    with pytest.raises(AuditUnavailableError, match="closed"):
        log.append("a", "data.access", "o", "success")


def test_appends_from_many_threads_form_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    with AuditLog.open(path, sync_every=50) as log:

        def worker(n: int) -> None:
            for i in range(200):
                log.append(f"worker:{n}", "inference.request", f"req-{n}-{i}", "success")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert walk(path).count == 801


def test_checkpoints_are_periodic_by_the_injected_clock(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    key = Ed25519PrivateKey.generate()
    clock = FakeClock()
    with AuditLog.open(path, signing_key=key, clock=clock, checkpoint_interval_s=60, background=False) as log:
        log.append("a", "data.access", "o1", "success")
        assert log.checkpoints_written == 0
        clock.advance(59.9)
        log.append("a", "data.access", "o2", "success")
        assert log.checkpoints_written == 0
        clock.advance(0.2)
        log.append("a", "data.access", "o3", "success")  # due: written on the append path
        assert log.checkpoints_written == 1
        clock.advance(61)
        log.tick()  # idle: no new records, a fresh checkpoint all the same
        assert log.checkpoints_written == 2
        log.tick()
        assert log.checkpoints_written == 2  # not due again yet
    cps = read_checkpoints(path.with_name("a.log.checkpoints"))
    # periodic, idle, close: each is recorded in the chain, so the next one covers that record too
    assert [cp.tree_size for cp in cps] == [4, 5, 6]
    assert [row["action"] for row in lines(path)[4:]] == ["audit.checkpoint"] * 3
    assert cps[0].time == "2027-01-15T08:01:00.100000Z"
    assert cps[1].time == "2027-01-15T08:02:01.100000Z"
    assert verify_log(path, public_key=key.public_key()).checkpoints == 3


def test_idle_checkpoints_come_from_the_background_thread(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    cp_path = tmp_path / "elsewhere.checkpoints"
    key = Ed25519PrivateKey.generate()
    with AuditLog.open(path, signing_key=key, checkpoint_path=cp_path, checkpoint_interval_s=0.05) as log:
        log.append("a", "job.start", "job:1", "success")
        deadline = time.monotonic() + 10
        while log.checkpoints_written < 3 and time.monotonic() < deadline:
            time.sleep(0.02)  # no appends: only the timer can write these
        assert log.checkpoints_written >= 3
    cps = read_checkpoints(cp_path)
    assert [cp.tree_size for cp in cps] == list(range(2, 2 + len(cps)))
    rows = lines(path)
    assert {row["object"] for row in rows[2:]} == {"elsewhere.checkpoints"}  # the file, named beside the log
    assert verify_log(path, public_key=key.public_key()).records == 2 + len(cps)


def test_unsigned_log_writes_no_checkpoints(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "a.log", background=False) as log:
        log.append("a", "data.access", "o", "success")
        assert log.checkpoint() is None
    assert not (tmp_path / "a.log.checkpoints").exists()


def test_background_failure_surfaces_on_the_next_append(tmp_path: Path) -> None:
    log = AuditLog.open(
        tmp_path / "a.log",
        signing_key=Ed25519PrivateKey.generate(),
        checkpoint_interval_s=0.02,
        checkpoint_path=tmp_path / "missing-dir" / "cp",
    )
    try:
        deadline = time.monotonic() + 5
        while log._background_error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(AuditUnavailableError, match="failed in the background"):
            log.append("a", "data.access", "o", "success")
    finally:
        with pytest.raises(AuditUnavailableError):
            log.close()
    assert log._file.closed  # released even though the final checkpoint failed
