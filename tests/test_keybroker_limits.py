"""The key broker under abuse, on loopback: floods, slow clients, oversized and malformed requests.

Every load here is bounded in count and in time (seconds); distinct clients are distinct 127.x
source addresses.
"""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from phistack.errors import InputError
from phistack.keybroker.config import LimitsConfig, load_config
from phistack.keybroker.limits import HttpLimits
from phistack.keybroker.nonces import NonceLimits
from runtime.audit.record import MAX_RECORD_BYTES
from tests.support.keybroker import DATASET, Broker, counted, post, serve

pytestmark = pytest.mark.filterwarnings("ignore::runtime.crypto.UnsafeKekWarning")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    yield from serve(
        tmp_path,
        http=HttpLimits(header_timeout_s=1.0, body_timeout_s=1.0, idle_timeout_s=2.0, handshake_timeout_s=2.0),
        nonces=NonceLimits(max_outstanding=40, max_per_client=10, rate_per_s=1.0, burst=5),
    )


# -- nonces ---------------------------------------------------------------------------------------


def test_nonce_flood_from_one_client_leaves_nonces_for_the_others(broker: Broker) -> None:
    flooder = broker.connection("127.0.0.2")
    started = time.monotonic()
    statuses = [post(flooder, "/v1/nonce")[0] for _ in range(300)]
    assert statuses[:5] == [200] * 5  # the burst, then the rate
    assert statuses.count(200) <= 5 + (time.monotonic() - started) * 1.0 + 1
    status, answer = post(flooder, "/v1/nonce")
    assert status == 429 and "too many nonce requests" in answer["reason"]

    honest = broker.connection("127.0.0.3")
    for _ in range(3):
        status, answer = post(honest, "/v1/nonce")
        assert status == 200 and len(bytes.fromhex(answer["nonce"])) == 32


def test_a_full_table_never_starves_a_client_holding_few(broker: Broker) -> None:
    # Eight addresses take five nonces each: the table (40) is full.
    for host in range(10, 18):
        connection = broker.connection(f"127.0.1.{host}")
        assert [post(connection, "/v1/nonce")[0] for _ in range(5)] == [200] * 5
    assert broker.broker.nonces.outstanding() == 40
    status, _ = post(broker.connection("127.0.0.3"), "/v1/nonce")
    assert status == 200  # the oldest nonce of a client holding the most was withdrawn
    assert broker.broker.nonces.outstanding() == 40
    assert broker.broker.nonces.outstanding("127.0.0.3") == 1


def test_issuance_and_rate_refusals_are_audited_in_aggregate(broker: Broker) -> None:
    flooder = broker.connection("127.0.0.2")
    statuses = [post(flooder, "/v1/nonce")[0] for _ in range(100)]
    broker.running.stop()  # writes the pending counts
    records = broker.records()
    issued_records, issued = counted(records, "nonce.issue", "issued")
    refused_records, refused = counted(records, "request.refusal", "nonce-rate-limit")
    assert issued == statuses.count(200) and refused == statuses.count(429)
    assert issued_records <= 2 and refused_records <= 2  # first event, then one record with the count


# -- slow and excess connections ----------------------------------------------------------------------


def test_a_trickling_client_is_dropped_after_the_header_timeout(broker: Broker) -> None:
    with broker.tls("127.0.0.4") as tls:
        tls.sendall(b"GET /v1/health HTTP/1.1\r\n")
        started = time.monotonic()
        answer = b""
        with pytest.raises((ConnectionError, ssl.SSLError, OSError)):
            for _ in range(80):  # one byte every 0.1 s: each read is quick, the phase is not
                tls.sendall(b"X")
                time.sleep(0.1)
                tls.settimeout(0.001)
                try:
                    chunk = tls.recv(4096)
                except TimeoutError:
                    continue
                finally:
                    tls.settimeout(5)
                answer += chunk
                if not chunk:
                    raise ConnectionError("closed by the broker")
        elapsed = time.monotonic() - started
    assert elapsed < 4, elapsed  # the header timeout is 1 s
    assert answer.startswith(b"HTTP/1.1 408")
    broker.running.stop()
    assert counted(broker.records(), "request.refusal", "timeout-header") == (1, 1)


def test_a_trickled_body_is_dropped_after_the_body_timeout(broker: Broker) -> None:
    with broker.tls("127.0.0.4") as tls:
        tls.sendall(b"POST /v1/nonce HTTP/1.1\r\nContent-Length: 100\r\n\r\n")
        started = time.monotonic()
        tls.settimeout(0.1)
        answer = b""
        while time.monotonic() - started < 8:
            try:
                tls.sendall(b" ")
                chunk = tls.recv(4096)
            except TimeoutError:
                continue
            except (ConnectionError, ssl.SSLError):
                break
            if not chunk:
                break
            answer += chunk
        elapsed = time.monotonic() - started
    assert elapsed < 4, elapsed  # the body timeout is 1 s
    assert answer.startswith(b"HTTP/1.1 408")
    broker.running.stop()
    assert counted(broker.records(), "request.refusal", "timeout-body") == (1, 1)


