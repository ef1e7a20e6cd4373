"""Replacement values for DICOM de-identification: dummies per VR (action D), shifted dates (Retain Longitudinal
Temporal Information with Modified Dates) and scrubbed descriptors (Clean Descriptors)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

DUMMY_TEXT = "DEIDENTIFIED"  # 12 characters: fits SH, CS and AE (16)
DUMMY_BY_VR: dict[str, Any] = {
    **dict.fromkeys(("PN", "LO", "SH", "LT", "ST", "UT", "UC", "CS", "AE"), DUMMY_TEXT),
    "DA": "19000101",
    "TM": "000000",
    "DT": "19000101000000",
    "AS": "000Y",
    "IS": "0",
    "DS": "0",
    "UR": "urn:none",
    **dict.fromkeys(("US", "SS", "UL", "SL", "UV", "SV", "AT"), 0),
    **dict.fromkeys(("FL", "FD"), 0.0),
}
BINARY_VRS = frozenset({"OB", "OW", "OD", "OF", "OL", "OV", "UN"})
TEXT_VRS = frozenset({"LO", "SH", "LT", "ST", "UT", "UC", "PN"})
SCRUBBED = "***"

_LONG_NUMBER = re.compile(r"\d{5,}")  # record numbers, phone numbers, dates written without separators
_DATE_LIKE = re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b")


def dummy(vr: str) -> Any:
    """The dummy value of ``vr`` (binary VRs get two zero bytes; SQ an empty sequence)."""
    if vr == "SQ":
        return []
    if vr in BINARY_VRS:
        return b"\x00\x00"
    return DUMMY_BY_VR.get(vr.split(" ")[0], DUMMY_TEXT)


def shift_date(value: str, days: int) -> str:
    """``YYYYMMDD`` moved by ``days``; anything else (ranges, partial dates, garbage) becomes empty."""
    text = value.strip()
    try:
        if len(text) != 8 or not text.isdigit():
            return ""
        return (dt.date(int(text[:4]), int(text[4:6]), int(text[6:8])) + dt.timedelta(days=days)).strftime("%Y%m%d")
    except (ValueError, OverflowError):
        return ""


def shift_datetime(value: str, days: int) -> str:
    """A DT value whose date part is moved by ``days``; the time and offset stay; a partial date becomes empty."""
    text = value.strip()
    shifted = shift_date(text[:8], days)
    return shifted + text[8:] if shifted else ""


def scrub(text: str, identifiers: Iterable[str]) -> str:
    """``text`` with each identifier of the same instance, long digit runs and date-like strings replaced by
    ``***``. A heuristic: it removes what it knows, not every possible identifier."""
    for ident in sorted(identifiers, key=len, reverse=True):
        text = re.sub(re.escape(ident), SCRUBBED, text, flags=re.IGNORECASE)
    text = _DATE_LIKE.sub(SCRUBBED, text)
    return _LONG_NUMBER.sub(SCRUBBED, text)
