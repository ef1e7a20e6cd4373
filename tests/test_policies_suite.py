"""The Rego suite (HIPAA rules and the attestation policy): it passes, and both embedded engines give
the same result for every test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phistack.engine import load_policy_set
from phistack.errors import InputError, PolicyError
from phistack.policytest import SuiteReport, discover, format_text, rules_with_tests, run_suite
from tests.support.paths import REPO

POLICIES = REPO / "policies"
HIPAA = POLICIES / "hipaa"
RULE_DIRS = sorted(p.parent for p in HIPAA.glob("*/phi-*/phi_*.rego") if not p.name.endswith("_test.rego"))


@pytest.fixture(scope="module")
def reports() -> dict[str, SuiteReport]:
    return {engine: run_suite(POLICIES, engine=engine) for engine in ("regorus", "regopy")}


def test_suite_passes_on_both_engines(reports: dict[str, SuiteReport]) -> None:
    for engine, report in reports.items():
        failures = [(r.case.query, r.detail) for r in report.results if not r.passed]
        assert failures == [], (engine, failures)
        assert report.passed >= 5 * len(RULE_DIRS)
        assert any(r.case.package == "phistack.attestation_test" for r in report.results), engine


def test_engines_agree_test_by_test(reports: dict[str, SuiteReport]) -> None:
    outcomes = {
        engine: [(r.case.query, r.passed) for r in report.results]
        for engine, report in reports.items()
    }
    assert outcomes["regorus"] == outcomes["regopy"]


def test_every_rule_has_tests(reports: dict[str, SuiteReport]) -> None:
    tested = rules_with_tests(load_policy_set(POLICIES, include_tests=True))
    hipaa_ids = {d.name.upper() for d in RULE_DIRS}
    assert hipaa_ids <= set(tested)
    assert all(tested[rule_id] for rule_id in hipaa_ids), tested
    coverage = reports["regorus"].line_coverage
    assert coverage is not None and any(c.path.startswith("hipaa/") for c in coverage)


@pytest.mark.parametrize("rule_dir", RULE_DIRS, ids=lambda d: d.name)
def test_rule_has_allowed_denied_and_missing_cases(rule_dir: Path) -> None:
    tests = list(rule_dir.glob("*_test.rego"))
    assert len(tests) == 1, rule_dir
    names = re.findall(r"^(test_\w+) if", tests[0].read_text(), re.MULTILINE)
    assert len(names) == len(set(names)), "duplicate test names"
    for prefix in ("test_allowed_", "test_denied_", "test_missing_"):
        assert any(name.startswith(prefix) for name in names), (rule_dir.name, prefix)


def _tiny_policies(tmp_path: Path, test_body: str) -> Path:
    root = tmp_path / "policies"
    (root / "demo").mkdir(parents=True)
    (root / "demo" / "demo.rego").write_text("package demo\n\nimport rego.v1\n\nanswer := 42\n")
    (root / "demo" / "demo_test.rego").write_text(
        "package demo_test\n\nimport rego.v1\n\nimport data.demo\n\n" + test_body
    )
    return root


@pytest.mark.parametrize("engine", ["regorus", "regopy"])
def test_runner_counts_passes_and_failures(tmp_path: Path, engine: str) -> None:
    root = _tiny_policies(
        tmp_path,
        "test_passes if {\n\tdemo.answer == 42\n}\n\ntest_fails if {\n\tdemo.answer == 41\n}\n\n"
        "test_undefined if {\n\tdemo.nothing == 1\n}\n",
    )
    report = run_suite(root, engine=engine)
    assert (report.passed, report.failed) == (1, 2)
    text = format_text(report)
    assert "data.demo_test.test_fails: FAIL" in text and "data.demo_test.test_undefined: FAIL" in text
    assert "PASS: 1/3" in text and "FAIL: 2/3" in text


def test_runner_raises_policy_error_on_syntax_error(tmp_path: Path) -> None:
    root = _tiny_policies(tmp_path, "test_broken if {\n\tdemo.answer ==\n}\n")
    with pytest.raises(PolicyError):
        run_suite(root, engine="regorus")


def test_runner_needs_tests(tmp_path: Path) -> None:
    root = _tiny_policies(tmp_path, "")
    with pytest.raises(InputError):
        run_suite(root, engine="regorus")


def test_discover_repeated_head_counts_once(tmp_path: Path) -> None:
    root = _tiny_policies(tmp_path, "test_twice if {\n\ttrue\n}\n\ntest_twice if {\n\tfalse\n}\n")
    cases = discover(load_policy_set(root, include_tests=True))
    assert [c.name for c in cases] == ["test_twice"]


def test_every_rule_package_is_one_module() -> None:
    """regorus drops the findings of a rule package split over two files when policies/main.rego iterates
    data.phistack.rules: keep each rule (and its helpers) in one module."""
    modules = [m for m in load_policy_set(POLICIES).modules if m.package.startswith("phistack.rules.")]
    packages = [m.package for m in modules]
    assert sorted(p for p in set(packages) if packages.count(p) > 1) == []
