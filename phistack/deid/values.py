"""Safe Harbor transforms of single values: dates, ages, ZIP codes and keyed pseudonyms.

A value that does not parse under its declared form raises ValueError with a reason that never quotes the
value (it is PHI); the caller adds the file, row and column. Nothing unparsed is ever passed through.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

from phistack.deid.pseudonym import Pseudonymizer
from phistack.deid.table_schema import DATE_FORMATS, Rule

OVER_89 = "90+"  # 164.514(b)(2)(i)(C): ages over 89, and dates indicating them, become one category
RESTRICTED_ZIP3_FILE = Path(__file__).with_name("data") / "restricted_zip3.json"

_ISO = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})(?P<time>T.+)?)?)?$")
_ZIP = re.compile(r"^(?P<zip3>\d{3})\d{2}(?:-?\d{4})?$")
_AGE = re.compile(r"^\d{1,3}(?:\.\d+)?$")


@cache
def restricted_zip3() -> frozenset[str]:
    """The three-digit ZIP prefixes written as 000 (phistack/deid/data/restricted_zip3.json)."""
    return frozenset(json.loads(RESTRICTED_ZIP3_FILE.read_text(encoding="utf-8"))["restricted"])


class Transforms:
    """Apply rules to values, counting what was replaced."""

    def __init__(self, pseudonymizer: Pseudonymizer, *, shift_dates: bool, today: dt.date) -> None:
        self.pseudonymizer = pseudonymizer
        self.shift_dates = shift_dates
        self.today = today
        self.counts: Counter[str] = Counter()

    def token(self, kind: str, value: str) -> str:
        """The keyed pseudonym of ``value`` in the domain ``kind``."""
        self.counts["values.pseudonymized"] += 1
        return self.pseudonymizer.token(kind, value)

    def apply(self, rule: Rule, default_kind: str, value: str, patient: str | None) -> str:
        """The de-identified form of one non-empty text value under ``rule`` (keep, pseudonymize, date, age, zip)."""
        if rule.action == "keep":
            return value
        if rule.action == "pseudonymize":
            return self.token(rule.kind or default_kind, value)
        if rule.action == "date":
            return self.date(rule, value, patient)
        if rule.action == "age":
            return self.age(value)
        if rule.action == "zip":
            return self.zip(value)
        raise AssertionError(f"action {rule.action} has no value transform")  # drop/reference: the caller's

    def age(self, value: str) -> str:
        """Ages of 90 and over become ``90+``; other ages are kept."""
        text = value.strip()
        if text == OVER_89:
            return OVER_89
        if not _AGE.match(text):
            raise ValueError("not an age in years (digits, optionally with a decimal part)")
        if float(text) >= 90:
            self.counts["ages.aggregated"] += 1
            return OVER_89
        return value

    def zip(self, value: str) -> str:
        """The first three digits of a 5- or 9-digit ZIP code, or ``000`` for a restricted three-digit area."""
        match = _ZIP.match(value.strip())
        if match is None:
            raise ValueError("not a 5-digit or ZIP+4 code")
        if match["zip3"] in restricted_zip3():
            self.counts["zips.restricted"] += 1
            return "000"
        self.counts["zips.truncated"] += 1
        return match["zip3"]

    def date(self, rule: Rule, value: str, patient: str | None) -> str:
        """The year (``dates: year``) or the date shifted by the patient's keyed offset (``dates: shift``)."""
        text = value.strip()
        if rule.format == "iso":
            day, precision, time = _parse_iso(text)
        else:
            day, precision, time = _parse_format(text, rule.format), "day", ""
        if rule.birth and day.year <= self.today.year - 90:
            self.counts["dates.over_89"] += 1
            return OVER_89
        if not self.shift_dates:
            self.counts["dates.year_only"] += 1
            return f"{day.year:04d}"
        if patient is None or not patient.strip():
            raise ValueError("dates: shift needs the row's patient, and it is empty")
        self.counts["dates.shifted"] += 1
        shifted = day + dt.timedelta(days=self.pseudonymizer.day_shift(patient))
        return _format(shifted, rule.format, precision, time)


def _parse_iso(text: str) -> tuple[dt.date, str, str]:
    """(date, precision, time part) of an ISO 8601 / FHIR date, partial date or date-time."""
    match = _ISO.match(text)
    if match is None:
        raise ValueError("not an ISO 8601 date (YYYY, YYYY-MM, YYYY-MM-DD or a date-time)")
    try:
        if match["time"]:
            dt.datetime.fromisoformat(text)  # the time part must be valid too
        day = dt.date(int(match["year"]), int(match["month"] or 1), int(match["day"] or 1))
    except ValueError:
        raise ValueError("not a valid ISO 8601 date or date-time") from None
    precision = "day" if match["day"] else "month" if match["month"] else "year"
    return day, precision, match["time"] or ""


def _parse_format(text: str, name: str) -> dt.date:
    pattern = DATE_FORMATS[name]
    assert pattern is not None
    try:
        return dt.datetime.strptime(text, pattern).date()
    except ValueError:
        raise ValueError(f"not a date in the declared format {name}") from None


def _format(day: dt.date, name: str, precision: str, time: str) -> str:
    pattern = DATE_FORMATS[name]
    if pattern is not None:
        return day.strftime(pattern)
    iso = day.isoformat()
    return {"year": iso[:4], "month": iso[:7]}.get(precision, iso) + time
