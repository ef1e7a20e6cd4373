"""De-identify one CSV file row by row under the schema's ``columns``.

Fail closed: the header must name exactly the declared columns (an undeclared column may hold anything, a
missing one means the schema describes another table), and a value that does not parse under its rule stops
the file with its row and column. Values are never quoted in errors.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, TextIO

from phistack.deid.table_schema import TableSchema
from phistack.deid.values import Transforms
from runtime.errors import InputError


def _rows(reader: Any, where: str) -> Iterator[list[str]]:
    try:
        yield from reader
    except csv.Error as err:
        raise InputError(f"{where}:{reader.line_num}: malformed CSV: {err}") from None


def _check_header(header: list[str], schema: TableSchema, where: str) -> None:
    seen: set[str] = set()
    for number, name in enumerate(header, 1):
        if name in seen:
            raise InputError(f"{where}: row 1, column {number} ({name!r}): the header names this column twice")
        seen.add(name)
        if name not in schema.columns:
            raise InputError(
                f"{where}: row 1, column {number} ({name!r}): column not declared in the schema; declare it "
                "(keep only if it cannot identify anyone) — undeclared columns are refused"
            )
    missing = [name for name in schema.columns if name not in seen]
    if missing:
        raise InputError(f"{where}: row 1: declared column {missing[0]!r} is missing from the header")


def deidentify_csv(source: TextIO, target: TextIO, schema: TableSchema, transforms: Transforms, where: str) -> int:
    """Write the de-identified rows of ``source`` to ``target``; the number of data rows. ``where`` names the
    input in errors."""
    reader = csv.reader(source, strict=True)
    rows = _rows(reader, where)
    header = next(rows, None)
    if not header:
        raise InputError(f"{where}: empty CSV file: a header row naming the columns is required")
    _check_header(header, schema, where)
    rules = [schema.columns[name] for name in header]
    kept = [i for i, rule in enumerate(rules) if rule.action != "drop"]
    patient_at = header.index(schema.patient) if schema.patient is not None else None
    writer = csv.writer(target, lineterminator="\n")
    writer.writerow([header[i] for i in kept])
    count = 0
    for count, row in enumerate(rows, 1):
        if len(row) != len(header):
            raise InputError(f"{where}: row {count + 1}: {len(row)} fields, the header has {len(header)}")
        patient = row[patient_at] if patient_at is not None else None
        out: list[str] = []
        for i, (name, rule, value) in enumerate(zip(header, rules, row, strict=True)):
            if rule.action == "drop":
                transforms.counts["values.dropped"] += bool(value)
                continue
            if not value.strip():
                out.append("")
                continue
            try:
                out.append(transforms.apply(rule, name, value, patient))
            except ValueError as err:
                raise InputError(f"{where}: row {count + 1}, column {i + 1} ({name!r}): {err}") from None
        assert len(out) == len(kept)
        writer.writerow(out)
    return count
