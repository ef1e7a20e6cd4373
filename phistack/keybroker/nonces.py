"""Nonces the broker issues: 32 random bytes, single use, short-lived.

A key request must carry a nonce this broker issued, not yet used and not expired; the evidence
must be bound to it (the GPU report was requested with it, NRAS tokens carry it as ``eat_nonce``).
"""

from __future__ import annotations

import collections
import datetime as dt
import secrets
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

NONCE_SIZE = 32
MAX_OUTSTANDING = 10_000
# Spent nonces (used, expired, withdrawn) remembered with the reason, so a late request hears why;
# bounded (a few MB), the oldest forgotten first.
_REMEMBERED = 4 * MAX_OUTSTANDING

NonceSource = Callable[[], bytes]


class NonceRefused(Exception):
    """The presented nonce is unknown, already used or expired; the message says which."""


class UnsafeNonceWarning(UserWarning):
    """A predictable nonce source is in use: evidence can be replayed. Tests only."""


def random_nonce() -> bytes:
    """A fresh 32-byte nonce from the operating system's CSPRNG."""
    return secrets.token_bytes(NONCE_SIZE)


class UnsafeFixedNonceSource:
    """Issues one fixed nonce every time — for tests with recorded evidence only.

    NVIDIA's recorded reports are bound to fixed nonces; pinning the broker's nonce to one of them
    lets the real report verify end to end on a machine without a GPU. Anyone holding such a
    report could then obtain keys, so this warns whenever it is created.
    """

    def __init__(self, nonce: bytes) -> None:
        if len(nonce) != NONCE_SIZE:
            raise ValueError(f"nonce must be {NONCE_SIZE} bytes")
        warnings.warn(
            "key broker nonces are pinned to a fixed value: recorded evidence can be replayed "
            "(test mode, never for real keys)",
            UnsafeNonceWarning,
            stacklevel=2,
        )
        self.nonce = bytes(nonce)

    def __call__(self) -> bytes:
        return self.nonce


@dataclass(frozen=True)
class IssuedNonce:
    nonce: bytes
    expires_at: dt.datetime


