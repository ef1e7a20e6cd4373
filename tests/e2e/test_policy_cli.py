"""`phistack policy test` and `phistack policy docs` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import assert_one_line_error, run_cli


@pytest.mark.parametrize("engine", ["regorus", "regopy"])
def test_policy_test_passes_on_the_hipaa_library(engine: str) -> None:
    # The whole library: about 2.5 minutes on regopy (one bundle per test file), seconds on regorus.
    proc = run_cli("policy", "test", "--engine", engine, "policies/hipaa", timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"engine: {engine}" in proc.stdout
    assert "FAIL" not in proc.stdout
    assert "rules with tests:" in proc.stdout


def test_policy_test_json_and_coverage() -> None:
    proc = run_cli("policy", "test", "--format", "json", "hipaa/confidential-compute")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["failed"] == 0 and report["passed"] > 0
    assert report["rules_tested"]["PHI-CC-001"] is True
    assert any(path.startswith("hipaa/") for path in report["line_coverage"])


def _suite(tmp_path: Path, test_body: str) -> Path:
    root = tmp_path / "policies"
    (root / "demo").mkdir(parents=True)
    (root / "demo" / "demo.rego").write_text("package demo\n\nimport rego.v1\n\nanswer := 42\n")
    (root / "demo" / "demo_test.rego").write_text("package demo_test\n\nimport rego.v1\n\n" + test_body)
    return root


@pytest.mark.parametrize("engine", ["regorus", "regopy"])
def test_failing_test_exits_1_and_is_named(tmp_path: Path, engine: str) -> None:
    body = "test_ok if {\n\tdata.demo.answer == 42\n}\n\ntest_wrong if {\n\tdata.demo.answer == 7\n}\n"
    root = _suite(tmp_path, body)
    proc = run_cli("policy", "test", "--engine", engine, "--policies", str(root))
    assert proc.returncode == 1
    assert "data.demo_test.test_wrong: FAIL" in proc.stdout
    assert "PASS: 1/2" in proc.stdout and "FAIL: 1/2" in proc.stdout


def test_syntax_error_exits_3(tmp_path: Path) -> None:
    root = _suite(tmp_path, "test_broken if {\n\tdata.demo.answer ==\n}\n")
    proc = run_cli("policy", "test", "--policies", str(root))
    assert_one_line_error(proc, 3, "demo_test.rego")


def test_no_tests_exits_2(tmp_path: Path) -> None:
    root = _suite(tmp_path, "")
    assert_one_line_error(run_cli("policy", "test", "--policies", str(root)), 2, "no Rego tests")


def test_policy_docs_check_is_clean() -> None:
    proc = run_cli("policy", "docs", "--check")
    assert proc.returncode == 0, proc.stderr


def test_policy_docs_check_detects_drift(tmp_path: Path) -> None:
    stale = tmp_path / "POLICIES.md"
    stale.write_text("# outdated\n")
    assert run_cli("policy", "docs", "--check", "-o", str(stale)).returncode == 1
    assert run_cli("policy", "docs", "-o", str(stale)).returncode == 0
    assert run_cli("policy", "docs", "--check", "-o", str(stale)).returncode == 0


def test_policy_test_on_opa_without_the_binary_is_one_line_with_the_install_hint(tmp_path: Path) -> None:
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    proc = run_cli(
        "policy", "test", "--engine", "opa", "policies/hipaa", env={"PATH": str(empty_path)}
    )  # fmt: skip
    assert_one_line_error(proc, 2, "no `opa` executable on PATH", "use --engine regorus")
    assert proc.stdout == ""


def test_policy_test_reports_a_regopy_failure_on_one_line_per_file(tmp_path: Path) -> None:
    # rego-cpp 1.5 prints object.get over `data` with a default as something that is not JSON.
    root = _suite(tmp_path, 'test_reads_data if {\n  object.get(data, ["demo", "missing"], []) == []\n}\n')
    proc = run_cli("policy", "test", "--engine", "regopy", "--policies", str(root), str(root))
    assert "Traceback" not in proc.stdout + proc.stderr and proc.stderr == ""
    assert proc.returncode == 1
    assert "test_reads_data: FAIL (error: policy error: regopy could not read its own result" in proc.stdout


def test_an_engine_error_names_its_file_and_line_or_says_how_to_get_them(tmp_path: Path) -> None:
    """Two private helpers of the same name in a rule and its test: regorus names the file and line; regopy's
    binding gives no detail, so its line says which engine will (never a bare ``<error>``)."""
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "r.rego").write_text(
        "package x.r\nimport rego.v1\n_helper(a) := a + 1\ndeny contains 1 if _helper(1) == 2\n"
    )
    (tmp_path / "p" / "r_test.rego").write_text(
        "package x.r\nimport rego.v1\n_helper(a) := a + 2\ntest_one if count(deny) == 1\n"
    )
    found = {}
    for engine in ("regorus", "regopy"):
        proc = run_cli("policy", "test", "--engine", engine, "--policies", str(tmp_path), str(tmp_path))
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        found[engine] = next(line for line in proc.stdout.splitlines() if "test_one: FAIL" in line)
    assert "p/r.rego:4: functions must not produce multiple outputs" in found["regorus"]
    assert "<error>" not in found["regopy"] and "--engine regorus for its file and line" in found["regopy"]
