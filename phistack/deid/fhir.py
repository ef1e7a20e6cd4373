"""De-identify one FHIR R4 Bundle (JSON) entry by entry under the schema's ``fhir`` elements.

Each resource is walked element by element: a declared element (``Type.path`` or ``*.path``) gets its rule, an
element with declared descendants is walked into, and anything else is refused or dropped (``undeclared``).
Resource ids are pseudonymized with the resource type as the kind, and every reference (``Patient/123``,
``urn:uuid:…``, an absolute ``…/Patient/123``, which loses its server) is rewritten to the same pseudonym, so
links inside and across bundles survive. The bundle keeps only its ``resourceType``, ``type`` and entries; an
entry its ``urn:uuid`` fullUrl, resource, and request method and URL (without a conditional query).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any, TextIO

from phistack.deid.table_schema import Rule, TableSchema
from phistack.deid.values import OVER_89, Transforms
from runtime.errors import InputError

_DROP = object()  # an element removed from the output
_RELATIVE = re.compile(r"^(?:.*/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_PATIENT_LINKS = ("subject", "patient", "beneficiary")  # where a resource names its patient (dates: shift)


class BundleDeidentifier:
    """One schema's walk over bundles; ``where`` names the input file in errors."""

    def __init__(self, schema: TableSchema, transforms: Transforms) -> None:
        self.rules = schema.fhir
        self.undeclared = schema.undeclared
        self.transforms = transforms
        self.counts = transforms.counts
        self.walked = {p.rsplit(".", n)[0] for p in self.rules for n in range(1, p.count("."))}

    # --- references and ids -------------------------------------------------------------------------

    def _id(self, kind: str, value: str) -> str:
        self.counts["ids.pseudonymized"] += 1
        return self.transforms.pseudonymizer.token(kind, value)

    def reference(self, value: Any) -> str:
        """A reference rewritten to the pseudonymized target; ValueError for a form that cannot be rewritten."""
        if not isinstance(value, str):
            raise ValueError("a reference must be a string")
        self.counts["references.rewritten"] += 1
        if value.startswith("#"):
            return value  # a contained resource: local to this resource
        if value.startswith("urn:uuid:"):
            return "urn:uuid:" + str(uuid.UUID(int=int(self.transforms.pseudonymizer.uid(value)[5:])))
        match = _RELATIVE.match(value)
        if match is None:
            raise ValueError("a reference that is not Type/id, an absolute URL ending in Type/id, or urn:uuid")
        return f"{match['type']}/{self.transforms.pseudonymizer.token(match['type'], match['id'])}"

    def _patient(self, resource: dict[str, Any], links: dict[str, str]) -> str | None:
        """The raw id of the patient a resource belongs to (its own for a Patient)."""
        if resource.get("resourceType") == "Patient":
            return str(resource.get("id", "")) or None
        for name in _PATIENT_LINKS:
            link = resource.get(name)
            target = link.get("reference") if isinstance(link, dict) else None
            if isinstance(target, str):
                target = links.get(target, target)
                match = _RELATIVE.match(target)
                if match and match["type"] == "Patient":
                    return match["id"]
        return None

    # --- elements ---------------------------------------------------------------------------------------

    def _rule(self, rtype: str, path: str) -> Rule | None:
        return self.rules.get(f"{rtype}.{path}") or self.rules.get(f"*.{path}")

    def _element(self, rtype: str, path: str, value: Any, patient: str | None) -> Any:
        rule = self._rule(rtype, path)
        if rule is not None:
            return self._apply(rule, path, value, patient)
        if f"{rtype}.{path}" in self.walked or f"*.{path}" in self.walked:
            return self._children(rtype, path, value, patient)
        if self.undeclared == "drop":
            self.counts["elements.undeclared_dropped"] += 1
            return _DROP
        raise ValueError(f"element {rtype}.{path} is not declared in the schema (undeclared: refuse)")

    def _children(self, rtype: str, path: str, value: Any, patient: str | None) -> Any:
        if isinstance(value, list):
            items = [self._children(rtype, path, item, patient) for item in value]
            kept = [item for item in items if item is not _DROP]
            return kept or _DROP
        if not isinstance(value, dict):
            raise ValueError(f"element {rtype}.{path} is a value, but the schema declares elements inside it")
        out = {}
        for key, child in value.items():
            result = self._element(rtype, f"{path}.{key}", child, patient)
            if result is not _DROP:
                out[key] = result
        return out or _DROP

    def _apply(self, rule: Rule, path: str, value: Any, patient: str | None) -> Any:
        if rule.action == "drop":
            self.counts["values.dropped"] += 1
            return _DROP
        if isinstance(value, list):
            items = [self._apply(rule, path, item, patient) for item in value]
            kept = [item for item in items if item is not _DROP]
            return kept or _DROP
        if rule.action == "keep":
            return self._rewrite_references(value)
        if rule.action == "reference":
            if not isinstance(value, dict):
                raise ValueError(f"element {path} is not a Reference")
            self.counts["values.dropped"] += sum(1 for key in value if key not in ("reference", "type"))
            link = {"reference": self.reference(value["reference"])} if "reference" in value else {}
            return {**link, **({"type": value["type"]} if "type" in value else {})} or _DROP
        if rule.action == "pseudonymize" and isinstance(value, dict):  # Identifier, ContactPoint: keep the system
            if not isinstance(value.get("value"), str):
                raise ValueError(f"element {path} has no text value to pseudonymize")
            context = {key: value[key] for key in ("system", "use") if key in value}
            self.counts["values.dropped"] += len(value) - len(context) - 1
            return {**context, "value": self.transforms.token(rule.kind or path, value["value"])}
        if isinstance(value, dict):  # date, age, zip on a structure (a Period, an Address): its text leaves
            out = {key: self._apply(rule, f"{path}.{key}", child, patient) for key, child in value.items()}
            return {key: child for key, child in out.items() if child is not _DROP} or _DROP
        return self._leaf(rule, path, value, patient)

    def _leaf(self, rule: Rule, path: str, value: Any, patient: str | None) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"element {path} is not text or a number")
        if rule.action == "age" and not isinstance(value, str):
            aged = self.transforms.age(str(value))
            return value if aged != OVER_89 else OVER_89
        if not isinstance(value, str):
            raise ValueError(f"element {path} is a number, not text for action {rule.action}")
        result = self.transforms.apply(rule, path, value, patient)
        if result == OVER_89 and rule.action == "date":
            return _DROP  # a FHIR date cannot say "90+": the element goes
        return result

    def _rewrite_references(self, value: Any) -> Any:
        """A kept structure with every ``reference`` inside it rewritten (ids must not leak through kept data)."""
        if isinstance(value, list):
            return [self._rewrite_references(item) for item in value]
        if isinstance(value, dict):
            return {
                key: self.reference(child) if key == "reference" else self._rewrite_references(child)
                for key, child in value.items()
            }
        return value

    # --- resources, entries, bundles --------------------------------------------------------------------

    def resource(self, resource: Any, links: dict[str, str]) -> dict[str, Any]:
        """One resource, de-identified."""
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise ValueError("resource has no resourceType")
        rtype = resource["resourceType"]
        patient = self._patient(resource, links)
        out: dict[str, Any] = {"resourceType": rtype}
        if "id" in resource:
            out["id"] = self._id(rtype, str(resource["id"]))
        for key, value in resource.items():
            if key in ("resourceType", "id"):
                continue
            result = self._element(rtype, key, value, patient)
            if result is not _DROP:
                out[key] = result
        self.counts["resources"] += 1
        return out

    def entry(self, entry: Any, links: dict[str, str]) -> dict[str, Any]:
        """One bundle entry: fullUrl and request URL rewritten, the resource de-identified, the rest dropped."""
        if not isinstance(entry, dict):
            raise ValueError("entry is not an object")
        out: dict[str, Any] = {}
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str) and full_url.startswith("urn:uuid:"):
            out["fullUrl"] = self.reference(full_url)  # a server's URL is dropped: ids resolve as Type/id
        if "resource" in entry:
            out["resource"] = self.resource(entry["resource"], links)
        request = entry.get("request")
        if isinstance(request, dict) and isinstance(request.get("method"), str):
            url = str(request.get("url", "")).split("?", 1)[0]  # a conditional URL's query holds identifiers
            out["request"] = {"method": request["method"], "url": self.reference(url) if "/" in url else url}
        self.counts["values.dropped"] += sum(1 for key in entry if key not in out)
        return out


