"""Which keys may sign which checkpoints: pinned by the verifier, or named by the log itself.

A log names its checkpoint key in the genesis record and each later key in an
``audit.checkpoint.key`` record written when the log is reopened with it. A key named at record
``s`` may sign trees that include that record (sizes ``s + 1`` and up) until the next key is named at
record ``t`` (sizes up to ``t``: the old writer's last checkpoint covers everything before the
reopen). Keys the log names show consistency only: whoever rewrites the log can name their own.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from runtime.audit.chain import key_announcements
from runtime.audit.record import AuditRecord
from runtime.ed25519 import KEY_ID_PREFIX, key_id, public_from_raw
from runtime.errors import InputError, VerificationError

LEGACY_ID_LENGTH = 16  # older checkpoints name their key by 16 hex digits of its SHA-256, without "sha256:"


@dataclass
class KeyTrust:
    """Trusted keys by key id, each with the ranges of tree sizes it may sign."""

    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    ranges: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def add(self, key: Ed25519PublicKey, first: int = 0, last: int = sys.maxsize) -> None:
        """Trust ``key`` for tree sizes ``first`` to ``last`` (inclusive)."""
        name = key_id(key)
        self.keys[name] = key
        self.ranges.setdefault(name, []).append((first, last))

    def signer(self, name: str, tree_size: int) -> Ed25519PublicKey | None:
        """The key named ``name`` if it may sign a tree of ``tree_size`` records, else None."""
        name = self._current_id(name)
        if any(first <= tree_size <= last for first, last in self.ranges.get(name, ())):
            return self.keys[name]
        return None

    def _current_id(self, name: str) -> str:
        """Checkpoints written before key ids were ``sha256:<64 hex>`` name their key by the first 16 hex
        digits of that hash: such a name means the trusted key whose id starts so. The signature is still
        checked under that key, so the shorter name grants nothing."""
        if len(name) == LEGACY_ID_LENGTH and all(c in "0123456789abcdef" for c in name):
            for current in self.keys:
                if current.startswith(KEY_ID_PREFIX + name):
                    return current
        return name

    def names(self) -> str:
        """The trusted key ids, for messages."""
        return ", ".join(sorted(self.keys))


def pinned_keys(public_key: Ed25519PublicKey | Sequence[Ed25519PublicKey]) -> KeyTrust:
    """Keys the verifier pins: trusted for any tree size."""
    trust = KeyTrust()
    for key in [public_key] if isinstance(public_key, Ed25519PublicKey) else public_key:
        trust.add(key)
    return trust


def keys_in_log(path: Path, genesis: AuditRecord) -> KeyTrust:
    """The keys the (walked) log names, each for the tree sizes it may sign."""
    named: list[tuple[int, object]] = []
    if genesis.details.get("checkpoint_key") is not None:
        named.append((0, genesis.details["checkpoint_key"]))
    named.extend(key_announcements(path))
    trust = KeyTrust()
    for position, (seq, raw) in enumerate(named):
        try:
            key = public_from_raw(bytes.fromhex(raw)) if isinstance(raw, str) else None
        except (ValueError, InputError):
            key = None
        if key is None:
            raise VerificationError(f"record {seq} holds an unusable checkpoint key ({path}:{seq + 1})")
        until = named[position + 1][0] if position + 1 < len(named) else sys.maxsize
        trust.add(key, seq + 1, until)
    return trust
