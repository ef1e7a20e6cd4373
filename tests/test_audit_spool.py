"""The spool's capacity policy: block fails closed, drop-oldest skips shipping; both leave an alert record."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from runtime.audit import AuditLog, SpoolFullError, SpoolPolicy
from runtime.audit.spool import Spool, state_path_for
from runtime.audit.verify import verify_log
from runtime.errors import InputError


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def confirm_everything(path: Path, log_id: str) -> None:
    """What a forwarder in another process does once the SIEM confirmed receipt."""
    records = rows(path)
    Spool(path, log_id).advance(path.stat().st_size, len(records))


def test_block_refuses_appends_when_full_and_writes_one_alert(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    policy = SpoolPolicy(max_pending_bytes=4096, on_full="block", block_timeout_s=0)
    with AuditLog.open(path, spool=policy, background=False) as log:
        accepted = 0
        with pytest.raises(SpoolFullError, match=r"audit spool full: .* policy block"):
            for i in range(100):
                log.append("svc:runtime", "data.access", f"dataset:{i}", "success")
                accepted += 1
        assert 5 < accepted < 20
        with pytest.raises(SpoolFullError):
            log.append("svc:runtime", "data.access", "dataset:again", "success")
        alerts = [r for r in rows(path) if r["action"] == "audit.spool.full"]
        assert len(alerts) == 1 and alerts[0]["outcome"] == "failure"
        assert alerts[0]["details"]["max_pending_bytes"] == 4096
        assert not any(r["object"] == "dataset:again" for r in rows(path))  # nothing recorded, nothing done

        confirm_everything(path, log.log_id)  # the SIEM caught up
        record = log.append("svc:runtime", "data.access", "dataset:after", "success")
    after = rows(path)
    recovered = after[record.seq - 1]
    assert recovered["action"] == "audit.spool.recovered"
    assert recovered["details"]["refused_appends"] == 2
    verify_log(path, allow_unpinned=True)


def test_block_waits_for_the_shipper_to_drain(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    with (
        AuditLog.open(path, spool=SpoolPolicy(2048, block_timeout_s=0), background=False) as log,
        pytest.raises(SpoolFullError),
    ):
        for i in range(100):
            log.append("a", "data.access", f"o{i}", "success")
    with AuditLog.open(path, spool=SpoolPolicy(2048, block_timeout_s=5), background=False) as log:
        timer = threading.Timer(0.3, confirm_everything, args=(path, log.log_id))
        timer.start()
        started = time.monotonic()
        log.append("a", "data.access", "waited", "success")
        waited = time.monotonic() - started
        timer.join()
    assert 0.2 < waited < 4.5


def test_drop_oldest_skips_shipping_but_keeps_every_record_locally(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    policy = SpoolPolicy(max_pending_bytes=4096, on_full="drop-oldest")
    with AuditLog.open(path, spool=policy, background=False) as log:
        for i in range(200):
            log.append("svc:runtime", "data.access", f"dataset:{i}", "success")
        log_id = log.log_id
    records = rows(path)
    assert sum(1 for r in records if r["object"].startswith("dataset:")) == 200
    overflows = [r for r in records if r["action"] == "audit.spool.overflow"]
    assert overflows, "an alert record names what was not shipped"
    expected_first = 0
    for alert in overflows:
        details = alert["details"]
        assert details["policy"] == "drop-oldest"
        assert details["first_seq"] == expected_first
        assert details["records"] == details["last_seq"] - details["first_seq"] + 1
        expected_first = details["last_seq"] + 1
    offset, seq = Spool(path, log_id).acked()
    assert seq == expected_first
    assert path.stat().st_size - offset <= 4096
    assert path.read_bytes()[:offset].count(b"\n") == seq  # the offset sits on a record boundary
    verify_log(path, allow_unpinned=True)


def test_spool_state_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    with AuditLog.open(path, background=False) as log:
        log_id = log.log_id
    state = state_path_for(path)
    state.write_text("{garbage")
    with pytest.raises(InputError, match="unreadable spool state"):
        Spool(path, log_id)
    state.write_text(json.dumps({"format": "phistack.audit.spool/v1", "log_id": "other", "offset": 0, "seq": 0}))
    with pytest.raises(InputError, match="belongs to log other"):
        AuditLog.open(path, spool=SpoolPolicy(), background=False)


def test_spool_offset_only_moves_forward(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "a.log", "log-1")
    spool.advance(100, 3)
    spool.advance(50, 2)
    assert spool.acked() == (100, 3)
    assert Spool(tmp_path / "a.log", "log-1").acked() == (100, 3)


@pytest.mark.parametrize("kwargs", [{"on_full": "discard"}, {"max_pending_bytes": 0}, {"block_timeout_s": -1}])
def test_spool_policy_is_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError):
        SpoolPolicy(**kwargs)  # type: ignore[arg-type]
