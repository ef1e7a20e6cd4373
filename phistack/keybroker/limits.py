"""The broker's HTTP limits, and reading a request body within them.

Every bound a client could otherwise stretch is here: connections (all and per address), time to
finish the TLS handshake, the request headers, the body, and time idle between requests; sizes of
the path, headers and body; JSON nesting. Defaults are in :class:`HttpLimits` and
docs/ATTESTATION.md; the configuration file's ``limits:`` section overrides them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.message import Message
from typing import Any

from phistack.keybroker.service import Refusal

MAX_REQUEST_LINE = 65_536  # read at most this much of a request line (414 beyond)
_LENGTH_RE = re.compile(r"^[0-9]{1,12}$")


@dataclass(frozen=True)
class HttpLimits:
    """Bounds on connections and requests."""

    max_connections: int = 128
    """Connections served at once (one worker thread each); more are closed at once."""
    max_connections_per_client: int = 16
    """Connections served at once for one client address."""
    handshake_timeout_s: float = 10.0
    """Time to complete the TLS handshake."""
    header_timeout_s: float = 10.0
    """Time from a request's first byte to the end of its headers."""
    body_timeout_s: float = 30.0
    """Time to receive the body once the headers are in."""
    idle_timeout_s: float = 15.0
    """Time a kept-alive connection may wait for its next request."""
    max_path_chars: int = 1024
    """Request target (path and query) length; longer is refused with 414."""
    max_header_bytes: int = 16_384
    """Header lines together, after the request line; more is refused with 431."""
    max_body_bytes: int = 1 << 20
    """Declared body length; more is refused with 413 without reading it."""
    max_json_depth: int = 32
    """Nesting of arrays and objects in a body; deeper is refused with 400."""


def content_length(headers: Message, limit: int) -> int:
    """The body length a request declares: one plain decimal Content-Length, no transfer coding."""
    if headers.get("Transfer-Encoding") is not None:
        raise Refusal(411, "transfer codings are not accepted: send a Content-Length", code="bad-length")
    values = headers.get_all("Content-Length") or []
    if len(values) > 1:
        raise Refusal(400, "more than one Content-Length", code="bad-length")
    value = values[0].strip() if values else "0"
    if not _LENGTH_RE.match(value):  # int() would take "+5", " 5" and "5_0"
        raise Refusal(400, "bad Content-Length", code="bad-length")
    length = int(value)
    if length > limit:
        raise Refusal(413, f"request body larger than {limit} bytes", code="body-too-large")
    return length


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):  # which value counts would depend on the parser: refuse
        raise ValueError("duplicate key in an object")
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _deeper_than(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_json_body(raw: bytes, max_depth: int) -> Any:
    """The JSON value of a body, or Refusal 400 naming what is wrong (never another exception)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "request body is not UTF-8", code="bad-utf8") from None
    too_deep = Refusal(400, f"request body nests deeper than {max_depth} levels", code="bad-json-depth")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except RecursionError:
        raise too_deep from None
    except json.JSONDecodeError as err:
        raise Refusal(400, f"request body is not JSON: {err.msg} at character {err.pos}", code="bad-json") from None
    except ValueError as err:  # duplicate keys, NaN, integers too long to convert
        raise Refusal(400, f"request body is not acceptable JSON: {err}", code="bad-json") from None
    if _deeper_than(value, max_depth):
        raise too_deep
    return value
