"""`phistack plan`, `check` and `demo` driven through a subprocess, as a user or CI would."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from tests.support.cli import assert_one_line_error, run_cli
from tests.support.paths import FIXTURES, MINI_PROJECT, SARIF_SCHEMA, STARTER_POLICIES
from tests.support.waivers import policy_copy_with_test_approvers, write_signed

MINI = ["--project", str(MINI_PROJECT)]
STARTER = ["--policies", str(STARTER_POLICIES)]
NOW = ["--now", "2026-11-27T12:00:00Z"]


@pytest.fixture(scope="module")
def dev_plan_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("plans") / "dev.json"
    proc = run_cli("plan", "dev", *MINI, "-o", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "wrote plan of dev (6 resources)" in proc.stderr
    return path


def test_plan_to_stdout_is_byte_identical_across_runs() -> None:
    first = run_cli("plan", "dev", *MINI)
    second = run_cli("plan", "dev", *MINI)
    assert first.returncode == 0 and first.stdout == second.stdout
    assert json.loads(first.stdout)["schema_version"] == "phistack.plan/v1"


def test_plan_file_matches_stdout(dev_plan_file: Path) -> None:
    assert dev_plan_file.read_text() == run_cli("plan", "dev", *MINI).stdout


@pytest.mark.parametrize(
    ("flag", "name", "stack"), [("--from-preview", "preview.json", "dev"), ("--from-state", "state.json", "prod")]
)
def test_plan_from_pulumi_documents(flag: str, name: str, stack: str) -> None:
    proc = run_cli("plan", flag, str(FIXTURES / "pulumi" / name))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stack"] == stack


@pytest.mark.parametrize(
    ("stack", "code", "verdict"),
    [("dev", 0, "ALLOWED"), ("runc", 1, "DENIED"), ("unknown", 1, "DENIED")],
)
@pytest.mark.parametrize("engine", ["regorus", "regopy"])
def test_check_exit_codes(stack: str, code: int, verdict: str, engine: str) -> None:
    proc = run_cli("check", stack, *MINI, *STARTER, *NOW, "--engine", engine)
    assert proc.returncode == code, proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1].startswith(f"{verdict}:")
    assert f"{stack}: {verdict}" in proc.stderr


def test_check_a_saved_plan(dev_plan_file: Path) -> None:
    proc = run_cli("check", "--plan", str(dev_plan_file), *MINI, *STARTER, *NOW, "--format", "json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["decision"] == "allowed"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "markdown"])
def test_every_format_through_the_cli(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    proc = run_cli("check", "runc", *MINI, *STARTER, *NOW, "--format", fmt, "-o", str(out))
    assert proc.returncode == 1 and proc.stdout == ""
    body = out.read_text()
    assert "FIX-CC-001" in body
    if fmt == "json":
        assert json.loads(body)["decision"] == "denied"
    elif fmt == "sarif":
        jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(json.loads(body))
    elif fmt == "junit":
        assert ET.fromstring(body).find("testsuite").get("failures") == "1"  # type: ignore[union-attr]


def test_engines_agree_through_the_cli() -> None:
    outputs = []
    for engine in ("regorus", "regopy"):
        proc = run_cli("check", "unknown", *MINI, *STARTER, *NOW, "--format", "json", "--engine", engine)
        doc = json.loads(proc.stdout)
        outputs.append(doc["findings"])
    assert outputs[0] == outputs[1]


def test_waiver_file_on_the_command_line(tmp_path: Path) -> None:
    waivers = write_signed(
        tmp_path / "waivers.yaml",
        "waivers:\n  - id: WVR-9\n    rule: FIX-CC-001\n    stack: runc\n    resource: '*::box-app'\n"
        "    justification: Synthetic data only in the research namespace.\n    approver: ciso@example-hospital.org\n"
        "    compensating_control: Default-deny NetworkPolicy and no PHI mounts.\n    expires: 2027-01-20\n",
    )
    policies = policy_copy_with_test_approvers(STARTER_POLICIES, tmp_path)
    proc = run_cli(
        "check", "runc", *MINI, "--policies", str(policies), *NOW, "--waivers", str(waivers), "--format", "sarif"
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["runs"][0]["results"]
    assert [r["suppressions"][0]["status"] for r in results if r["ruleId"] == "FIX-CC-001"] == ["accepted"]


# --- bad input: one line, the documented exit code, no traceback, no partial output ---------------


def test_unknown_stack_is_exit_2() -> None:
    assert_one_line_error(run_cli("check", "nosuch", *MINI, *STARTER), 2, "unknown stack 'nosuch'", "stacks:")


def test_yaml_error_in_stack_config_is_exit_2() -> None:
    assert_one_line_error(run_cli("plan", "broken", *MINI), 2, "Pulumi.broken.yaml:3: invalid YAML")


def test_failing_program_is_exit_2() -> None:
    assert_one_line_error(run_cli("plan", "failing", *MINI), 2, "stack 'failing' failed", "replicas must be positive")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{oops", "malformed JSON"),
        ('{"schema_version": "phistack.plan/v9"}', "expected 'phistack.plan/v1'"),
        ('{"schema_version": "phistack.plan/v1", "source": "mock"}', "$: 'project' is a required property"),
    ],
)
def test_bad_plan_file_is_exit_2(tmp_path: Path, content: str, fragment: str) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(content)
    assert_one_line_error(run_cli("check", "--plan", str(plan), *MINI, *STARTER), 2, str(plan), fragment)


def test_missing_plan_file_is_exit_2(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("check", "--plan", str(tmp_path / "none.json"), *MINI, *STARTER), 2, "not found")


def test_rego_syntax_error_is_exit_3_with_file_and_line(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(STARTER_POLICIES, policies)
    (policies / "rules" / "typo.rego").write_text(
        "package phistack.rules.typo\n\nimport rego.v1\n\ndeny contains x if {\n"
    )
    proc = run_cli("check", "dev", *MINI, "--policies", str(policies))
    assert_one_line_error(proc, 3, "rules/typo.rego:")


def test_unreadable_policy_data_is_exit_3(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(STARTER_POLICIES, policies)
    (policies / "data" / "confidential.json").write_text('{"runtime_classes": ')
    assert_one_line_error(
        run_cli("check", "dev", *MINI, "--policies", str(policies)), 3, "data/confidential.json:1: invalid JSON"
    )


def test_malformed_waiver_is_exit_2_never_a_pass(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - id: W\n    rule: FIX-CC-001\n")
    proc = run_cli("check", "runc", *MINI, *STARTER, "--waivers", str(waivers))
    assert_one_line_error(proc, 2, "waivers.yaml", "waivers[0].stack")


def test_unwritable_output_is_exit_2() -> None:
    # /proc refuses new files even to root, so this holds for every user.
    proc = run_cli("check", "dev", *MINI, *STARTER, "-o", "/proc/phistack-report.txt")
    assert_one_line_error(proc, 2, "/proc/phistack-report.txt: cannot write output")


def test_output_into_a_missing_directory_is_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "report.sarif"
    proc = run_cli("check", "dev", *MINI, *STARTER, "--format", "sarif", "-o", str(target))
    assert_one_line_error(proc, 2, "cannot write output")
    assert not (tmp_path / "no").exists()


def test_output_onto_a_directory_is_exit_2_and_leaves_no_temporary(tmp_path: Path) -> None:
    proc = run_cli("plan", "dev", *MINI, "-o", str(tmp_path))
    assert_one_line_error(proc, 2, "cannot write output")
    assert list(tmp_path.iterdir()) == []


def test_failed_plan_leaves_no_output_file(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    assert run_cli("plan", "broken", *MINI, "-o", str(out)).returncode == 2
    assert not out.exists()


def test_usage_errors_are_exit_2() -> None:
    assert run_cli("check").returncode == 2
    assert run_cli("check", "dev", "--format", "pdf").returncode == 2
    assert run_cli("check", "dev", "--plan", "x.json").returncode == 2
    assert run_cli("nosuchcommand").returncode == 2


def test_demo_prints_a_verdict_per_stack(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(MINI_PROJECT, project)
    for stack in ("broken", "failing", "unknown"):
        (project / "prog" / f"Pulumi.{stack}.yaml").unlink()
    (project / "prog" / "Pulumi.runc.yaml").rename(project / "prog" / "Pulumi.noncompliant-runc.yaml")
    proc = run_cli("demo", "--project", str(project), *STARTER, *NOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:4] == ["STACK", "RESOURCES", "VERDICT", "EXPECTED"]
    rows = {line.split()[0]: line.split() for line in lines[2:] if line.strip() and not line.startswith("policy")}
    assert rows["dev"][2:4] == ["ALLOWED", "yes"]
    assert rows["noncompliant-runc"][2:4] == ["DENIED", "yes"] and rows["noncompliant-runc"][-1] == "FIX-CC-001"
    assert "every verdict as expected" in proc.stdout
