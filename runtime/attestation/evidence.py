"""Evidence: what the machine presents, and the result of trying to collect it.

``GpuEvidence`` travels in NRAS's wire shape (``evidence``: base64 of the raw SPDM report,
``certificate``: base64 of the PEM chain), so the same JSON goes to NRAS or to the key broker.
Collection never raises for an environment that simply is not confidential: it returns a
:class:`CollectionResult` with ``confidential`` false and a precise ``reason``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runtime.attestation.errors import AttestationError


@dataclass(frozen=True)
class GpuEvidence:
    """One GPU's attestation report (raw SPDM bytes) and its PEM certificate chain (leaf first)."""

    report: bytes
    cert_chain_pem: bytes
    arch: str = "HOPPER"
    uuid: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """NRAS ``evidence_list`` entry (plus ``arch``/``uuid`` for the broker's records)."""
        wire: dict[str, Any] = {
            "evidence": base64.b64encode(self.report).decode("ascii"),
            "certificate": base64.b64encode(self.cert_chain_pem).decode("ascii"),
            "arch": self.arch,
        }
        if self.uuid:
            wire["uuid"] = self.uuid
        return wire

    @classmethod
    def from_wire(cls, entry: Mapping[str, Any]) -> GpuEvidence:
        """Parse an ``evidence_list`` entry; malformed entries raise AttestationError."""
        if not isinstance(entry, Mapping):
            raise AttestationError("evidence entry is not an object")
        try:
            report = base64.b64decode(entry["evidence"], validate=True)
            chain = base64.b64decode(entry["certificate"], validate=True)
        except KeyError as err:
            raise AttestationError(f"evidence entry lacks {err.args[0]!r}") from None
        except (binascii.Error, ValueError, TypeError):
            raise AttestationError("evidence entry is not valid base64") from None
        arch = entry.get("arch", "HOPPER")
        uuid = entry.get("uuid")
        return cls(report, chain, str(arch), str(uuid) if uuid else None)


@dataclass(frozen=True)
class CpuTeeEvidence:
    """A CPU TEE report from configfs-tsm (``provider`` e.g. ``tdx_guest``, ``sev_guest``)."""

    provider: str
    report: bytes
    generation: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "report": base64.b64encode(self.report).decode("ascii"),
            "generation": self.generation,
        }


@dataclass(frozen=True)
class CollectionResult:
    """The outcome of evidence collection.

    ``confidential`` is true only when every GPU is in production CC mode and its report bound to
    ``nonce`` was read. Otherwise ``reason_code`` (stable, e.g. ``no-gpu``, ``cc-off``,
    ``cc-devtools``) and ``reason`` (for people) say why.
    """

    confidential: bool
    nonce: bytes
    reason_code: str = "ok"
    reason: str = "all GPUs are in confidential-computing mode and produced evidence"
    gpus: Sequence[GpuEvidence] = ()
    cc_state: Mapping[str, Any] = field(default_factory=dict)
    cpu_tee: CpuTeeEvidence | None = None
    cpu_tee_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (reports as base64)."""
        return {
            "confidential": self.confidential,
            "reason_code": self.reason_code,
            "reason": self.reason,
            "nonce": self.nonce.hex(),
            "cc_state": dict(self.cc_state),
            "gpus": [gpu.to_wire() for gpu in self.gpus],
            "cpu_tee": self.cpu_tee.to_dict() if self.cpu_tee else None,
            "cpu_tee_note": self.cpu_tee_note,
        }

    def require(self) -> Sequence[GpuEvidence]:
        """Return the GPU evidence, or raise AttestationError with the reason when not confidential."""
        if not self.confidential:
            raise AttestationError(f"machine is not confidential: {self.reason} ({self.reason_code})")
        return self.gpus


def evidence_list_to_wire(gpus: Sequence[GpuEvidence]) -> list[dict[str, Any]]:
    """Serialise several GPUs' evidence."""
    return [gpu.to_wire() for gpu in gpus]


def evidence_list_from_wire(entries: Any) -> list[GpuEvidence]:
    """Parse a non-empty ``evidence_list``."""
    if not isinstance(entries, list) or not entries:
        raise AttestationError("evidence_list is missing or empty")
    return [GpuEvidence.from_wire(entry) for entry in entries]