def _links(entries: list[Any]) -> dict[str, str]:
    """fullUrl → ``Type/id`` for the entries that have both, so a ``urn:uuid`` subject finds its patient."""
    links = {}
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and isinstance(entry.get("fullUrl"), str) and "id" in resource:
            links[entry["fullUrl"]] = f"{resource.get('resourceType')}/{resource['id']}"
    return links


def _load(source: TextIO, where: str) -> dict[str, Any]:
    try:
        bundle = json.load(source)
    except json.JSONDecodeError as err:
        raise InputError(f"{where}:{err.lineno}:{err.colno}: malformed JSON: {err.msg}") from None
    except UnicodeDecodeError as err:
        raise InputError(f"{where}: not UTF-8 text: {err.reason}") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InputError(f"{where}: not a FHIR Bundle (resourceType is not Bundle): one bundle per .json file")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise InputError(f"{where}: Bundle.entry is not a list")
    return bundle


def deidentify_bundle(source: TextIO, target: TextIO, walker: BundleDeidentifier, where: str) -> int:
    """Write the de-identified bundle read from ``source`` to ``target``, entry by entry; the number of entries."""
    bundle = _load(source, where)
    entries: list[Any] = bundle.get("entry", [])
    links = _links(entries)
    head = {"resourceType": "Bundle", **({"type": bundle["type"]} if "type" in bundle else {})}
    walker.counts["values.dropped"] += sum(1 for key in bundle if key not in ("resourceType", "type", "entry"))
    target.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "entry": [')
    for index, text in enumerate(_entries(entries, walker, links, where)):
        target.write(("\n  " if index == 0 else ",\n  ") + text)
    target.write("\n]}\n")
    return len(entries)


def _entries(entries: list[Any], walker: BundleDeidentifier, links: dict[str, str], where: str) -> Iterator[str]:
    for index, entry in enumerate(entries):
        try:
            yield json.dumps(walker.entry(entry, links), ensure_ascii=False)
        except ValueError as err:
            raise InputError(f"{where}: entry[{index}]: {err}") from None
