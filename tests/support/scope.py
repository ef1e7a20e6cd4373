"""The HIPAA scope the repository's policy set decides for a plan, for tests that build a Decision by hand."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from phistack.deid.facts import dataset_facts
from phistack.deid.signers import load_signers
from phistack.engine import Evaluator, load_policy_set, make_evaluator
from phistack.findings import Scope
from phistack.gate import gate_input
from tests.support.paths import REPO

SCOPE = "data.phistack.main.scope"
NOW = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)


@functools.cache
def evaluator(engine: str = "regorus") -> Evaluator:
    return make_evaluator(engine, load_policy_set(REPO / "policies"))


def rego_scope(plan: dict[str, Any], engine: str = "regorus") -> dict[str, Any]:
    """``scope`` of the gate result, as the engine returns it, with the plan's de-identification manifests
    verified from the repository the way ``decide`` does (input.deid)."""
    policies = load_policy_set(REPO / "policies")
    deid = dataset_facts(plan.get("spec"), REPO, load_signers(policies))
    value = evaluator(engine).query(SCOPE, gate_input(plan, NOW, deid))
    assert isinstance(value, dict), f"{SCOPE} is {value!r}"
    return value


def scope_of(plan: dict[str, Any]) -> Scope:
    raw = rego_scope(plan)
    return Scope(phi=raw["phi"], classifications=tuple(raw["classifications"]))
