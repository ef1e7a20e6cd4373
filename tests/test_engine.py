"""The engine interface: both embedded engines load, query, and fail with file:line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phistack.engine import ENGINES, UNDEFINED, load_policy_set, make_evaluator
from phistack.errors import InputError, PolicyError
from tests.support.paths import STARTER_POLICIES

ENGINE_NAMES = ["regorus", "regopy"]


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(STARTER_POLICIES, target)
    return target


def test_both_embedded_engines_are_registered() -> None:
    assert {"regorus", "regopy"} <= set(ENGINES)


def test_unknown_engine_is_bad_input() -> None:
    with pytest.raises(InputError, match="unknown engine 'nope'"):
        make_evaluator("nope", load_policy_set(STARTER_POLICIES))


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_query_returns_json_values_and_undefined(engine: str) -> None:
    evaluator = make_evaluator(engine, load_policy_set(STARTER_POLICIES))
    assert evaluator.query("data.confidential.runtime_classes[0]", {}) == "kata-qemu-nvidia-gpu-snp"
    assert evaluator.query("data.phistack.main.no_such_rule", {}) is UNDEFINED
    result = evaluator.query("data.phistack.main.result", {"plan": {"resources": []}})
    coverage = {"resources": 0, "in_scope": 0, "unknown_types": []}
    scope = {"phi": False, "classifications": []}
    assert result == {"deny": [], "warn": [], "coverage": coverage, "scope": scope}


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_input_reaches_the_engine_whole(engine: str) -> None:
    """Non-ASCII text, 64-bit integers and integers beyond 64 bits (valid JSON, which the fast encoder refuses)
    arrive as they were sent."""
    evaluator = make_evaluator(engine, load_policy_set(STARTER_POLICIES))
    for value in ("Zoë’s scan \u2028", 2**63 - 1, -(2**63), 0.25, {"k": [None, True]}):
        assert evaluator.query("input.v", {"v": value}) == value
    beyond = evaluator.query("input.v > 1", {"v": 2**70})  # sent whole either way, never a traceback
    assert beyond is (True if engine == "regorus" else UNDEFINED)  # regopy 1.5.2 reads no such integer


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_syntax_error_names_file_and_line(engine: str, policy_copy: Path) -> None:
    (policy_copy / "broken.rego").write_text("package broken\n\nimport rego.v1\n\nfoo if {\n  1 ==\n}\n")
    with pytest.raises(PolicyError, match=r"broken\.rego:[67]:"):
        make_evaluator(engine, load_policy_set(policy_copy))


def test_malformed_policy_data_names_file_and_line(policy_copy: Path) -> None:
    (policy_copy / "data" / "confidential.json").write_text('{"runtime_classes": [\n  "a",\n}\n')
    with pytest.raises(PolicyError, match=r"data/confidential\.json:3: invalid JSON"):
        load_policy_set(policy_copy)


def test_malformed_metadata_is_a_policy_error(policy_copy: Path) -> None:
    rule = policy_copy / "rules" / "ns" / "fix_ns_001.rego"
    rule.write_text(rule.read_text().replace("# custom:", "# custom: [unclosed"))
    with pytest.raises(PolicyError, match=r"fix_ns_001\.rego:\d+: malformed METADATA"):
        load_policy_set(policy_copy)


def test_duplicate_data_document_is_rejected(policy_copy: Path) -> None:
    (policy_copy / "rules" / "data").mkdir()
    (policy_copy / "rules" / "data" / "confidential.json").write_text("{}")
    with pytest.raises(PolicyError, match="defined twice"):
        load_policy_set(policy_copy)


def test_policy_digest_changes_with_content(policy_copy: Path) -> None:
    before = load_policy_set(policy_copy).digest
    assert before == load_policy_set(policy_copy).digest
    (policy_copy / "data" / "confidential.json").write_text('{"runtime_classes": []}')
    assert load_policy_set(policy_copy).digest != before


def test_tests_are_loaded_only_on_request(policy_copy: Path) -> None:
    (policy_copy / "rules" / "ns" / "fix_ns_001_test.rego").write_text(
        "package phistack.rules.fix_ns_001_test\n\nimport rego.v1\n\ntest_x if true\n"
    )
    assert not any(m.is_test for m in load_policy_set(policy_copy).modules)
    assert any(m.is_test for m in load_policy_set(policy_copy, include_tests=True).modules)


def test_metadata_is_indexed_by_rule_id() -> None:
    rules = load_policy_set(STARTER_POLICIES).rules_metadata()
    assert set(rules) == {"FIX-CC-001", "FIX-NS-001", "FIX-ADV-001"}
    assert rules["FIX-CC-001"]["custom"]["severity"] == "critical"
    assert rules["FIX-CC-001"]["package"] == "phistack.rules.fix_cc_001"


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_prepared_references_give_the_same_answers(engine: str) -> None:
    policies = load_policy_set(STARTER_POLICIES)
    plain, prepared = make_evaluator(engine, policies), make_evaluator(engine, policies)
    references = ["data.phistack.main.result", "data.phistack.main.no_such_rule", "data.confidential.runtime_classes"]
    # Expressions are not rule references: a prepared engine must still answer them ad hoc.
    prepared.prepare([*references, "data.confidential.runtime_classes[0]", "1 + 1"])
    documents = [{"plan": {"resources": []}}, {"plan": {"resources": [{"type": "kubernetes:core/v1:Pod"}]}}, {}]
    for document in documents:
        for reference in [*references, "data.confidential.runtime_classes[0]", "1 + 1"]:
            assert prepared.query(reference, document) == plain.query(reference, document), (reference, document)


def test_regopy_prepare_compiles_rule_references_into_one_bundle() -> None:
    from phistack.engine.regopy_engine import RegopyEvaluator

    evaluator = make_evaluator("regopy", load_policy_set(STARTER_POLICIES))
    assert isinstance(evaluator, RegopyEvaluator)
    evaluator.prepare(["data.phistack.main.result", "data.confidential.runtime_classes[0]", "count([])"])
    assert evaluator.prepared_references == {"data.phistack.main.result"}
