"""RFC 5424 message and RFC 5425 frame layout of shipped records."""

from __future__ import annotations

import json

import pytest

from runtime.audit.record import encode_record
from runtime.audit.syslog import MessageFormatter, sd_escape


def line_for(outcome: str, actor: str = "svc:runtime", obj: str = "dataset:1") -> bytes:
    return encode_record(42, 1_800_000_000.0, actor, "key.release", obj, outcome, {"k": 1}, "ab" * 32).line


@pytest.mark.parametrize(("outcome", "pri"), [("success", 110), ("denied", 109), ("failure", 108)])
def test_facility_is_log_audit_and_severity_follows_the_outcome(outcome: str, pri: int) -> None:
    message = MessageFormatter("log-1", hostname="node-7").message(line_for(outcome))
    assert message.startswith(f"<{pri}>1 2027-01-15T08:00:00.000000Z node-7 phistack - key.release [".encode())


def test_structured_data_carries_seq_hash_and_outcome_and_msg_is_the_record() -> None:
    line = line_for("success")
    record = json.loads(line)
    message = MessageFormatter("log-1", hostname="node-7", sd_id="audit@99999").message(line)
    sd = (
        f'[audit@99999 log="log-1" seq="42" hash="{record["hash"]}" prev="{"ab" * 32}" outcome="success" '
        f'actor="svc:runtime" object="dataset:1"] '
    ).encode()
    assert sd in message
    assert message.endswith(b"] " + line)


def test_param_values_are_escaped() -> None:
    assert sd_escape('a"b\\c]d') == 'a\\"b\\\\c\\]d'
    message = MessageFormatter("log-1", hostname="h").message(line_for("success", actor='x"]', obj="p\\q"))
    assert b'actor="x\\"\\]" object="p\\\\q"]' in message


def test_frame_is_octet_counted() -> None:
    formatter = MessageFormatter("log-1", hostname="h")
    line = line_for("success", actor="user:zoë")  # non-ASCII: the count is in octets, not characters
    frame = formatter.frame(line)
    length, _, message = frame.partition(b" ")
    assert int(length) == len(message) and message == formatter.message(line)


@pytest.mark.parametrize(
    "kwargs", [{"hostname": "two words"}, {"app_name": ""}, {"sd_id": "has space"}, {"sd_id": "x" * 33}]
)
def test_header_fields_are_checked(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        MessageFormatter("log-1", **kwargs)
