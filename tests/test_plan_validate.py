"""The hand-written plan validator and the published JSON Schema agree: the same documents pass, the same
documents fail, at the same key path. One mutation at a time of a real plan, as a careless or hostile edit
would make it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from phistack.plan.document import load_plan
from phistack.plan.validate import first_violation, violations
from runtime.configfile import key_path
from tests.support.paths import FIXTURES, REPO

SCHEMA = json.loads((REPO / "phistack" / "schemas" / "plan-v1.schema.json").read_text())
PLAN = load_plan(FIXTURES / "plans" / "phi-compliant.json")
URN = "urn:pulumi:dev::phistack::kubernetes:core/v1:Namespace::x"

Mutation = Callable[[dict[str, Any]], None]


def _set(*path: str | int, value: Any) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return apply


def _drop(*path: str | int) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return apply


MUTATIONS: dict[str, Mutation] = {
    "not an object": lambda doc: doc.clear() or doc.update({"resources": "x"}),
    "missing project": _drop("project"),
    "missing resources": _drop("resources"),
    "extra top key": _set("extra", value=1),
    "bad source": _set("source", value="cache"),
    "empty stack": _set("stack", value=""),
    "project not a string": _set("project", value=7),
    "spec a list": _set("spec", value=[]),
    "valid: spec null": _set("spec", value=None),
    "resources an object": _set("resources", value={}),
    "resource a string": _set("resources", 3, value="urn:pulumi:x"),
    "resource missing urn": _drop("resources", 2, "urn"),
    "resource missing inputs": _drop("resources", 5, "inputs"),
    "resource extra key": _set("resources", 4, "outputs", value={}),
    "urn without prefix": _set("resources", 1, "urn", value="pulumi:x"),
    "urn a number": _set("resources", 1, "urn", value=5),
    "empty type": _set("resources", 0, "type", value=""),
    "type null": _set("resources", 0, "type", value=None),
    "custom a string": _set("resources", 2, "custom", value="yes"),
    "custom an integer": _set("resources", 2, "custom", value=1),
    "parent not a urn": _set("resources", 2, "parent", value="parent"),
    "parent a number": _set("resources", 2, "parent", value=3),
    "provider a number": _set("resources", 2, "provider", value=3),
    "valid: provider null": _set("resources", 2, "provider", value=None),
    "dependency not a urn": _set("resources", 6, "dependencies", value=["x"]),
    "dependencies duplicated": _set("resources", 6, "dependencies", value=[URN, URN]),
    "dependencies an object": _set("resources", 6, "dependencies", value={}),
    "property dependencies a list": _set("resources", 6, "property_dependencies", value=[]),
    "property dependency not a urn": _set("resources", 6, "property_dependencies", value={"a": ["x"]}),
    "property dependency duplicated": _set("resources", 6, "property_dependencies", value={"a": [URN, URN]}),
    "inputs a list": _set("resources", 7, "inputs", value=[]),
    "unknowns duplicated": _set("resources", 7, "unknowns", value=["a", "a"]),
    "unknown not a string": _set("resources", 7, "unknowns", value=[1]),
    "unknowns a string": _set("resources", 7, "unknowns", value="a"),
    "valid: empty resources": _set("resources", value=[]),
    "valid: numbers and nulls in inputs": _set("resources", 7, "inputs", value={"a": 1.5, "b": None}),
}


def _reference_path(document: Any) -> str | None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    return None if error is None else key_path(error.absolute_path, "$")


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_the_fast_validator_agrees_with_the_schema(name: str) -> None:
    document = copy.deepcopy(PLAN)
    MUTATIONS[name](document)
    expected = _reference_path(document)
    found = first_violation(document)
    if expected is None:
        assert found is None, found
        assert name.startswith("valid:"), "a mutation meant to break the plan was accepted by the schema"
        return
    assert found is not None, f"accepted a plan the schema refuses at {expected}"
    # The same place: the path the schema names is among the violations found.
    assert expected in {key_path(path, "$") for path, _ in violations(document)}, (expected, found)


def test_every_reference_plan_is_valid() -> None:
    for path in sorted((FIXTURES / "plans").glob("*.json")):
        document = json.loads(path.read_text())
        if "schema_version" in document:
            assert first_violation(document) == _reference_message(document), path


def _reference_message(document: Any) -> str | None:
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document))
    return None if error is None else f"{key_path(error.absolute_path, '$')}: {error.message}"


@pytest.mark.parametrize("name", ["missing project", "custom a string", "bad source", "urn without prefix"])
def test_messages_read_as_before(name: str) -> None:
    """Single violations are worded as the jsonschema package words them, so existing scripts keep matching."""
    document = copy.deepcopy(PLAN)
    MUTATIONS[name](document)
    assert first_violation(document) == _reference_message(document)
