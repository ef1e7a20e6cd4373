"""Nonces the broker issues: 32 random bytes, single use, short-lived.

A key request must carry a nonce this broker issued, not yet used and not expired; the evidence
must be bound to it (the GPU report was requested with it, NRAS tokens carry it as ``eat_nonce``).
"""

from __future__ import annotations

import collections
import datetime as dt
import secrets
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass

NONCE_SIZE = 32
MAX_OUTSTANDING = 10_000
_REMEMBERED_USED = 10_000

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


class NonceStore:
    """Outstanding nonces with their expiry; thread-safe; bounded."""

    def __init__(self, *, ttl_s: float = 60.0, source: NonceSource = random_nonce) -> None:
        if ttl_s <= 0:
            raise ValueError("nonce TTL must be positive")
        self.ttl = dt.timedelta(seconds=ttl_s)
        self._source = source
        self._outstanding: dict[bytes, dt.datetime] = {}
        self._used: collections.OrderedDict[bytes, None] = collections.OrderedDict()
        self._lock = threading.Lock()

    def issue(self, *, at_time: dt.datetime) -> IssuedNonce:
        """Issue a nonce valid until ``at_time + ttl``."""
        nonce = self._source()
        if len(nonce) != NONCE_SIZE:
            raise ValueError(f"nonce source returned {len(nonce)} bytes, {NONCE_SIZE} expected")
        expires = at_time + self.ttl
        with self._lock:
            self._purge(at_time)
            if len(self._outstanding) >= MAX_OUTSTANDING:
                raise NonceRefused("too many outstanding nonces; try again shortly")
            self._outstanding[nonce] = expires
            self._used.pop(nonce, None)
        return IssuedNonce(nonce, expires)

    def consume(self, nonce: bytes, *, at_time: dt.datetime) -> None:
        """Accept ``nonce`` once; raise NonceRefused naming why it cannot be used."""
        with self._lock:
            expires = self._outstanding.pop(nonce, None)
            if expires is None:
                if nonce in self._used:
                    raise NonceRefused("nonce already used (replay)")
                raise NonceRefused("nonce was not issued by this broker")
            self._remember_used(nonce)
            if at_time > expires:
                raise NonceRefused(f"nonce expired at {expires.isoformat()}")

    def _remember_used(self, nonce: bytes) -> None:
        self._used[nonce] = None
        while len(self._used) > _REMEMBERED_USED:
            self._used.popitem(last=False)

    def _purge(self, at_time: dt.datetime) -> None:
        for nonce in [n for n, expires in self._outstanding.items() if expires < at_time]:
            del self._outstanding[nonce]
