"""DICOM PS3.15 Table E.1-1 as data: which action the Basic Application Level Confidentiality Profile, with a
chosen set of options, takes on each attribute.

The table lives in ``data/ps3.15-annex-e.json`` (one row per attribute: tag, name, the Basic Profile action and
the action of each option that changes it); this module validates it once and answers ``action(tag)``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.errors import InputError

DATA = Path(__file__).resolve().parent / "data"
TABLE = DATA / "ps3.15-annex-e.json"
SCHEMA = "phistack.deid-profile/v1"

BASIC_ACTIONS = frozenset({"D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"})
OPTION_ACTIONS = frozenset({"K", "C"})

SUPPORTED_OPTIONS: dict[str, tuple[str, str]] = {
    # option -> (CID 7050 code value, code meaning); 113100 is the Basic Profile itself
    "rtfd": ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    "rtmd": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "cd": ("113105", "Clean Descriptors Option"),
    "ru": ("113110", "Retain UIDs Option"),
    "rdi": ("113109", "Retain Device Identity Option"),
    "rii": ("113112", "Retain Institution Identity Option"),
    "rpc": ("113108", "Retain Patient Characteristics Option"),
    "rsp": ("113111", "Retain Safe Private Option"),
}
"""The options this implementation applies. The table also records Clean Graphics (cg) and Clean Structured
Content (csc); they are not offered: their attributes get the Basic Profile's action."""

BASIC_CODE = ("113100", "Basic Application Confidentiality Profile")
EXCLUSIVE = (frozenset({"rtfd", "rtmd"}),)
"""Options that contradict each other (keep the dates, or shift them)."""


@dataclass(frozen=True)
class Row:
    """One attribute of Table E.1-1."""

    tag: str  # 8 upper-case hex digits; "X" marks a repeating-group wildcard (50XXXXXX, 60XX3000)
    name: str
    basic: str
    options: Mapping[str, str]


@dataclass(frozen=True)
class Profile:
    """The table, resolved for one option set: ``action(tag)`` is the single action to apply."""

    edition: str
    source: str
    options: tuple[str, ...]
    exact: Mapping[int, str]
    repeating: tuple[tuple[int, int, str], ...]  # (mask, value, action) for the 50xx/60xx wildcards
    private: str

    def action(self, tag: int) -> str | None:
        """The action for ``tag`` (a combined one such as ``X/Z`` as written in the table), None when the table
        does not list it; private tags (odd groups) answer the "Private Attributes" row."""
        if (tag >> 16) % 2:
            return self.private
        found = self.exact.get(tag)
        if found is not None:
            return found
        for mask, value, act in self.repeating:
            if tag & mask == value:
                return act
        return None

    def describe(self) -> dict[str, Any]:
        """The manifest's ``method`` fields of this profile."""
        return {"profile": "basic", "edition": self.edition, "options": list(self.options), "source": self.source}


def _problem(what: str) -> InputError:
    return InputError(f"{TABLE}: {what}")


def _row(raw: Any, known_options: set[str]) -> Row:
    if not isinstance(raw, dict) or not isinstance(raw.get("tag"), str) or not isinstance(raw.get("name"), str):
        raise _problem(f"each attribute needs a tag and a name: {raw!r}")
    tag = raw["tag"]
    if raw.get("basic") not in BASIC_ACTIONS:
        raise _problem(f"{tag}: unknown Basic Profile action {raw.get('basic')!r}")
    options = {key: raw[key] for key in known_options if key in raw}
    bad = {key: value for key, value in options.items() if value not in OPTION_ACTIONS}
    if bad:
        raise _problem(f"{tag}: unknown option action {bad}")
    if tag != "PRIVATE" and (len(tag) != 8 or not set(tag) <= set("0123456789ABCDEFX")):
        raise _problem(f"{tag}: a tag is 8 hex digits (X for a repeating group)")
    return Row(tag=tag, name=raw["name"], basic=raw["basic"], options=options)


@functools.cache
def rows() -> tuple[dict[str, Any], tuple[Row, ...]]:
    """The table's header fields and its rows, validated (read once per process)."""
    try:
        document = json.loads(TABLE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise _problem(f"cannot read the confidentiality profile table: {err}") from err
    if not isinstance(document, dict) or document.get("schema_version") != SCHEMA:
        raise _problem(f"not a {SCHEMA} document")
    header = {key: document.get(key) for key in ("edition", "source", "licence", "options")}
    if not all(isinstance(header[key], str) for key in ("edition", "source", "licence")):
        raise _problem("edition, source and licence are required")
    known = set(header["options"] or {})
    table = tuple(_row(raw, known) for raw in document.get("attributes") or [])
    tags = [row.tag for row in table]
    if len(set(tags)) != len(tags):
        raise _problem("an attribute is listed twice")
    return header, table


def _resolve(row: Row, chosen: tuple[str, ...]) -> str:
    """The option's action where a chosen option lists one (K, retaining, wins over C), else the Basic one."""
    actions = {row.options[option] for option in chosen if option in row.options}
    if "K" in actions:
        return "K"
    return "C" if actions else row.basic


def load(options: Iterable[str] = ()) -> Profile:
    """The profile for ``options`` (keys of :data:`SUPPORTED_OPTIONS`); unknown or contradictory ones are bad
    input."""
    chosen = tuple(sorted(set(options)))
    unknown = [option for option in chosen if option not in SUPPORTED_OPTIONS]
    if unknown:
        raise InputError(f"unknown de-identification option {unknown[0]!r}: choose from {', '.join(SUPPORTED_OPTIONS)}")
    for group in EXCLUSIVE:
        if group <= set(chosen):
            raise InputError(f"options {' and '.join(sorted(group))} contradict each other: choose one")
    header, table = rows()
    exact: dict[int, str] = {}
    repeating: list[tuple[int, int, str]] = []
    private = "X"
    for row in table:
        action = _resolve(row, chosen)
        if row.tag == "PRIVATE":
            private = action
        elif "X" in row.tag:
            mask = int("".join("0" if c == "X" else "F" for c in row.tag), 16)
            repeating.append((mask, int(row.tag.replace("X", "0"), 16), action))
        else:
            exact[int(row.tag, 16)] = action
    return Profile(
        edition=header["edition"],
        source=header["source"],
        options=chosen,
        exact=exact,
        repeating=tuple(repeating),
        private=private,
    )
