"""Shipping to a real rsyslog over TLS 1.3 (RFC 5425): complete, byte-identical, at least once, and refused
by the shipper when the receiver offers TLS 1.2 or a certificate from the wrong CA."""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from runtime.audit import AuditLog, ShippingError, SpoolFullError, SpoolPolicy
from runtime.audit.shipper import Shipper, SyslogTarget
from runtime.audit.spool import Spool
from runtime.audit.syslog import MessageFormatter
from tests.support.rsyslog import Rsyslog, rsyslog  # noqa: F401  (the fixture)

SEQ_RE = re.compile(rb' seq="(\d+)" ')


def target(server: Rsyslog, listener: str = "tls13", **kwargs: Any) -> SyslogTarget:
    options: dict[str, Any] = {
        "server_name": "localhost",
        "hostname": "node-7",
        "commit_interval_s": 0.2,
        "retry_initial_s": 0.05,
        "retry_max_s": 0.2,
        "connect_timeout_s": 3.0,
    }
    options.update(kwargs)
    return SyslogTarget(server.host, server.ports[listener], server.pki.ca, **options)


def log_lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def by_seq(messages: list[bytes]) -> dict[int, bytes]:
    """De-duplicate received messages by seq (at-least-once), checking duplicates are identical."""
    seen: dict[int, bytes] = {}
    for message in messages:
        match = SEQ_RE.search(message)
        assert match, message[:200]
        seq = int(match.group(1))
        assert seen.setdefault(seq, message) == message, f"two different messages for seq {seq}"
    return seen


