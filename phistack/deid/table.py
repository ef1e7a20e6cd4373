"""De-identify structured extracts (CSV tables and FHIR R4 Bundles) under HIPAA Safe Harbor into a directory.

Input names may themselves be PHI (a patient's name in a file name), so outputs are named by type and order
(``table-0001.csv``, ``bundle-0001.json``) and each input is known by the SHA-256 of the bytes actually read.
Every input is de-identified or the run stops with the file and the row, column or entry that failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from phistack.deid.csvtable import deidentify_csv
from phistack.deid.fhir import BundleDeidentifier, deidentify_bundle
from phistack.deid.pseudonym import Pseudonymizer
from phistack.deid.table_schema import TableSchema
from phistack.deid.values import Transforms
from runtime.deid.manifest import file_sha256
from runtime.errors import InputError

KINDS = {".csv": ("table", "csv"), ".json": ("bundle", "json")}  # input suffix → (output stem, suffix)


@dataclass(frozen=True)
class Dataset:
    """What a run wrote: manifest outputs (path, sha256, input_sha256) and counts of what was done."""

    outputs: list[dict[str, Any]]
    counts: dict[str, int]


class _HashingReader(io.RawIOBase):
    """A raw reader that hashes every byte read, so the digest names exactly what was de-identified."""

    def __init__(self, raw: io.BufferedReader) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)
        self.sha256.update(memoryview(buffer)[:count])
        return count


@contextmanager
def _read_text(path: Path) -> Iterator[tuple[TextIO, _HashingReader]]:
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror or err}") from None
    hashing = _HashingReader(raw)
    text = io.TextIOWrapper(io.BufferedReader(hashing), encoding="utf-8-sig", newline="")
    try:
        yield text, hashing
        text.read()  # whatever a reader left: the digest covers the whole file
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror or err}") from None
    finally:
        raw.close()


def output_kind(path: Path) -> tuple[str, str]:
    """(output stem, suffix) of an input by its suffix; anything else is refused."""
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{path}: not a CSV table (.csv) or a FHIR Bundle (.json)")
    return kind


def deidentify_files(
    inputs: Sequence[Path], directory: Path, schema: TableSchema, pseudonymizer: Pseudonymizer, today: dt.date
) -> Dataset:
    """De-identify ``inputs`` into ``directory`` (which must be empty); stop at the first input that fails."""
    transforms = Transforms(pseudonymizer, shift_dates=schema.dates == "shift", today=today)
    walker = BundleDeidentifier(schema, transforms)
    numbers: Counter[str] = Counter()
    outputs = []
    for path in inputs:
        stem, suffix = output_kind(path)
        if suffix == "csv" and not schema.columns:
            raise InputError(f"{path}: the schema declares no columns for CSV tables")
        if suffix == "json" and not schema.fhir:
            raise InputError(f"{path}: the schema declares no fhir elements for FHIR Bundles")
        numbers[stem] += 1
        name = f"{stem}-{numbers[stem]:04d}.{suffix}"
        target = directory / name
        with _read_text(path) as (source, hashing), open(target, "w", encoding="utf-8", newline="") as sink:
            if suffix == "csv":
                transforms.counts["rows"] += deidentify_csv(source, sink, schema, transforms, str(path))
            else:
                transforms.counts["entries"] += deidentify_bundle(source, sink, walker, str(path))
        outputs.append({"path": name, "sha256": file_sha256(target), "input_sha256": hashing.sha256.hexdigest()})
    counts = {f"files.{stem}": number for stem, number in numbers.items()}
    return Dataset(outputs, {**counts, **{key: value for key, value in transforms.counts.items() if value}})
