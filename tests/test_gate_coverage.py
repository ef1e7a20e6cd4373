"""The gate's coverage and HIPAA scope: required from the policy set, checked (coverage against the plan), carried
on the Decision; missing or malformed, the gate fails closed (exit 3)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

import phistack.gate
from phistack.engine import load_policy_set
from phistack.errors import PolicyError
from phistack.findings import INERT_TYPE_PREFIXES, INERT_TYPES, Scope, holds_no_data
from phistack.gate import evaluate
from phistack.plan.offline import plan_stack
from tests.support.paths import MINI_PROJECT, REPO, STARTER_POLICIES

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def _resource(type_: str, name: str) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:dev::demo::{type_}::{name}",
        "type": type_,
        "name": name,
        "custom": True,
        "parent": None,
        "provider": None,
        "dependencies": [],
        "property_dependencies": {},
        "inputs": {},
        "unknowns": [],
    }


def _plan(*types: str) -> dict[str, Any]:
    resources = [_resource(t, f"r{i}") for i, t in enumerate(types)]
    return {"schema_version": "phistack.plan/v1", "source": "mock", "project": "demo", "stack": "dev", "spec": None,
            "resources": resources}


BUCKET = "aws:s3/bucketV2:BucketV2"
PLAN = _plan("pulumi:pulumi:Stack", BUCKET, BUCKET, "kubernetes:core/v1:Namespace")
GOOD = {"resources": 4, "in_scope": 2, "unknown_types": ["aws:s3/bucketV2:BucketV2"]}


class _Stub:
    def __init__(self, result: Any) -> None:
        self.result = result

    def query(self, query: str, document: dict[str, Any]) -> Any:
        return self.result


NO_PHI = {"phi": False, "classifications": []}
OMIT = object()


@pytest.fixture
def gate_returning(monkeypatch: pytest.MonkeyPatch):
    """Evaluate PLAN with an engine that answers ``{"deny": [], "warn": [], "coverage": <given>, "scope": <given>}``;
    a part given as OMIT is left out."""
    policies = load_policy_set(STARTER_POLICIES)

    def run(coverage: Any, *, plan: dict[str, Any] = PLAN, scope: Any = NO_PHI):
        parts = {"coverage": coverage, "scope": scope}
        result: dict[str, Any] = {"deny": [], "warn": [], **{k: v for k, v in parts.items() if v is not OMIT}}
        monkeypatch.setattr(phistack.gate, "make_evaluator", lambda *a, **k: _Stub(result))
        return evaluate(plan, policies, now=NOW)

    return run


def test_a_consistent_coverage_is_carried_with_counts_from_the_plan(gate_returning) -> None:
    coverage = gate_returning(GOOD).coverage
    assert (coverage.resources, coverage.in_scope, coverage.unknown_types) == (4, 2, ("aws:s3/bucketV2:BucketV2",))
    assert coverage.unknown_counts == {"aws:s3/bucketV2:BucketV2": 2}
    assert coverage.inert == 1 and coverage.judged == 1 and not coverage.nothing_in_scope and not coverage.complete


def test_engines_may_return_whole_numbers_as_floats(gate_returning) -> None:
    assert gate_returning({**GOOD, "resources": 4.0, "in_scope": 2.0}).coverage.in_scope == 2


@pytest.mark.parametrize(
    ("coverage", "message"),
    [
        (None, r"coverage is missing or not an object"),
        ([4, 2, []], r"coverage is missing or not an object"),
        ({**GOOD, "resources": "4"}, r"coverage\.resources must be a non-negative integer"),
        ({**GOOD, "resources": True}, r"coverage\.resources must be a non-negative integer"),
        ({**GOOD, "in_scope": -1}, r"coverage\.in_scope must be a non-negative integer"),
        ({**GOOD, "in_scope": 2.5}, r"coverage\.in_scope must be a non-negative integer"),
        ({"resources": 4, "in_scope": 2}, r"coverage\.unknown_types must be a list"),
        ({**GOOD, "unknown_types": "aws:s3/bucketV2:BucketV2"}, r"coverage\.unknown_types must be a list"),
        ({**GOOD, "unknown_types": [{"__unknown__": True}]}, r"coverage\.unknown_types must be a list"),
        ({**GOOD, "unknown_types": ["b", "a"]}, r"sorted and distinct"),
        ({**GOOD, "unknown_types": ["aws:s3/bucketV2:BucketV2"] * 2}, r"sorted and distinct"),
        # Claims: fewer resources than the plan has, a type the plan lacks, more in scope than possible.
        ({**GOOD, "resources": 3}, r"coverage\.resources is 3, but the plan has 4 resources"),
        ({**GOOD, "unknown_types": ["aws:ec2/instance:Instance"]}, r"names types the plan does not have"),
        ({**GOOD, "in_scope": 4}, r"does not add up: 4 in scope and 2 of types no rule understands"),
        ({**GOOD, "unknown_types": []}, r"does not add up: 2 in scope and 0"),
    ],
)
def test_a_missing_malformed_or_inconsistent_coverage_is_a_policy_error(gate_returning, coverage, message) -> None:
    with pytest.raises(PolicyError, match=message):
        gate_returning(coverage)


def test_a_result_without_coverage_is_a_policy_error(gate_returning) -> None:
    with pytest.raises(PolicyError, match=r"data\.phistack\.main\.result\.coverage is missing"):
        gate_returning(OMIT)


@pytest.mark.parametrize(("part", "message"), [('"coverage": coverage, ', "coverage is missing"),
                                             (', "scope": scope', "scope is missing")])
def test_a_policy_set_whose_entrypoint_predates_coverage_or_scope_fails_closed(tmp_path: Path, part, message) -> None:
    """The entrypoint as it was before coverage or scope: the gate refuses to decide rather than guess."""
    root = tmp_path / "policies"
    shutil.copytree(STARTER_POLICIES, root)
    main = root / "main.rego"
    assert part in main.read_text()
    main.write_text(main.read_text().replace(part, ""))
    with pytest.raises(PolicyError, match=message):
        evaluate(plan_stack(MINI_PROJECT, "dev"), load_policy_set(root), now=NOW)


def test_inert_counts_only_types_the_policy_set_understands(gate_returning) -> None:
    """A type that holds no data but that the policy set calls unknown stays unknown: Python never widens
    the scope the rules declare."""
    plan = _plan("pulumi:pulumi:Stack", "tls:index/privateKey:PrivateKey", "aws:s3/bucketV2:BucketV2")
    coverage = gate_returning(
        {"resources": 3, "in_scope": 1, "unknown_types": [BUCKET, "tls:index/privateKey:PrivateKey"]},
        plan=plan,
    ).coverage
    assert coverage.inert == 1 and coverage.nothing_in_scope


def test_an_empty_plan_has_nothing_in_scope(gate_returning) -> None:
    coverage = gate_returning({"resources": 0, "in_scope": 0, "unknown_types": []}, plan=_plan()).coverage
    assert coverage.nothing_in_scope and coverage.complete


def test_inert_types_are_understood_by_the_hipaa_policy_set() -> None:
    """Every type phistack calls inert is one the HIPAA rules understand: a plan of only such types is
    all in scope and still has nothing in scope."""
    types = [*INERT_TYPES, *(f"{prefix}x:X" for prefix in INERT_TYPE_PREFIXES)]
    assert all(holds_no_data(t) for t in types)
    coverage = evaluate(_plan(*types), load_policy_set(REPO / "policies"), now=NOW).coverage
    assert coverage.unknown_types == () and coverage.in_scope == coverage.resources == len(types)
    assert coverage.inert == len(types) and coverage.nothing_in_scope


# --- scope ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"phi": True, "classifications": ["genetic", "phi"]}, Scope(True, ("genetic", "phi"))),
        ({"phi": True, "classifications": []}, Scope(True, ())),  # an unclassified workload, fail closed
        ({"phi": False, "classifications": ["deidentified", "none"]}, Scope(False, ("deidentified", "none"))),
    ],
)
def test_the_scope_is_carried_on_the_decision(gate_returning, scope, expected) -> None:
    assert gate_returning(GOOD, scope=scope).scope == expected


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        (OMIT, r"data\.phistack\.main\.result\.scope is missing or not an object"),
        (None, r"scope is missing or not an object"),
        ([True, []], r"scope is missing or not an object"),
        ({"classifications": []}, r"scope\.phi must be a boolean"),
        ({"phi": "yes", "classifications": []}, r"scope\.phi must be a boolean"),
        ({"phi": 1, "classifications": []}, r"scope\.phi must be a boolean"),
        ({"phi": True}, r"scope\.classifications must be a list of phi, deidentified, genetic, none"),
        ({"phi": True, "classifications": "phi"}, r"scope\.classifications must be a list"),
        ({"phi": True, "classifications": ["secret"]}, r"scope\.classifications must be a list"),
        ({"phi": True, "classifications": ["phi", "genetic"]}, r"sorted and distinct"),
        ({"phi": True, "classifications": ["phi", "phi"]}, r"sorted and distinct"),
        # PHI declared yet out of scope: the scoped rules would skip what the evidence must show in scope.
        ({"phi": False, "classifications": ["genetic"]}, r"does not add up: the plan declares genetic data"),
    ],
)
def test_a_missing_or_malformed_scope_is_a_policy_error(gate_returning, scope, message) -> None:
    with pytest.raises(PolicyError, match=message):
        gate_returning(GOOD, scope=scope)
