"""The Python side's view of a plan: validated once, typed, and read-only at every depth."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import orjson
import pytest

from phistack.errors import InputError
from phistack.plan import document as plan_document
from phistack.plan.document import dump_plan, load_plan, plan_digest
from phistack.plan.view import Plan, thaw
from tests.support.paths import FIXTURES

PLAN_FILE = FIXTURES / "plans" / "noncompliant-cc.json"


@pytest.fixture
def plan() -> Plan:
    return load_plan(PLAN_FILE)


def raw() -> dict[str, Any]:
    return json.loads(PLAN_FILE.read_text(encoding="utf-8"))


def test_a_loaded_plan_is_the_same_document(plan: Plan) -> None:
    document = raw()
    assert plan == document
    assert dump_plan(plan) == dump_plan(document)
    assert plan.digest == plan_digest(document)
    assert json.dumps(plan, sort_keys=True) == json.dumps(document, sort_keys=True)
    assert orjson.dumps(plan, option=orjson.OPT_SORT_KEYS) == orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def test_typed_access(plan: Plan) -> None:
    document = raw()
    assert plan.stack == document["stack"] and plan.source == document["source"]
    assert [r.urn for r in plan.resources] == [r["urn"] for r in document["resources"]]
    workloads = plan.of_type("phistack:workload:AttestedWorkload")
    assert workloads and all(r.type == "phistack:workload:AttestedWorkload" for r in workloads)
    assert len(plan.of_type("no:such:Type")) == 0


MUTATIONS = {
    "set a top-level key": lambda p: p.__setitem__("stack", "other"),
    "delete a top-level key": lambda p: p.__delitem__("spec"),
    "update": lambda p: p.update(stack="other"),
    "drop a resource": lambda p: p["resources"].pop(),
    "add a resource": lambda p: p["resources"].append({}),
    "replace a resource": lambda p: p["resources"].__setitem__(0, {}),
    "extend with +=": lambda p: p["resources"].__iadd__([{}]),
    "sort resources": lambda p: p["resources"].sort(key=str),
    "edit an input": lambda p: p["resources"][0]["inputs"].__setitem__("x", 1),
    "clear unknowns": lambda p: p["resources"][0]["unknowns"].clear(),
    "set default": lambda p: p["resources"][0]["inputs"].setdefault("x", 1),
}


@pytest.mark.parametrize("mutate", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_nothing_can_change_a_validated_plan(plan: Plan, mutate: Any) -> None:
    digest = plan.digest
    with pytest.raises(TypeError, match="read-only"):
        mutate(plan)
    assert plan_digest(plan) == digest == plan_digest(raw())


def test_copies_are_plain_and_mutable(plan: Plan) -> None:
    for copied in (copy.deepcopy(plan), thaw(plan), pickle.loads(pickle.dumps(plan))):
        assert type(copied) is dict and copied == plan
        copied["resources"][0]["inputs"]["x"] = 1  # a copy is the caller's own
    assert "x" not in plan["resources"][0]["inputs"]


def test_validated_once(monkeypatch: pytest.MonkeyPatch, plan: Plan) -> None:
    calls: list[str] = []
    real = plan_document.validate_plan
    monkeypatch.setattr(plan_document, "validate_plan", lambda doc, origin="plan": calls.append(origin) or real(doc))
    assert Plan.validated(plan) is plan
    assert calls == []
    Plan.validated(raw(), "x.json")
    assert calls == ["x.json"]


def test_an_invalid_document_never_becomes_a_plan(tmp_path: Path) -> None:
    document = raw()
    del document["resources"][0]["urn"]
    with pytest.raises(InputError, match=r"^bad\.json: \$\.resources\[0\]: .urn. is a required property"):
        Plan.validated(document, "bad.json")
