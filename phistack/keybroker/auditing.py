"""Audit records for refusals and nonce issuance: bounded in size, aggregated per burst.

Anonymous clients can cause refusals as fast as they can send requests, so these events are not
written one record each. Every (client address, action, code) is a *burst*: its first event is
written at once; later ones within ``window_s`` are only counted, and when the window ends one
record carries their number (``count``), the first and last times and the first one's details. A
burst that goes on yields one record per window; summing ``count`` over a burst's records gives
every event. At most ``max_bursts`` bursts are tracked at once; beyond that, events are counted
per (action, code) under client ``*``. String values are cut to ``FIELD_CHARS`` characters (with
the SHA-256 of the full value), so no record is large whatever the client sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from runtime.audit.record import cut_text, cut_values

FIELD_CHARS = 256
log = logging.getLogger("phistack.keybroker")


class AuditSink(Protocol):
    """What the broker needs of :class:`runtime.audit.AuditLog`."""

    def append(
        self, actor: str, action: str, object: str, outcome: str, details: dict[str, Any] | None = None
    ) -> Any: ...


def bounded(details: dict[str, Any]) -> dict[str, Any]:
    """``details`` with every string cut to :data:`FIELD_CHARS` characters."""
    result: dict[str, Any] = cut_values(details, FIELD_CHARS)
    return result


def bounded_name(value: str) -> str:
    """An object or path for a record, cut to :data:`FIELD_CHARS` characters."""
    return cut_text(value, FIELD_CHARS)


def _stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class _Burst:
    started: float
    obj: str
    outcome: str
    details: dict[str, Any] | None = None  # the first counted event's details
    count: int = 0
    first_at: str = ""
    last_at: str = ""


class AggregatingAuditor:
    """Writes events to ``sink`` as bursts (see the module docstring); thread-safe."""

    def __init__(
        self,
        sink: AuditSink,
        actor: str,
        *,
        window_s: float = 10.0,
        max_bursts: int = 1024,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.sink = sink
        self.actor = actor
        self.window_s = window_s
        self.max_bursts = max_bursts
        self._clock = clock
        self._wall = wall
        self._bursts: dict[tuple[str, str, str], _Burst] = {}
        self._next_due = float("inf")
        self._lock = threading.Lock()

    def event(self, action: str, obj: str, outcome: str, details: dict[str, Any], *, client: str, code: str) -> None:
        """Record one event: written now if it opens a burst, else counted into the burst's record."""
        now = self._clock()
        key = (client, action, code)
        with self._lock:
            burst = self._bursts.get(key)
            if burst is None and len(self._bursts) >= self.max_bursts:
                key = ("*", action, code)  # too many clients at once: aggregate them together
                burst = self._bursts.get(key)
            if burst is not None:
                burst.count += 1
                burst.last_at = _stamp(self._wall())
                if burst.details is None:
                    burst.first_at, burst.details, burst.obj = burst.last_at, bounded(details), bounded_name(obj)
                return
            self._bursts[key] = _Burst(now, bounded_name(obj), outcome)
            self._next_due = min(self._next_due, now + self.window_s)
        self._write(
            action, bounded_name(obj), outcome, {**bounded(details), "client": client, "code": code, "count": 1}
        )

    def tick(self) -> None:
        """Write the record of every burst whose window has ended (cheap when none has)."""
        if self._clock() >= self._next_due:
            self._flush(everything=False)

    def close(self) -> None:
        """Write every pending count (at shutdown)."""
        self._flush(everything=True)

    def _flush(self, *, everything: bool) -> None:
        now = self._clock()
        due: list[tuple[tuple[str, str, str], _Burst]] = []
        with self._lock:
            for key, burst in list(self._bursts.items()):
                if everything or now >= burst.started + self.window_s:
                    del self._bursts[key]
                    if burst.count:
                        due.append((key, burst))
                        if not everything:  # a burst still going on: keep counting in a new window
                            self._bursts[key] = _Burst(now, burst.obj, burst.outcome)
            starts = [burst.started for burst in self._bursts.values()]
            self._next_due = min(starts) + self.window_s if starts else float("inf")
        for (client, action, code), burst in due:
            details = {
                **(burst.details or {}),
                "client": client,
                "code": code,
                "count": burst.count,
                "first_at": burst.first_at,
                "last_at": burst.last_at,
                "window_s": self.window_s,
            }
            self._write(action, burst.obj, burst.outcome, details)

    def _write(self, action: str, obj: str, outcome: str, details: dict[str, Any]) -> None:
        try:
            self.sink.append(self.actor, action, obj, outcome, details)
        except Exception as err:  # a refusal stands without its record; nothing was released
            log.warning("audit record %s not written: %s", action, err)
