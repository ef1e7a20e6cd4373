"""The OPA adapters, against OPA's documented shapes: `opa eval` output and the REST API."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from phistack.engine import UNDEFINED, load_policy_set, make_evaluator
from phistack.engine.opa_binary import parse_eval_output
from phistack.engine.opa_server import query_path
from phistack.errors import InputError, PolicyError
from phistack.gate import evaluate
from phistack.plan.offline import plan_stack
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.opa_rest import opa_standin_server
from tests.support.paths import MINI_PROJECT, STARTER_POLICIES

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def runc_plan() -> dict:
    return plan_stack(MINI_PROJECT, "runc")


# --- `opa eval --format json` output (documented shapes) ------------------------------------------


def test_eval_output_value_undefined_and_errors() -> None:
    ok = '{"result": [{"expressions": [{"value": {"deny": []}, "text": "data.x", "location": {"row": 1, "col": 1}}]}]}'
    assert parse_eval_output(ok, 0) == {"deny": []}
    assert parse_eval_output("{}", 0) is UNDEFINED
    failure = json.dumps(
        {
            "errors": [
                {
                    "message": "unexpected eof token",
                    "code": "rego_parse_error",
                    "location": {"file": "/tmp/b/policy/rules/x.rego", "row": 7, "col": 1},
                }
            ]
        }
    )
    with pytest.raises(PolicyError, match=r"rules/x\.rego:7: unexpected eof token"):
        parse_eval_output(failure, 1, "/tmp/b/policy")


def test_opa_engine_without_binary_is_a_clear_input_error(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(InputError, match="no `opa` executable on PATH; install it"):
        make_evaluator("opa", load_policy_set(STARTER_POLICIES))


@pytest.fixture
def opa_standin(tmp_path: Path) -> Path:
    """A stand-in `opa` executable: checks the documented `opa eval` arguments, answers via regorus."""
    script = tmp_path / "bin" / "opa"
    script.parent.mkdir()
    script.write_text(f"""#!{sys.executable}
import json, pathlib, sys
import regorus
args = sys.argv[1:]
assert args[:3] == ["eval", "--format", "json"], args
pairs = dict(zip(args[3:-1:2], args[4:-1:2]))
data_dirs = [args[i + 1] for i, a in enumerate(args) if a == "--data"]
engine = regorus.Engine()
for target in data_dirs:
    path = pathlib.Path(target)
    if path.is_dir():
        for rego in sorted(path.rglob("*.rego")):
            engine.add_policy(str(rego), rego.read_text())
    else:
        engine.add_data_json(path.read_text())
engine.set_input_json(pathlib.Path(pairs["--input"]).read_text())
print(engine.eval_query_as_json(args[-1]))
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_opa_binary_adapter_matches_the_embedded_engine(opa_standin: Path, runc_plan: dict) -> None:
    policies = load_policy_set(STARTER_POLICIES)
    via_opa = evaluate(runc_plan, policies, engine="opa", now=NOW, engine_options={"opa_path": str(opa_standin)})
    embedded = evaluate(runc_plan, policies, engine="regorus", now=NOW)
    assert [f.to_json() for f in via_opa.findings] == [f.to_json() for f in embedded.findings]


@pytest.mark.skipif(shutil.which("opa") is None, reason="no `opa` binary on PATH; the reference engine cannot run here")
def test_live_opa_binary_agrees_with_regorus(runc_plan: dict) -> None:
    policies = load_policy_set(Path(__file__).resolve().parents[1] / "policies")
    live = evaluate(runc_plan, policies, engine="opa", now=NOW)
    assert [f.to_json() for f in live.findings] == [
        f.to_json() for f in evaluate(runc_plan, policies, engine="regorus", now=NOW).findings
    ]


# --- the REST API ------------------------------------------------------------------------------------


def test_query_path_accepts_only_data_references() -> None:
    assert query_path("data.phistack.main.result") == "phistack/main/result"
    with pytest.raises(PolicyError, match="data references only"):
        query_path("x := 1")


