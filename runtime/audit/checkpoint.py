"""Signed checkpoints: an Ed25519 signature over (log id, tree size, RFC 6962 root, time).

A checkpoint file holds one JSON object per line::

    {"format":"phistack.audit.checkpoint/v1","log_id":"...","tree_size":N,"root_hash":"<hex>",
     "time":"<RFC 3339>","key_id":"sha256:<hex>","signature":"<base64>"}

The signature covers the UTF-8 text :func:`signed_message` builds, one field per line, so it is
unambiguous and independent of JSON formatting.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from runtime.ed25519 import key_id
from runtime.errors import InputError

CHECKPOINT_FORMAT = "phistack.audit.checkpoint/v1"


def signed_message(log_id: str, tree_size: int, root_hash: str, time: str) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return f"{CHECKPOINT_FORMAT}\n{log_id}\n{tree_size}\n{root_hash}\n{time}\n".encode()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the log ``log_id`` had ``tree_size`` records with this Merkle root."""

    log_id: str
    tree_size: int
    root_hash: str
    time: str
    key_id: str
    signature: str

    @classmethod
    def sign(cls, key: Ed25519PrivateKey, log_id: str, tree_size: int, root_hash: str, time: str) -> Checkpoint:
        """Sign a new checkpoint."""
        sig = key.sign(signed_message(log_id, tree_size, root_hash, time))
        return cls(log_id, tree_size, root_hash, time, key_id(key.public_key()), base64.b64encode(sig).decode())

    def verify_signature(self, key: Ed25519PublicKey) -> bool:
        """True when the signature verifies under ``key`` (callers turn False into a precise error)."""
        try:
            sig = base64.b64decode(self.signature, validate=True)
            key.verify(sig, signed_message(self.log_id, self.tree_size, self.root_hash, self.time))
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True

    def to_json(self) -> dict[str, object]:
        """The checkpoint as a JSON object: a line of a checkpoint file, and the details of the
        ``audit.checkpoint`` record that enters it into the chain."""
        return {
            "format": CHECKPOINT_FORMAT,
            "log_id": self.log_id,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "time": self.time,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    def to_line(self) -> bytes:
        """The checkpoint as one JSON line with its newline."""
        return json.dumps(self.to_json(), separators=(",", ":")).encode() + b"\n"

    @classmethod
    def from_json(cls, obj: object, where: str) -> Checkpoint:
        """Parse one decoded checkpoint object; ``where`` names it in errors."""
        if not isinstance(obj, dict) or obj.get("format") != CHECKPOINT_FORMAT:
            raise InputError(f"{where}: not a {CHECKPOINT_FORMAT} checkpoint")
        try:
            cp = cls(
                log_id=str(obj["log_id"]),
                tree_size=int(obj["tree_size"]),
                root_hash=str(obj["root_hash"]),
                time=str(obj["time"]),
                key_id=str(obj["key_id"]),
                signature=str(obj["signature"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"{where}: checkpoint lacks a field or has a wrong type: {err}") from err
        if cp.tree_size < 0:
            raise InputError(f"{where}: negative tree_size")
        return cp


def read_checkpoints(path: str | os.PathLike[str]) -> list[Checkpoint]:
    """Read every checkpoint of a file (JSON lines; a file holding one JSON object also works)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else err
        raise InputError(f"cannot read checkpoints: {reason} ({path})") from err
    if text.lstrip().startswith("{"):
        try:
            single = json.loads(text)
        except ValueError:
            single = None  # not one document: read it as JSON lines
        if isinstance(single, dict):
            return [Checkpoint.from_json(single, str(path))]
    checkpoints = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except ValueError as err:
            raise InputError(f"{where}: malformed checkpoint JSON: {err}") from err
        checkpoints.append(Checkpoint.from_json(obj, where))
    if not checkpoints:
        raise InputError(f"{path}: no checkpoints in file")
    return checkpoints
