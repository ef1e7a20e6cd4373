"""The 18 Safe Harbor identifiers (45 CFR 164.514(b)(2)(i)(A)-(R)) and how a schema handles each, for the manifest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phistack.deid.table_schema import Rule, TableSchema

IDENTIFIERS: dict[str, str] = {
    "A": "names",
    "B": "geographic subdivisions smaller than a state, including ZIP codes",
    "C": "elements of dates (except year) related to an individual; ages over 89",
    "D": "telephone numbers",
    "E": "fax numbers",
    "F": "email addresses",
    "G": "social security numbers",
    "H": "medical record numbers",
    "I": "health plan beneficiary numbers",
    "J": "account numbers",
    "K": "certificate/license numbers",
    "L": "vehicle identifiers and serial numbers, including license plates",
    "M": "device identifiers and serial numbers",
    "N": "web URLs",
    "O": "IP addresses",
    "P": "biometric identifiers, including finger and voice prints",
    "Q": "full-face photographs and comparable images",
    "R": "any other unique identifying number, characteristic or code",
}


def _handling(rule: Rule, dates: str) -> str:
    if rule.action == "date":
        how = "year only" if dates == "year" else "shifted by a keyed per-patient offset (not year only)"
        return f"birth dates {how}, 90 or older aggregated" if rule.birth else how
    return {
        "drop": "removed",
        "pseudonymize": "replaced by keyed pseudonyms",
        "age": "ages 90 and over aggregated to 90+",
        "zip": "first three digits; 000 for the restricted three-digit areas",
        "reference": "references rewritten to pseudonyms",
    }[rule.action]


def identifier_handling(schema: TableSchema, counts: Mapping[str, int]) -> list[dict[str, Any]]:
    """One entry per identifier (A)-(R): the fields the schema declares for it and what was done, or
    "not present" when the schema declares none (the schema's word: Safe Harbor also needs no actual knowledge)."""
    fields: dict[str, list[tuple[str, Rule]]] = {letter: [] for letter in IDENTIFIERS}
    for name, rule in [*schema.columns.items(), *schema.fhir.items()]:
        carried = rule.letter()
        if carried is not None:
            fields[carried].append((name, rule))
    entries = []
    for letter, title in IDENTIFIERS.items():
        declared = fields[letter]
        handling = sorted({_handling(rule, schema.dates) for _, rule in declared})
        if letter == "R" and counts.get("ids.pseudonymized"):
            handling.append("FHIR resource ids and references replaced by keyed pseudonyms")
        entries.append(
            {
                "id": letter,
                "identifier": title,
                "handling": "; ".join(handling) or "not present",
                "fields": sorted(field for field, _ in declared),
            }
        )
    return entries