def test_every_record_arrives_byte_identical(rsyslog: Rsyslog, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "audit.log"
    actions = ["data.access", "key.release", "key.refusal", "inference.request", "attestation.result"]
    outcomes = ["success", "denied", "failure"]
    with AuditLog.open(path, shipper=target(rsyslog)) as log:
        for i in range(3000):
            log.append(
                f"user:zoë-{i % 7}",  # non-ASCII actor travels escaped in MSG, raw UTF-8 in structured data
                actions[i % len(actions)],
                f'dataset:"ct]\\{i}',  # characters RFC 5424 makes us escape in structured data
                outcomes[i % len(outcomes)],
                {"i": i, "note": "x" * (i % 50)},
            )
        log_id = log.log_id
        assert log.shipper is not None and log.shipper.wait_idle(30)
    lines = log_lines(path)
    received = by_seq(rsyslog.wait_for(len(lines), 20))
    assert sorted(received) == list(range(len(lines)))
    formatter = MessageFormatter(log_id, hostname="node-7")
    for seq, line in enumerate(lines):
        assert received[seq] == formatter.message(line)  # the whole RFC 5424 message, byte for byte
        assert received[seq].endswith(b"] " + line)  # and MSG is the exact record line
    assert Spool(path, log_id).acked() == (path.stat().st_size, len(lines))


def test_receiver_restart_mid_stream_loses_nothing(rsyslog: Rsyslog, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "audit.log"
    outage = threading.Timer(0.3, rsyslog.stop)
    with AuditLog.open(path, shipper=target(rsyslog), sync_interval_s=0.01) as log:
        shipper = log.shipper
        assert shipper is not None
        outage.start()  # the SIEM goes away while records stream in ...
        for i in range(6000):
            log.append("svc:runtime", "inference.request", f"req-{i}", "success")
            if i % 20 == 0:
                time.sleep(0.002)
            if i == 3000:
                outage.join(timeout=30)
                assert not rsyslog.running
                deadline = time.monotonic() + 10
                while shipper.stats.failures == 0 and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert shipper.stats.failures >= 1, "the shipper noticed the receiver was gone"
                rsyslog.start()  # ... and comes back on the same port
        assert shipper.wait_idle(30), shipper.stats
        stats = shipper.stats
    rsyslog.stop()  # flush everything it received to its output file
    lines = log_lines(path)
    messages = rsyslog.received()
    received = by_seq(messages)
    missing = sorted(set(range(len(lines))) - set(received))
    assert not missing, f"lost {len(missing)} of {len(lines)} records, first {missing[:5]}; {stats}"
    assert stats.records_confirmed == len(lines)
    for seq, line in enumerate(lines):
        assert received[seq].endswith(b"] " + line)
    # What was in flight, unconfirmed, when the receiver went away was sent again: duplicates, never gaps.
    assert stats.records_sent > len(lines)
    assert len(messages) >= len(lines)


def test_tls12_only_receiver_is_refused(rsyslog: Rsyslog, tmp_path: Path) -> None:  # noqa: F811
    # The listener itself works: a TLS 1.2 client gets through, so the refusal below is the shipper's.
    ctx = ssl.create_default_context(cafile=str(rsyslog.pki.ca))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection((rsyslog.host, rsyslog.ports["tls12"]), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as conn,
    ):
        assert conn.version() == "TLSv1.2"
    path = tmp_path / "audit.log"
    with AuditLog.open(path, background=False) as log:
        log.append("svc:runtime", "data.access", "dataset:1", "success")
        log_id = log.log_id
    shipper = Shipper(target(rsyslog, "tls12"), path, log_id)
    with pytest.raises(ShippingError, match=r"does not offer TLS 1\.3"):
        shipper.ship_pending(timeout_s=5)
    assert Spool(path, log_id).acked() == (0, 0)
    time.sleep(0.2)
    assert rsyslog.received() == []


def test_certificate_from_the_wrong_ca_is_refused(rsyslog: Rsyslog, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "audit.log"
    with AuditLog.open(path, background=False) as log:
        log.append("svc:runtime", "data.access", "dataset:1", "success")
        log_id = log.log_id
    with pytest.raises(ShippingError, match="presented a certificate that does not verify"):
        Shipper(target(rsyslog, "rogue"), path, log_id).ship_pending(timeout_s=5)
    # The right CA but the wrong name is refused too.
    with pytest.raises(ShippingError, match="does not verify: Hostname mismatch"):
        Shipper(target(rsyslog, server_name="siem.example.org"), path, log_id).ship_pending(timeout_s=5)
    assert Spool(path, log_id).acked() == (0, 0)
    time.sleep(0.2)
    assert rsyslog.received() == []


def test_mutual_tls_with_a_client_certificate(rsyslog: Rsyslog, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "audit.log"
    with AuditLog.open(path, background=False) as log:
        for i in range(10):
            log.append("svc:runtime", "data.access", f"dataset:{i}", "success")
        log_id = log.log_id
    with pytest.raises(ShippingError):  # no client certificate: the receiver hangs up
        Shipper(target(rsyslog, "mutual", connect_timeout_s=1.0), path, log_id).ship_pending(timeout_s=2)
    assert Spool(path, log_id).acked() == (0, 0)
    client = rsyslog.pki.client
    mutual = target(rsyslog, "mutual", client_cert=client.cert, client_key=client.key)
    stats = Shipper(mutual, path, log_id).ship_pending(timeout_s=10)
    assert stats.records_confirmed == 11
    assert sorted(by_seq(rsyslog.wait_for(11, 10))) == list(range(11))


def test_forwarder_resumes_from_the_acknowledged_offset(rsyslog: Rsyslog, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "audit.log"
    with AuditLog.open(path, background=False) as log:
        for i in range(100):
            log.append("svc:runtime", "data.access", f"dataset:{i}", "success")
        log_id = log.log_id
    assert Shipper(target(rsyslog), path, log_id).ship_pending(timeout_s=10).records_confirmed == 101
    with AuditLog.open(path, background=False) as log:
        for i in range(100, 150):
            log.append("svc:runtime", "data.access", f"dataset:{i}", "success")
    stats = Shipper(target(rsyslog), path, log_id).ship_pending(timeout_s=10)
    assert (stats.records_confirmed, stats.records_sent) == (50, 50)  # only what was new
    messages = rsyslog.wait_for(151, 10)
    assert len(messages) == 151 and sorted(by_seq(messages)) == list(range(151))
    assert [json.loads(m[m.index(b"] {") + 2 :])["seq"] for m in messages[-2:]] == [149, 150]


def test_full_spool_fails_closed_while_the_siem_is_away_then_recovers(
    rsyslog: Rsyslog,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.log"
    rsyslog.stop()
    policy = SpoolPolicy(max_pending_bytes=16 << 10, on_full="block", block_timeout_s=0)
    with AuditLog.open(path, shipper=target(rsyslog), spool=policy) as log:
        with pytest.raises(SpoolFullError):
            for i in range(1000):
                log.append("svc:runtime", "data.access", f"dataset:{i}", "success")
        rsyslog.start()
        deadline = time.monotonic() + 20
        while True:  # the operation is refused until the SIEM has caught up
            try:
                log.append("svc:runtime", "data.access", "dataset:after", "success")
                break
            except SpoolFullError:
                assert time.monotonic() < deadline, "the spool never drained"
                time.sleep(0.05)
        assert log.shipper is not None and log.shipper.wait_idle(30)
    rsyslog.stop()
    lines = log_lines(path)
    received = by_seq(rsyslog.received())
    assert sorted(received) == list(range(len(lines)))
    actions = [json.loads(line)["action"] for line in lines]
    assert actions.count("audit.spool.full") == 1 and actions.count("audit.spool.recovered") == 1
    assert all(received[seq].endswith(b"] " + line) for seq, line in enumerate(lines))
