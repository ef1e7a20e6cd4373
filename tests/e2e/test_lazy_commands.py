"""Start-up pays only for the command run: ``--help`` imports no command module, and a gate check of a plan
file never loads the Pulumi SDK, the key broker, the evidence pack, the offline planner or torch."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from phistack import commands as phistack_commands
from runtime import commands as runtime_commands
from tests.support.paths import FIXTURES, REPO

_LOADED = """
import json, sys
from {cli} import main
try:
    code = main(sys.argv[1:])
except SystemExit as done:
    code = done.code
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after(cli: str, *argv: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", _LOADED.format(cli=cli), *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize(("cli", "package"), [("phistack.cli", "phistack"), ("runtime.cli", "runtime")])
def test_help_imports_no_command(cli: str, package: str) -> None:
    loaded = _modules_after(cli, "--help")
    assert not {m for m in loaded if m.startswith(f"{package}.commands.")}, loaded
    assert not {"pulumi", "torch", "regorus", "pydantic", "cryptography"} & {m.split(".")[0] for m in loaded}


def test_check_of_a_plan_file_loads_only_the_gate() -> None:
    plan = FIXTURES / "plans" / "phi-compliant.json"
    loaded = _modules_after("phistack.cli", "check", "--plan", str(plan), "--now", "2026-11-27T12:00:00Z")
    assert "phistack.commands.check" in loaded and "phistack.gate" in loaded
    heavy = {"pulumi", "pulumi_kubernetes", "torch", "jinja2", "jsonschema"}
    assert not heavy & {m.split(".")[0] for m in loaded}, heavy & {m.split(".")[0] for m in loaded}
    for module in ("phistack.keybroker", "phistack.evidence", "phistack.plan.offline", "phistack.deploy"):
        assert not {m for m in loaded if m == module or m.startswith(module + ".")}, module
    others = {m for m in loaded if m.startswith("phistack.commands.")} - {"phistack.commands.check"}
    assert others <= {"phistack.commands._options"}, others
    # A plan that names no dataset, under a policy set whose waiver file declares none (`waivers: []`), needs
    # neither the waiver and signer models (pydantic) nor signatures, and only the report format it prints.
    assert "pydantic" not in {m.split(".")[0] for m in loaded}
    for module in ("phistack.waivers", "phistack.approvers", "phistack.signing", "phistack.deid.signers"):
        assert module not in loaded, module
    assert not {"phistack.report.sarif", "phistack.report.junit", "phistack.report.markdown"} & loaded


def test_a_plan_with_datasets_or_a_waiver_loads_what_verifies_them(tmp_path: Path) -> None:
    """The shortcuts above never skip a check: a plan naming a dataset gets its manifest verified against the
    signer list, and a waiver file with any entry is validated."""
    plan = json.loads((FIXTURES / "plans" / "phi-compliant.json").read_text())
    plan["spec"]["datasets"] = [{"name": "chest-xray-demo", "manifest": "nowhere/manifest.json"}]
    named = tmp_path / "datasets.json"
    named.write_text(json.dumps(plan))
    loaded = _modules_after("phistack.cli", "check", "--plan", str(named), "--now", "2026-11-27T12:00:00Z")
    assert {"phistack.deid.signers", "phistack.deid.facts"} <= loaded
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers: []\nnote: not a waiver key\n")
    plan_file = str(FIXTURES / "plans" / "phi-compliant.json")
    loaded = _modules_after("phistack.cli", "check", "--plan", plan_file, "--waivers", str(waivers))
    assert "phistack.waivers" in loaded


@pytest.mark.parametrize("package", [phistack_commands, runtime_commands], ids=["phistack", "runtime"])
def test_summaries_are_the_help_each_command_registers(package: object) -> None:
    """The placeholder a lazy parser shows must say what the real command says."""
    summaries: dict[str, str] = package.SUMMARIES  # type: ignore[attr-defined]
    for name, summary in summaries.items():
        parser = argparse.ArgumentParser()
        subparsers = parser.add_subparsers()
        importlib.import_module(f"{package.__name__}.{name}").register(subparsers)  # type: ignore[attr-defined]
        registered = {action.dest: action.help for action in subparsers._choices_actions}
        assert registered == {name: summary}, (name, registered)


def test_every_command_module_is_listed() -> None:
    for package in (phistack_commands, runtime_commands):
        modules = {p.stem for p in (REPO / package.__name__.replace(".", "/")).glob("*.py")}
        assert {m for m in modules if not m.startswith("_")} == set(package.SUMMARIES), package.__name__
