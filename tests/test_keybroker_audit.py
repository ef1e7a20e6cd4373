"""Refusals and nonce issuance in the audit log: bounded, aggregated per burst; nonce refusal reasons."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phistack.keybroker.auditing import FIELD_CHARS, AggregatingAuditor
from phistack.keybroker.nonces import NonceLimits, NonceRateLimited, NonceRefused, NonceStore
from tests.support.keybroker import Broker, counted, post, serve

pytestmark = pytest.mark.filterwarnings("ignore::runtime.crypto.UnsafeKekWarning")
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Sink:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, str, dict[str, Any]]] = []

    def append(self, actor: str, action: str, object: str, outcome: str, details: dict[str, Any] | None = None) -> None:
        self.records.append((action, object, outcome, dict(details or {})))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _auditor(**kwargs: Any) -> tuple[AggregatingAuditor, Sink, Clock]:
    sink, clock = Sink(), Clock()
    return AggregatingAuditor(sink, "svc:test", clock=clock, **kwargs), sink, clock


# -- aggregation -----------------------------------------------------------------------------------


def test_a_burst_is_one_record_then_one_per_window_with_the_count() -> None:
    auditor, sink, clock = _auditor(window_s=10)
    for _ in range(500):
        auditor.event("key.refusal", "dataset:x", "denied", {"reasons": ["r"]}, client="10.0.0.1", code="nonce-bad")
        clock.now += 0.01  # 5 s in all
    auditor.tick()
    assert [r[3]["count"] for r in sink.records] == [1]  # the window is still open
    clock.now += 5.1
    auditor.tick()
    assert [r[3]["count"] for r in sink.records] == [1, 499]
    assert sink.records[1][3]["client"] == "10.0.0.1" and sink.records[1][3]["reasons"] == ["r"]
    clock.now += 11
    auditor.tick()  # the burst is over: nothing more to say, and its next event opens a new one
    auditor.event("key.refusal", "dataset:x", "denied", {}, client="10.0.0.1", code="nonce-bad")
    assert [r[3]["count"] for r in sink.records] == [1, 499, 1]


def test_bursts_are_per_client_and_code_and_bounded_in_number() -> None:
    auditor, sink, _ = _auditor(max_bursts=3)
    for client in range(10):
        for code in ("a", "b"):
            auditor.event("request.refusal", "o", "denied", {}, client=f"10.0.0.{client}", code=code)
    auditor.close()
    # Three bursts opened; everyone else is counted under "*", one burst per code (opened, then closed).
    assert len(sink.records) == 3 + 2 * 2
    assert sum(r[3]["count"] for r in sink.records) == 20
    assert {r[3]["client"] for r in sink.records if r[3]["count"] > 1} == {"*"}


def test_long_values_are_cut_with_their_digest() -> None:
    auditor, sink, _ = _auditor()
    path = "/v1/keys/" + "B" * 65_000
    auditor.event("key.refusal", "dataset:" + "B" * 65_000, "denied", {"path": path}, client="c", code="x")
    _, obj, _, details = sink.records[0]
    assert len(obj) <= FIELD_CHARS and len(details["path"]) <= FIELD_CHARS
    assert hashlib.sha256(path.encode()).hexdigest() in details["path"]


def test_an_audit_failure_does_not_turn_a_refusal_into_an_error() -> None:
    class Broken:
        def append(self, *args: Any, **kwargs: Any) -> None:
            raise OSError("disk full")

    AggregatingAuditor(Broken(), "svc:test").event("request.refusal", "o", "denied", {}, client="c", code="x")


def test_http_flood_of_refusals_becomes_a_few_records_with_counts(tmp_path: Path) -> None:
    for broker in serve(tmp_path, window_s=0.5):
        connection = broker.connection("127.0.3.1")
        sent = 0
        started = time.monotonic()
        while time.monotonic() - started < 1.6:
            connection.request("GET", "/v1/datasets/" + "n" * 500)
            response = connection.getresponse()
            response.read()
            assert response.status == 404
            sent += 1
        broker.running.stop()
        records, events = counted(broker.records(), "request.refusal", "unknown-dataset")
        assert events == sent and sent > 20
        assert records <= 6  # the first, then one per 0.5 s window (and the rest at stop)


# -- nonce reasons ----------------------------------------------------------------------------------


def test_an_expired_nonce_is_reported_as_expired_after_it_was_purged() -> None:
    store = NonceStore(ttl_s=1)
    old = store.issue(at_time=T0, client="a")
    store.issue(at_time=T0 + dt.timedelta(seconds=5), client="b")  # purges the first
    assert store.outstanding() == 1
    with pytest.raises(NonceRefused, match=r"nonce expired at 2026-01-01T00:00:01\+00:00"):
        store.consume(old.nonce, at_time=T0 + dt.timedelta(seconds=6))


def test_used_withdrawn_and_unknown_nonces_are_named() -> None:
    store = NonceStore(ttl_s=60, limits=NonceLimits(max_outstanding=2, burst=10))
    first = store.issue(at_time=T0, client="a")
    store.consume(first.nonce, at_time=T0)
    with pytest.raises(NonceRefused, match=r"already used \(replay\)"):
        store.consume(first.nonce, at_time=T0)
    withdrawn = store.issue(at_time=T0, client="a")
    store.issue(at_time=T0, client="a")
    store.issue(at_time=T0, client="b")  # table full: a's oldest goes
    with pytest.raises(NonceRefused, match=r"withdrawn .* the nonce table was full"):
        store.consume(withdrawn.nonce, at_time=T0)
    with pytest.raises(NonceRefused, match="not issued by this broker"):
        store.consume(bytes(32), at_time=T0)


def test_per_client_rate_and_share() -> None:
    store = NonceStore(ttl_s=60, limits=NonceLimits(max_per_client=3, burst=10, rate_per_s=1000))
    for _ in range(3):
        store.issue(at_time=T0, client="a")
    with pytest.raises(NonceRateLimited, match="holds 3 unused nonces"):
        store.issue(at_time=T0, client="a")
    store.issue(at_time=T0, client="b")
    slow = NonceStore(ttl_s=60, limits=NonceLimits(burst=2, rate_per_s=0.5))
    slow.issue(at_time=T0, client="a")
    slow.issue(at_time=T0, client="a")
    with pytest.raises(NonceRateLimited) as limited:
        slow.issue(at_time=T0, client="a")
    assert 0 < limited.value.retry_after_s <= 2


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    yield from serve(tmp_path, ttl_s=0.2)


def test_expired_nonce_over_https_after_purge(broker: Broker) -> None:
    connection = broker.connection("127.0.3.2")
    status, answer = post(connection, "/v1/nonce")
    assert status == 200
    time.sleep(0.3)
    assert post(connection, "/v1/nonce")[0] == 200  # purges the first
    body = f'{{"nonce": "{answer["nonce"]}", "unwrap": ["AAAA"]}}'.encode()
    status, refused = post(connection, "/v1/keys/chest-ct-2026", body)
    assert status == 403 and refused["reason"].startswith("nonce expired at ")
    records = [r for r in broker.records() if r["action"] == "key.refusal"]
    assert records[-1]["details"]["reasons"][0].startswith("nonce expired at ")
