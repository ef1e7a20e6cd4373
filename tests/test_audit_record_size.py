"""Records fit the SIEM's message limit; the shipper never confirms a message the SIEM would truncate."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from runtime.audit import AuditLog, ShippingError
from runtime.audit.record import MAX_NAME_CHARS, MAX_RECORD_BYTES, cut_text, encode_record, genesis_hash
from runtime.audit.shipper import Shipper
from runtime.audit.spool import Spool
from runtime.audit.syslog import MessageFormatter
from tests.support.rsyslog import Rsyslog, rsyslog  # noqa: F401  (the fixture)
from tests.test_audit_shipping import by_seq, target

PREV = genesis_hash("log-1")


def test_cut_text_keeps_short_values_and_names_the_full_value() -> None:
    assert cut_text("abc", 10) == "abc"
    long = "k" * 65_000
    cut = cut_text(long, 200)
    assert len(cut) <= 200 and cut.startswith("kkk")
    assert f"65000 chars, sha256:{hashlib.sha256(long.encode()).hexdigest()}" in cut


def test_a_huge_field_is_cut_with_its_digest_and_the_line_stays_bounded() -> None:
    huge = "/v1/keys/" + "A" * 120_000
    record = encode_record(1, 1.0, "svc:x", "key.refusal", "dataset:" + huge, "denied", {"path": huge}, PREV)
    assert len(record.line) <= MAX_RECORD_BYTES
    obj = json.loads(record.line)
    digest = hashlib.sha256(huge.encode()).hexdigest()
    assert len(obj["object"]) <= MAX_NAME_CHARS
    assert digest in obj["details"]["path"] and obj["details"]["path"].startswith("/v1/keys/AAA")
    assert obj["details"] == record.details  # the record returned is the record written


def test_many_small_values_collapse_to_a_digest_of_the_details() -> None:
    details = {f"k{i}": "v" * 1000 for i in range(200)}
    record = encode_record(1, 1.0, "svc:x", "bulk.event", "o", "success", details, PREV)
    assert len(record.line) <= MAX_RECORD_BYTES
    summary = json.loads(record.line)["details"]["cut"]
    full = json.dumps(details, sort_keys=True, separators=(",", ":"))
    assert summary["bytes"] == len(full) and summary["sha256"] == hashlib.sha256(full.encode()).hexdigest()


def test_small_records_are_unchanged() -> None:
    details = {"peer": "127.0.0.1", "reasons": ["x" * 3000]}  # over the per-value cut, but the record fits
    record = encode_record(1, 1.0, "svc:x", "key.refusal", "dataset:a", "denied", details, PREV)
    assert json.loads(record.line)["details"] == details


def test_oversized_record_reaches_rsyslog_whole(rsyslog: Rsyslog, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "audit.log"
    with AuditLog.open(path, shipper=target(rsyslog)) as log:
        log.append("svc:keybroker", "key.refusal", "dataset:" + "x" * 70_000, "denied", {"path": "y" * 200_000})
        log_id = log.log_id
        assert log.shipper is not None and log.shipper.wait_idle(20)
    lines = path.read_bytes().splitlines()
    received = by_seq(rsyslog.wait_for(len(lines), 20))
    formatter = MessageFormatter(log_id, hostname="node-7")
    assert received[1] == formatter.message(lines[1])  # not truncated by maxMessageSize="64k"
    assert len(received[1]) <= 64 << 10


def test_shipper_never_confirms_a_message_over_the_limit(rsyslog: Rsyslog, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "audit.log"
    with AuditLog.open(path) as log:
        log.append("svc:a", "small.event", "o", "success", {"n": 1})
        log.append("svc:a", "big.event", "o", "success", {"blob": "z" * 5000})
        log.append("svc:a", "small.event", "o", "success", {"n": 2})
        log_id = log.log_id
    shipper = Shipper(target(rsyslog, max_message_bytes=4096), path, log_id)
    with pytest.raises(ShippingError, match=r"record 2 .* over the SIEM's limit of 4096 bytes"):
        shipper.ship_pending(timeout_s=10)
    lines = path.read_bytes().splitlines()
    acked_offset, acked_seq = Spool(path, log_id).acked()
    assert acked_seq == 2  # genesis and the first event, not the oversized one
    assert acked_offset == len(lines[0]) + len(lines[1]) + 2
    assert shipper.stats.records_confirmed == 2


def test_the_worst_case_message_fits_64_kib() -> None:
    wide = "\U0001d11e" * 5000  # 4 bytes in UTF-8, 12 as a JSON escape: the costliest character
    details = {f"k{i}": wide for i in range(40)}
    record = encode_record(2**63, 1.0, wide, "a" * 32, wide, "success", details, PREV)
    assert len(record.line) <= MAX_RECORD_BYTES
    formatter = MessageFormatter("f" * 32, hostname="h" * 255, app_name="a" * 48, sd_id="x" * 26 + "@32473")
    assert len(formatter.message(record.line)) <= 64 << 10