class NonceRateLimited(NonceRefused):
    """This client asked for nonces faster than its share allows; ``retry_after_s`` says when to retry."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class NonceLimits:
    """Bounds on issuance, so that one client cannot exhaust the table for everyone else."""

    max_outstanding: int = MAX_OUTSTANDING
    """Nonces outstanding at once, all clients together."""
    max_per_client: int = 64
    """Nonces outstanding at once for one client address."""
    rate_per_s: float = 2.0
    """Sustained issuance per client address (token bucket refill)."""
    burst: int = 20
    """Nonces one client address may take at once before the rate applies."""
    max_clients: int = 50_000
    """Client addresses whose bucket is remembered (least recently seen forgotten first)."""


@dataclass
class _Bucket:
    tokens: float
    at: float


class NonceStore:
    """Outstanding nonces with their expiry; thread-safe; bounded overall and per client.

    Fairness: each client address has a token bucket (``rate_per_s``, ``burst``) and a cap on its
    outstanding nonces (``max_per_client``). When the table is full anyway (many addresses), the
    oldest nonce of the client holding the most is withdrawn, so a client holding few always gets
    one. Nonces that expire, are withdrawn or used are remembered (bounded) with that reason, so a
    late request is told why instead of "not issued by this broker".
    """

    def __init__(
        self, *, ttl_s: float = 60.0, source: NonceSource = random_nonce, limits: NonceLimits | None = None
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("nonce TTL must be positive")
        self.ttl = dt.timedelta(seconds=ttl_s)
        self.limits = limits or NonceLimits()
        self._source = source
        self._outstanding: dict[bytes, tuple[dt.datetime, str]] = {}  # insertion order = expiry order
        self._per_client: collections.Counter[str] = collections.Counter()
        self._buckets: collections.OrderedDict[str, _Bucket] = collections.OrderedDict()
        self._spent: collections.OrderedDict[bytes, str] = collections.OrderedDict()  # nonce -> why unusable
        self._lock = threading.Lock()

    def issue(self, *, at_time: dt.datetime, client: str = "-") -> IssuedNonce:
        """Issue a nonce to ``client`` (its address) valid until ``at_time + ttl``.

        Raises :class:`NonceRateLimited` when this client is over its rate or its share.
        """
        expires = at_time + self.ttl
        with self._lock:
            self._purge(at_time)
            self._take_token(client, time.monotonic())
            if self._per_client[client] >= self.limits.max_per_client:
                raise NonceRateLimited(
                    f"this client holds {self.limits.max_per_client} unused nonces; use or let them expire",
                    self.ttl.total_seconds(),
                )
            if len(self._outstanding) >= self.limits.max_outstanding:
                self._withdraw_from_largest(at_time)
            nonce = self._source()
            if len(nonce) != NONCE_SIZE:
                raise ValueError(f"nonce source returned {len(nonce)} bytes, {NONCE_SIZE} expected")
            self._forget_outstanding(nonce)  # a pinned source reissues the same value
            self._outstanding[nonce] = (expires, client)
            self._per_client[client] += 1
            self._spent.pop(nonce, None)
        return IssuedNonce(nonce, expires)

    def consume(self, nonce: bytes, *, at_time: dt.datetime) -> None:
        """Accept ``nonce`` once; raise NonceRefused naming why it cannot be used."""
        with self._lock:
            entry = self._forget_outstanding(nonce)
            if entry is None:
                reason = self._spent.get(nonce)
                if reason is not None:
                    raise NonceRefused(reason)
                raise NonceRefused("nonce was not issued by this broker (or expired long ago)")
            expires = entry[0]
            if at_time > expires:
                self._remember(nonce, f"nonce expired at {expires.isoformat()}")
                raise NonceRefused(f"nonce expired at {expires.isoformat()}")
            self._remember(nonce, "nonce already used (replay)")

    def outstanding(self, client: str | None = None) -> int:
        """Nonces outstanding, for one client or all."""
        with self._lock:
            return len(self._outstanding) if client is None else self._per_client[client]

    # -- internals (lock held) -----------------------------------------------------------------------
    def _take_token(self, client: str, now: float) -> None:
        limits = self.limits
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(float(limits.burst), now)
            while len(self._buckets) > limits.max_clients:
                self._buckets.popitem(last=False)
        else:
            bucket.tokens = min(float(limits.burst), bucket.tokens + (now - bucket.at) * limits.rate_per_s)
            bucket.at = now
            self._buckets.move_to_end(client)
        if bucket.tokens < 1.0:
            wait = max((1.0 - bucket.tokens) / limits.rate_per_s, 0.1)
            raise NonceRateLimited(f"too many nonce requests from this client; retry in {wait:.1f} s", wait)
        bucket.tokens -= 1.0

    def _forget_outstanding(self, nonce: bytes) -> tuple[dt.datetime, str] | None:
        entry = self._outstanding.pop(nonce, None)
        if entry is not None:
            client = entry[1]
            self._per_client[client] -= 1
            if self._per_client[client] <= 0:
                del self._per_client[client]
        return entry

    def _withdraw_from_largest(self, at_time: dt.datetime) -> None:
        largest = self._per_client.most_common(1)[0][0]
        victim = next(n for n, (_, client) in self._outstanding.items() if client == largest)
        self._forget_outstanding(victim)
        self._remember(victim, f"nonce withdrawn at {at_time.isoformat()}: the nonce table was full")

    def _remember(self, nonce: bytes, reason: str) -> None:
        self._spent[nonce] = reason
        self._spent.move_to_end(nonce)
        while len(self._spent) > _REMEMBERED:
            self._spent.popitem(last=False)

    def _purge(self, at_time: dt.datetime) -> None:
        while self._outstanding:
            nonce, (expires, _) = next(iter(self._outstanding.items()))
            if expires >= at_time:
                break
            self._forget_outstanding(nonce)
            self._remember(nonce, f"nonce expired at {expires.isoformat()}")
