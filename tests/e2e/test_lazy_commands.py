"""Start-up pays only for the command run: ``--help`` imports no command module, and a gate check of a plan
file never loads the Pulumi SDK, the key broker, the evidence pack, the offline planner or torch."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys

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