def test_a_client_trickling_its_handshake_is_dropped(broker: Broker) -> None:
    hello = b"\x16\x03\x01\x02\x00" + b"\x01" * 100  # a ClientHello's start, one byte every 0.2 s
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", broker.port), source_address=("127.0.0.8", 0)) as raw:
        raw.settimeout(0.2)
        for byte in hello:
            try:
                raw.sendall(bytes([byte]))
                if not raw.recv(1):
                    break  # closed
            except TimeoutError:
                continue
            except OSError:
                break
    assert 1.5 < time.monotonic() - started < 5  # the handshake timeout is 2 s, for the whole handshake
    broker.running.stop()
    assert counted(broker.records(), "request.refusal", "tls-handshake") == (1, 1)


def test_limits_come_from_the_configuration_file(tmp_path: Path) -> None:
    limits = LimitsConfig.model_validate({"max_connections": 7, "nonce_rate_per_s": 0.5, "header_timeout_s": 3})
    assert limits.http().max_connections == 7 and limits.http().header_timeout_s == 3
    assert limits.nonces().rate_per_s == 0.5 and limits.nonces().max_outstanding == 10_000
    assert LimitsConfig().http() == HttpLimits() and LimitsConfig().nonces() == NonceLimits()
    config = tmp_path / "broker.yaml"
    config.write_text(
        "tls: {cert: a, key: b}\ntrust: {device_root: r}\naudit: {path: a.log}\n"
        "datasets: {d: {kek: 'file:k'}}\nlimits: {max_conections: 5}\n"
    )
    with pytest.raises(InputError, match="max_conections"):
        load_config(config)


def test_an_idle_keep_alive_connection_is_closed_quietly(broker: Broker) -> None:
    connection = broker.connection("127.0.0.5")
    assert post(connection, "/v1/nonce")[0] == 200
    time.sleep(2.2)  # the idle timeout is 2 s
    _wait_connections(broker, 0)
    broker.running.stop()
    assert not [r for r in broker.records() if r["details"].get("code", "").startswith("timeout")]


def _wait_connections(harness: Broker, count: int) -> None:
    deadline = time.monotonic() + 5
    while harness.running.server.connections() != count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert harness.running.server.connections() == count


def _closed_at_once(harness: Broker, source: str) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", harness.port), source_address=(source, 0)) as extra:
        extra.settimeout(3)
        assert extra.recv(1) == b""  # closed without a handshake
    assert time.monotonic() - started < 1.0


def test_connections_over_the_cap_are_closed_at_once(tmp_path: Path) -> None:
    for harness in serve(tmp_path, http=HttpLimits(max_connections=4, max_connections_per_client=2)):
        port = harness.port
        # Connections stuck before the TLS handshake: two from one client ...
        held = [socket.create_connection(("127.0.0.1", port), source_address=("127.0.2.1", 0)) for _ in range(2)]
        _wait_connections(harness, 2)
        _closed_at_once(harness, "127.0.2.1")  # over its own cap
        # ... and two from another.
        held += [socket.create_connection(("127.0.0.1", port), source_address=("127.0.2.2", 0)) for _ in range(2)]
        _wait_connections(harness, 4)
        _closed_at_once(harness, "127.0.2.9")  # over the total cap
        for sock in held:
            sock.close()
        _wait_connections(harness, 0)
        assert post(harness.connection("127.0.2.9"), "/v1/nonce")[0] == 200
        harness.running.stop()
        records = harness.records()
        assert counted(records, "request.refusal", "connection-cap")[1] == 1
        assert counted(records, "request.refusal", "connection-cap-client")[1] == 1


# -- lengths ---------------------------------------------------------------------------------------------


def test_a_65000_character_key_path_is_refused_with_a_bounded_record(broker: Broker) -> None:
    name = "A" * 65_000
    for _ in range(20):
        status, answer = broker.raw(f"POST /v1/keys/{name} HTTP/1.1\r\nContent-Length: 2\r\n\r\n{{}}".encode())
        assert status == 414 and "longer than 1024" in answer["reason"]
    broker.running.stop()
    broker.audit.sync()
    lines = broker.audit_path.read_bytes().splitlines()
    refusals = [json.loads(line) for line in lines if b'"key.refusal"' in line]
    assert [r["details"]["count"] for r in refusals] == [1, 19]
    assert all(len(line) < 2048 for line in lines)  # not 120 KB each
    digest = hashlib.sha256(f"dataset:{name}".encode()).hexdigest()
    assert all(digest in r["object"] and r["details"]["status"] == 414 for r in refusals)