def test_opa_server_adapter_loads_policies_then_queries(runc_plan: dict) -> None:
    policies = load_policy_set(STARTER_POLICIES)
    with opa_standin_server() as opa:
        decision = evaluate(runc_plan, policies, engine="opa-server", now=NOW, engine_options={"opa_url": opa.url})
        puts = [path for method, path, _ in opa.requests if method == "PUT"]
        posts = [(path, body) for method, path, body in opa.requests if method == "POST"]
    assert "/v1/policies/phistack/main.rego" in puts and "/v1/data/confidential" in puts
    assert posts[0][0] == "/v1/data/phistack/main/result"
    assert posts[0][1]["input"]["plan"]["stack"] == "runc" and posts[0][1]["input"]["today"] == "2026-11-27"
    embedded = evaluate(runc_plan, policies, engine="regorus", now=NOW)
    assert [f.to_json() for f in decision.findings] == [f.to_json() for f in embedded.findings]


def test_opa_server_needs_a_url_and_a_reachable_server() -> None:
    policies = load_policy_set(STARTER_POLICIES)
    with pytest.raises(InputError, match="needs --opa-url"):
        make_evaluator("opa-server", policies)
    with pytest.raises(PolicyError, match="refused the policy set"):
        make_evaluator("opa-server", policies, opa_url="http://127.0.0.1:9")


def test_check_cli_with_opa_server() -> None:
    with opa_standin_server() as opa:
        proc = run_cli(
            "check",
            "runc",
            "--project",
            str(MINI_PROJECT),
            "--policies",
            str(STARTER_POLICIES),
            "--engine",
            "opa-server",
            "--opa-url",
            opa.url,
            "--format",
            "json",
        )
    assert proc.returncode == 1, proc.stderr
    assert {f["id"] for f in json.loads(proc.stdout)["findings"]} == {"FIX-CC-001", "FIX-ADV-001"}


def test_check_cli_with_opa_missing_is_exit_2() -> None:
    env = {"PATH": os.path.dirname(sys.executable)}
    proc = run_cli(
        "check", "dev", "--project", str(MINI_PROJECT), "--policies", str(STARTER_POLICIES), "--engine", "opa", env=env
    )
    assert proc.returncode == 2 and "no `opa` executable on PATH" in proc.stderr


def test_evidence_gates_through_the_opa_server(tmp_path: Path) -> None:
    """evidence gates with the same settings as check: the server is asked, not bypassed."""
    with opa_standin_server() as opa:
        proc = run_cli(
            "evidence", "runc", "--no-matrix", "-o", str(tmp_path / "pack"), "--project", str(MINI_PROJECT),
            "--policies", str(STARTER_POLICIES), "--engine", "opa-server", "--opa-url", opa.url,
        )  # fmt: skip
        queries = [path for method, path, _ in opa.requests if method == "POST"]
    assert proc.returncode == 0, proc.stderr
    assert queries == ["/v1/data/phistack/main/result"], opa.requests
    decision = json.loads((tmp_path / "pack" / "decision.json").read_text())
    assert decision["engine"] == "opa-server"


@pytest.mark.parametrize("command", ["check", "demo", "evidence", "preview", "up"])
def test_opa_server_without_a_url_is_one_line(command: str, tmp_path: Path) -> None:
    target = ["runc"] if command in ("check", "preview", "up") else []
    extra = ["-o", str(tmp_path / "pack"), "runc"] if command == "evidence" else []
    proc = run_cli(
        command, *target, *extra, "--project", str(MINI_PROJECT), "--policies", str(STARTER_POLICIES),
        "--engine", "opa-server",
    )  # fmt: skip
    assert_one_line_error(proc, 2, "--engine opa-server needs --opa-url URL")


def test_an_opa_url_without_the_server_engine_is_refused() -> None:
    proc = run_cli("check", "runc", "--project", str(MINI_PROJECT), "--opa-url", "http://127.0.0.1:9")
    assert_one_line_error(proc, 2, "--opa-url needs --engine opa-server")
