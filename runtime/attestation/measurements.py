"""Comparing a report's measurement blocks with reference ("golden") values held locally.

NVIDIA publishes golden measurements in signed RIMs served online; offline, the operator supplies
the values to accept as a JSON file::

    {"measurements": {"1": ["<hex digest>", ...], "2": [...]}}

Every measured index must be listed and match one of its alternatives; otherwise the result is
``fail`` with the indexes that did not match. Without reference values the result is
``not-verified`` — which the appraisal policy denies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtime.attestation.spdm import SpdmReport
from runtime.errors import InputError


@dataclass(frozen=True)
class MeasurementResult:
    """``status`` is ``success``, ``fail`` or ``not-verified``; ``mismatched`` lists failing indexes."""

    status: str
    mismatched: tuple[int, ...] = ()


@dataclass(frozen=True)
class ReferenceMeasurements:
    """Accepted digests per measurement index."""

    values: Mapping[int, frozenset[bytes]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ReferenceMeasurements:
        """Read the JSON file described in the module docstring; malformed input is an InputError."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            entries = document["measurements"]
            values = {
                int(index): frozenset(bytes.fromhex(digest) for digest in digests) for index, digests in entries.items()
            }
        except OSError as err:
            raise InputError(f"{path}: cannot read reference measurements: {err.strerror or err}") from err
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise InputError(f"{path}: malformed reference measurements: {err!r}") from err
        return cls(values)

    @classmethod
    def from_report(cls, report: SpdmReport) -> ReferenceMeasurements:
        """Take a known-good report's measurements as the reference (for enrolment and tests)."""
        return cls({block.index: frozenset({block.value}) for block in report.measurements})

    def to_json(self) -> str:
        """Serialise in the file format :meth:`load` reads."""
        entries = {str(i): sorted(d.hex() for d in digests) for i, digests in sorted(self.values.items())}
        return json.dumps({"measurements": entries}, indent=2) + "\n"

    def compare(self, report: SpdmReport) -> MeasurementResult:
        """Check every measurement block of ``report`` against the reference values."""
        if not self.values:
            return MeasurementResult("not-verified")
        mismatched = tuple(
            block.index for block in report.measurements if block.value not in self.values.get(block.index, frozenset())
        )
        return MeasurementResult("fail" if mismatched else "success", mismatched)
