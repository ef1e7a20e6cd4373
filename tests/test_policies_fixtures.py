"""The fixture plans in tests/fixtures/plans get exactly their expected findings on both engines."""

from __future__ import annotations

import json
from typing import Any

import pytest

from phistack.engine import load_policy_set, make_evaluator
from tests.support.paths import FIXTURES, REPO

PLANS = FIXTURES / "plans"
EXPECTED: dict[str, dict[str, list[str]]] = json.loads((PLANS / "expected.json").read_text())
TODAY = "2026-06-01"


@pytest.fixture(scope="module")
def evaluators() -> dict[str, Any]:
    policies = load_policy_set(REPO / "policies")
    return {engine: make_evaluator(engine, policies) for engine in ("regorus", "regopy")}


def _result(evaluator: Any, name: str, today: str = TODAY) -> dict[str, Any]:
    plan = json.loads((PLANS / f"{name}.json").read_text())
    return evaluator.query("data.phistack.main.result", {"plan": plan, "now": f"{today}T12:00:00Z", "today": today})


def _canonical(findings: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(f, sort_keys=True) for f in findings)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_expected_rule_ids_on_both_engines(evaluators: dict[str, Any], name: str) -> None:
    results = {engine: _result(ev, name) for engine, ev in evaluators.items()}
    for engine, result in results.items():
        assert sorted({f["id"] for f in result["deny"]}) == EXPECTED[name]["deny"], engine
        assert sorted({f["id"] for f in result["warn"]}) == EXPECTED[name]["warn"], engine
    assert _canonical(results["regorus"]["deny"]) == _canonical(results["regopy"]["deny"])
    assert _canonical(results["regorus"]["warn"]) == _canonical(results["regopy"]["warn"])


def test_unknown_value_names_its_path(evaluators: dict[str, Any]) -> None:
    (finding,) = _result(evaluators["regorus"], "unknown-kms-key")["deny"]
    assert finding["unknown"] == ["parameters.kmsKeyId"]
    assert "unknown at plan time" in finding["msg"]


def test_expired_baa_denies_the_compliant_stack(evaluators: dict[str, Any]) -> None:
    for evaluator in evaluators.values():
        result = _result(evaluator, "phi-compliant", today="2029-01-15")
        assert [f["id"] for f in result["deny"]] == ["PHI-BAA-002"]
        assert "expired on 2029-01-14" in result["deny"][0]["msg"]


def test_fixtures_are_valid_plans() -> None:
    import jsonschema

    schema = json.loads((REPO / "phistack" / "schemas" / "plan-v1.schema.json").read_text())
    for path in sorted(PLANS.glob("*.json")):
        if path.name != "expected.json":
            jsonschema.validate(json.loads(path.read_text()), schema)
