"""The plan document: canonical form, digest, schema validation, reading and writing."""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from phistack.errors import InputError
from runtime.fileio import write_atomic

PLAN_SCHEMA_VERSION = "phistack.plan/v1"


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(resources.files("phistack").joinpath("schemas/plan-v1.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = ["$"]
    for item in error.absolute_path:
        parts.append(f"[{item}]" if isinstance(item, int) else f".{item}")
    return "".join(parts)


def validate_plan(document: Any, origin: str = "plan") -> None:
    """Raise InputError naming the key path of the first schema violation."""
    if isinstance(document, dict) and document.get("schema_version") != PLAN_SCHEMA_VERSION:
        found = document.get("schema_version")
        raise InputError(f"{origin}: schema_version is {found!r}, expected {PLAN_SCHEMA_VERSION!r}")
    error = jsonschema.exceptions.best_match(_validator().iter_errors(document))
    if error is not None:
        raise InputError(f"{origin}: {_key_path(error)}: {error.message}")


def finalize_plan(document: dict[str, Any]) -> dict[str, Any]:
    """Sort resources and their dependency lists so the same stack gives byte-identical output."""
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
    validate_plan(document, f"plan of stack {document.get('stack')!r}")
    return document


def dump_plan(document: dict[str, Any]) -> str:
    """Canonical JSON text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def plan_digest(document: dict[str, Any]) -> str:
    """sha256 over the canonical text, so a decision can be traced to the exact plan."""
    return "sha256:" + hashlib.sha256(dump_plan(document).encode("utf-8")).hexdigest()


def write_plan(document: dict[str, Any], path: Path) -> None:
    validate_plan(document, str(path))
    write_atomic(path, dump_plan(document))


def read_json_file(path: Path, what: str) -> Any:
    """Read a JSON file; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read {what}: {err}") from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}:{err.lineno}: malformed JSON in {what}: {err.msg}") from err


def load_plan(path: Path) -> dict[str, Any]:
    """Read and validate a plan document."""
    document = read_json_file(path, "plan")
    if not isinstance(document, dict):
        raise InputError(f"{path}: a plan must be a JSON object")
    validate_plan(document, str(path))
    return document
