"""The schema of a structured extract: what each CSV column and FHIR element is, and what Safe Harbor does to it.

A YAML file (docs/DEIDENTIFICATION.md, "Structured extracts")::

    dates: year                 # year (keep only the year) | shift (per patient, keyed)
    patient: patient_id         # the CSV column naming the patient (needed by dates: shift)
    undeclared: refuse          # a FHIR element the schema does not declare: refuse | drop
    columns:                    # every CSV column, no more and no fewer
      patient_id: {action: pseudonymize, kind: Patient}
      name: {action: drop, identifier: A}
      birth_date: {action: date, format: MM/DD/YYYY, birth: true}
      zip: zip
    fhir:                       # per resource type (or * for any) and element path
      Patient.name: drop
      Patient.birthDate: date
      "*.text": drop

A rule is an action name or a mapping with ``action`` and its options. Free text is never certified by rules:
a ``free_text`` rule is refused, with the reason, when the schema is read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from runtime.configfile import line_of, load_yaml_nodes, validate
from runtime.errors import InputError

Action = Literal["keep", "drop", "pseudonymize", "date", "age", "zip", "reference", "free_text"]
Letter = Literal["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R"]

DATE_FORMATS: dict[str, str | None] = {
    "iso": None,  # YYYY, YYYY-MM, YYYY-MM-DD, or an ISO 8601 date-time (FHIR date, dateTime, instant)
    "MM/DD/YYYY": "%m/%d/%Y",
    "DD/MM/YYYY": "%d/%m/%Y",
    "DD.MM.YYYY": "%d.%m.%Y",
    "YYYYMMDD": "%Y%m%d",
}

FREE_TEXT = (
    "free text is not certified by Safe Harbor rules (names, dates and numbers hide anywhere in it): declare it "
    "drop; releasing free text needs an Expert Determination, which this command does not make"
)

# Which Safe Harbor identifier an action handles when the rule does not say (45 CFR 164.514(b)(2)(i)).
DEFAULT_IDENTIFIER: dict[str, Letter] = {"date": "C", "age": "C", "zip": "B"}

_FHIR_PATH = re.compile(r"^(\*|[A-Z][A-Za-z]*)(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_ENGINE_ELEMENTS = ("id", "resourceType")  # every resource's id is pseudonymized, its type kept


class Rule(BaseModel):
    """What to do with one column or element."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    kind: str | None = Field(default=None, min_length=1)
    """pseudonymize: the identifier's domain (same kind and value → same token, across files and runs)."""
    format: str = "iso"
    """date: how the values are written (a key of DATE_FORMATS)."""
    birth: bool = False
    """date: a date of birth; years that put the person at 90 or older become the "90+" category."""
    identifier: Letter | None = None
    """The Safe Harbor identifier (A)-(R) the field carries, for the manifest."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"action": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.action == "free_text":
            raise ValueError(FREE_TEXT)
        if self.identifier is not None and self.action == "keep":
            raise ValueError(f"identifier ({self.identifier}) cannot be kept under Safe Harbor: choose another action")
        if self.kind is not None and self.action != "pseudonymize":
            raise ValueError("kind applies only to action pseudonymize")
        if self.format not in DATE_FORMATS:
            raise ValueError(f"unknown date format {self.format!r}; one of {', '.join(DATE_FORMATS)}")
        if (self.format != "iso" or self.birth) and self.action != "date":
            raise ValueError("format and birth apply only to action date")
        return self

    def letter(self) -> Letter | None:
        """The identifier this rule handles: declared, else implied by the action."""
        return self.identifier or DEFAULT_IDENTIFIER.get(self.action)


class TableSchema(BaseModel):
    """A whole schema file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dates: Literal["year", "shift"] = "year"
    patient: str | None = Field(default=None, min_length=1)
    undeclared: Literal["refuse", "drop"] = "refuse"
    columns: dict[str, Rule] = Field(default_factory=dict)
    fhir: dict[str, Rule] = Field(default_factory=dict)

    @field_validator("columns")
    @classmethod
    def _csv_actions(cls, columns: dict[str, Rule]) -> dict[str, Rule]:
        for name, rule in columns.items():
            if rule.action == "reference":
                raise ValueError(f"{name}: action reference applies only to FHIR elements")
        return columns

    @field_validator("fhir")
    @classmethod
    def _fhir_paths(cls, elements: dict[str, Rule]) -> dict[str, Rule]:
        for path in elements:
            if not _FHIR_PATH.match(path):
                raise ValueError(f"{path!r} is not ResourceType.element[.element...] (or *.element)")
            if path.split(".", 1)[1] in _ENGINE_ELEMENTS:
                raise ValueError(f"{path}: ids are always pseudonymized and resource types kept; remove it")
        return elements


def _refuse(path: Path, root: Any, loc: tuple[str, ...], message: str) -> InputError:
    line = line_of(root, loc)
    return InputError(f"{path}:{line}: {'.'.join(loc) or '(top level)'}: {message}")


def load_schema(path: Path) -> TableSchema:
    """Read and check a schema file; every mistake is one line naming the file, line and key path."""
    document, root = load_yaml_nodes(path, "de-identification schema")
    schema = validate(TableSchema, document if document is not None else {}, path, root)
    if not schema.columns and not schema.fhir:
        raise InputError(f"{path}: the schema declares no columns and no fhir elements")
    if schema.patient is not None and schema.patient not in schema.columns:
        raise _refuse(path, root, ("patient",), f"column {schema.patient!r} is not declared under columns")
    if schema.dates == "shift" and schema.columns and schema.patient is None:
        raise _refuse(path, root, ("dates",), "dates: shift needs patient: the column naming each row's patient")
    return schema
