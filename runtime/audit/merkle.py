"""RFC 6962 Merkle tree hashing: leaves prefixed 0x00, interior nodes 0x01.

:class:`CompactTree` keeps only the roots of the perfect subtrees along the right edge (at most
log2(n) hashes), so the log can produce the root of all its records at any time in O(log n) memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 6962: MTH({}) = SHA-256()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves, by the recursive definition of RFC 6962 section 2.1 (reference)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = 1 << ((n - 1).bit_length() - 1)  # the largest power of two smaller than n
    return node_hash(root_from_leaves(leaves[:k]), root_from_leaves(leaves[k:]))


class CompactTree:
    """An append-only Merkle tree that remembers only its right-edge subtree roots."""

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []  # roots of perfect subtrees, largest first

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash (already ``SHA-256(0x00 || data)``)."""
        stack = self._stack
        stack.append(leaf)
        size = self.size
        # Each trailing 1 bit of the old size is a subtree of equal height to merge with.
        while size & 1:
            right = stack.pop()
            stack[-1] = hashlib.sha256(NODE_PREFIX + stack[-1] + right).digest()
            size >>= 1
        self.size += 1

    def root(self) -> bytes:
        """The RFC 6962 root of every leaf appended so far."""
        if not self._stack:
            return EMPTY_ROOT
        # Subtrees are combined right to left: RFC 6962 splits at the largest power of two.
        root = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            root = node_hash(left, root)
        return root
