"""The plan document: canonical form, digest, schema validation, reading and writing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import orjson

from phistack.errors import InputError
from phistack.plan.validate import SCHEMA_VERSION, first_violation
from phistack.plan.view import Plan
from runtime.fileio import write_atomic

PLAN_SCHEMA_VERSION = SCHEMA_VERSION


def validate_plan(document: Any, origin: str = "plan") -> None:
    """Raise InputError naming the key path of the first schema violation (phistack.plan.validate)."""
    if isinstance(document, dict) and document.get("schema_version") != PLAN_SCHEMA_VERSION:
        found = document.get("schema_version")
        raise InputError(f"{origin}: schema_version is {found!r}, expected {PLAN_SCHEMA_VERSION!r}")
    problem = first_violation(document)
    if problem is not None:
        raise InputError(f"{origin}: {problem}")


def finalize_plan(document: dict[str, Any]) -> Plan:
    """Sort resources and their dependency lists so the same stack gives byte-identical output, then
    validate the result (once) as a read-only :class:`Plan`."""
    resources_ = []
    for resource in document["resources"]:
        if resource["type"].startswith("pulumi:providers:"):
            continue  # provider instances configure the engine; they are not deployed resources
        resources_.append(
            {
                **resource,
                "dependencies": sorted(set(resource["dependencies"])),
                "property_dependencies": {
                    key: sorted(set(urns)) for key, urns in sorted(resource["property_dependencies"].items()) if urns
                },
                "unknowns": sorted(set(resource["unknowns"])),
            }
        )
    document = {**document, "resources": sorted(resources_, key=lambda r: r["urn"])}
    return Plan.validated(document, f"plan of stack {document.get('stack')!r}")


_CANONICAL = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def _canonical_bytes(document: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(document, option=_CANONICAL) + b"\n"
    except orjson.JSONEncodeError:  # integers beyond 64 bits, keys that are not strings
        return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def dump_plan(document: dict[str, Any]) -> str:
    """Canonical JSON text: sorted keys, two-space indent, UTF-8 unescaped, trailing newline (docs/CONTRACTS.md)."""
    return _canonical_bytes(document).decode("utf-8")


def plan_digest(document: dict[str, Any]) -> str:
    """sha256 over the canonical text, so a decision can be traced to the exact plan: for a plan file that
    ``phistack plan`` wrote, ``sha256sum`` of the file gives the same digest."""
    return "sha256:" + hashlib.sha256(_canonical_bytes(document)).hexdigest()


def write_plan(document: dict[str, Any], path: Path) -> None:
    write_atomic(path, dump_plan(Plan.validated(document, str(path))))


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259); Python's reader accepts them unless told otherwise.
    raise ValueError(f"{name} is not a JSON value")


def read_json_file(path: Path, what: str) -> Any:
    """Read a JSON file; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read {what}: {err}") from err
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}:{err.lineno}: malformed JSON in {what}: {err.msg}") from err
    except ValueError as err:  # NaN or Infinity (see _refuse_constant)
        raise InputError(f"{path}: malformed JSON in {what}: {err}") from err


def load_plan(path: Path) -> Plan:
    """Read and validate a plan document."""
    document = read_json_file(path, "plan")
    if not isinstance(document, dict):
        raise InputError(f"{path}: a plan must be a JSON object")
    return Plan.validated(document, str(path))
