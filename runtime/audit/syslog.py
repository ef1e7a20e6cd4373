"""RFC 5424 messages and RFC 5425 octet-counting frames for audit records.

Each record becomes one message::

    <PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [audit@32473 log="..." seq="..." hash="..." prev="..."
    outcome="..." actor="..." object="..."] {"seq":...the record line, byte for byte...}

framed for TLS transport as ``LEN SP SYSLOG-MSG`` (RFC 5425 section 4.3). The facility is 13
("log audit"); the severity follows the outcome. MSGID is the record's action. The MSG part is the
record's exact line, so the SIEM holds records it can re-verify. 32473 is the private enterprise
number RFC 5612 reserves for documentation: set your own with ``sd_id``.
"""

from __future__ import annotations

import json
import re
import socket

FACILITY_LOG_AUDIT = 13
SEVERITY = {"success": 6, "denied": 5, "failure": 4}  # informational, notice, warning
DEFAULT_SD_ID = "audit@32473"
_SD_ESCAPE = re.compile(r'(["\\\]])')
_NAME_RE = re.compile(r"^[!-~]{1,255}$")  # PRINTUSASCII, as RFC 5424 requires for header fields


def sd_escape(value: str) -> str:
    """Escape a PARAM-VALUE: '"', '\\' and ']' take a backslash (RFC 5424 section 6.3.3)."""
    return _SD_ESCAPE.sub(r"\\\1", value)


def header_name(value: str, what: str, limit: int) -> str:
    """Check a header field (HOSTNAME, APP-NAME) is printable ASCII without spaces and short enough."""
    if not _NAME_RE.match(value) or len(value) > limit:
        raise ValueError(f"syslog {what} must be 1..{limit} printable ASCII characters without spaces: {value!r}")
    return value


def default_hostname() -> str:
    """This machine's name, reduced to what RFC 5424 allows."""
    name = re.sub(r"[^!-~]", "", socket.gethostname())[:255]
    return name or "-"


class MessageFormatter:
    """Turns record lines into framed RFC 5424 messages."""

    def __init__(
        self, log_id: str, *, hostname: str | None = None, app_name: str = "phistack", sd_id: str = DEFAULT_SD_ID
    ) -> None:
        self.hostname = header_name(hostname or default_hostname(), "HOSTNAME", 255)
        self.app_name = header_name(app_name, "APP-NAME", 48)
        if not re.match(r"^[!-~]{1,32}$", sd_id) or any(c in sd_id for c in '= ]"'):
            raise ValueError(f"structured data id must be 1..32 printable ASCII characters, no '= ]\"': {sd_id!r}")
        self.sd_id = sd_id
        self.log_id = log_id

    def message(self, line: bytes) -> bytes:
        """The RFC 5424 message for one record line (no newline)."""
        record = json.loads(line)
        outcome = record["outcome"]
        pri = FACILITY_LOG_AUDIT * 8 + SEVERITY.get(outcome, 4)
        sd = (
            f'[{self.sd_id} log="{self.log_id}" seq="{record["seq"]}" hash="{record["hash"]}" '
            f'prev="{record["prev_hash"]}" outcome="{sd_escape(outcome)}" actor="{sd_escape(record["actor"])}" '
            f'object="{sd_escape(record["object"])}"]'
        )
        head = f"<{pri}>1 {record['time']} {self.hostname} {self.app_name} - {record['action']} {sd} "
        return head.encode("utf-8") + line

    def frame(self, line: bytes) -> bytes:
        """The message with its RFC 5425 octet count: ``LEN SP SYSLOG-MSG``."""
        msg = self.message(line)
        return b"%d %s" % (len(msg), msg)