def test_a_request_line_over_64_kib_and_oversized_headers_are_refused(broker: Broker) -> None:
    status, _ = broker.raw(b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")
    assert status == 414
    status, _ = broker.raw(b"GET /v1/health HTTP/1.1\r\n" + b"X-Pad: " + b"p" * 20_000 + b"\r\n\r\n")
    assert status == 431
    status, _ = broker.raw(b"GET /v1/health HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n")
    assert status == 431
    broker.running.stop()
    broker.audit.sync()
    assert all(len(line) <= MAX_RECORD_BYTES for line in broker.audit_path.read_bytes().splitlines())
    assert counted(broker.records(), "request.refusal", "http-431")[1] == 2


# -- malformed bodies ------------------------------------------------------------------------------------


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


BAD_BODIES = {
    "nested JSON": (b"[" * 100_000 + b"]" * 100_000, 400, "nests deeper than 32"),
    "moderately nested JSON": (json.dumps({"nonce": _nested(33)}).encode(), 400, "nests deeper"),
    "bad JSON": (b'{"nonce": ', 400, "not JSON"),
    "bad UTF-8": (b'{"nonce": "\xff\xfe"}', 400, "not UTF-8"),
    "duplicate keys": (b'{"nonce": "a", "nonce": "b"}', 400, "duplicate key"),
    "NaN": (b'{"unwrap": NaN}', 400, "NaN is not JSON"),
    "huge integer": (b'{"unwrap": ' + b"9" * 5000 + b"}", 400, "acceptable JSON"),
    "not an object": (b"[1, 2]", 400, "must be a JSON object"),
    "long wrapped key": (json.dumps({"unwrap": ["A" * 5000]}).encode(), 400, "at most 1024"),
    "too many GPUs": (json.dumps({"unwrap": ["AAAA"], "evidence": [{}] * 17}).encode(), 400, "more than 16 GPUs"),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_malformed_bodies_are_400_and_audited(broker: Broker, case: str) -> None:
    body, expected, reason = BAD_BODIES[case]
    connection = broker.connection("127.0.0.6")
    status, answer = post(connection, f"/v1/keys/{DATASET}", body)
    assert (status, reason in answer["reason"]) == (expected, True), answer
    assert broker.running.server.errors == []
    records = [r for r in broker.records() if r["action"] == "key.refusal"]
    assert len(records) == 1 and records[0]["details"]["status"] == expected
    assert records[0]["object"] == f"dataset:{DATASET}" and reason in records[0]["details"]["reasons"][0]


BAD_FRAMING = {
    "signed Content-Length": (b"Content-Length: +2\r\n", 400),
    "Content-Length with underscore": (b"Content-Length: 1_0\r\n", 400),
    "two Content-Lengths": (b"Content-Length: 2\r\nContent-Length: 2\r\n", 400),
    "chunked": (b"Transfer-Encoding: chunked\r\n", 411),
    "oversized": (b"Content-Length: 2000000\r\n", 413),
}


@pytest.mark.parametrize("case", sorted(BAD_FRAMING))
def test_bad_content_length_is_refused_and_audited(broker: Broker, case: str) -> None:
    header, expected = BAD_FRAMING[case]
    status, _ = broker.raw(b"POST /v1/nonce HTTP/1.1\r\n" + header + b"\r\n{}")
    assert status == expected
    records = [r for r in broker.records() if r["action"] == "request.refusal"]
    assert [(r["object"], r["details"]["status"]) for r in records] == [("endpoint:POST /v1/nonce", expected)]


def test_a_get_body_is_never_taken_for_the_next_request(broker: Broker) -> None:
    smuggled = b"GET /v1/datasets/x HTTP/1.1\r\n\r\n"
    with broker.tls("127.0.0.9") as tls:
        tls.sendall(b"GET /v1/health HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(smuggled) + smuggled)
        tls.settimeout(5)
        answer = b""
        while chunk := tls.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and answer.count(b"HTTP/1.1") == 1
    assert b"Connection: close" in answer


def test_a_rate_limited_client_is_told_when_to_retry(broker: Broker) -> None:
    connection = broker.connection("127.0.0.10")
    for _ in range(6):
        connection.request("POST", "/v1/nonce", body=b"{}")
        response = connection.getresponse()
        response.read()
    assert response.status == 429 and response.getheader("Retry-After") == "1"


def test_unknown_method_and_endpoint_are_refused_and_audited(broker: Broker) -> None:
    assert broker.raw(b"DELETE /v1/nonce HTTP/1.1\r\n\r\n")[0] == 501
    assert broker.raw(b"GET /v1/other HTTP/1.1\r\n\r\n")[0] == 404
    assert broker.raw(b"GARBAGE\r\n\r\n")[0] == 400
    status, answer = broker.raw(b"GARBAGE" * 9000 + b"\r\n\r\n")
    assert status == 400 and len(json.dumps(answer)) < 1000  # the request line is not echoed back
    codes = {r["details"]["code"] for r in broker.records() if r["action"] == "request.refusal"}
    assert codes == {"http-501", "no-endpoint", "http-400"}
    assert all(len(r["details"]["reasons"][0]) <= 256 for r in broker.records() if r["action"] == "request.refusal")
