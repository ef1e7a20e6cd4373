"""Both command lines behave alike (runtime/clikit.py): descriptions, -v anywhere, --version, one error prefix."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from phistack import __version__
from phistack.cli import build_parser as build_phistack_parser
from runtime.cli import build_parser as build_runtime_parser
from runtime.clikit import subparsers_of
from tests.support.cli import assert_one_line_error, run_cli

PARSERS = {"phistack": build_phistack_parser(), "phistack-runtime": build_runtime_parser()}
SUBCOMMANDS = [(name, sub) for parser in PARSERS.values() for name, sub in subparsers_of(parser)]


def test_every_command_is_walked() -> None:
    names = {name for name, _ in SUBCOMMANDS}
    assert {"phistack audit verify", "phistack policy docs", "phistack-runtime model digest"} <= names


@pytest.mark.parametrize(("command", "parser"), SUBCOMMANDS, ids=[name for name, _ in SUBCOMMANDS])
def test_every_subcommand_has_a_description(command: str, parser: argparse.ArgumentParser) -> None:
    assert (parser.description or "").strip(), f"{command}: add description= to its add_parser call"


@pytest.mark.parametrize(("command", "parser"), SUBCOMMANDS, ids=[name for name, _ in SUBCOMMANDS])
def test_every_subcommand_takes_verbose(command: str, parser: argparse.ArgumentParser) -> None:
    action = parser._option_string_actions.get("-v")
    assert action is not None and "--verbose" in action.option_strings, command
    assert action.default is argparse.SUPPRESS  # so a -v given before the subcommand is not reset


@pytest.mark.parametrize(
    ("program", "argv"),
    [
        ("phistack", ["-v", "audit", "verify", "LOG"]),
        ("phistack", ["audit", "-v", "verify", "LOG"]),
        ("phistack", ["audit", "verify", "LOG", "-v"]),
        ("phistack", ["audit", "verify", "--verbose", "LOG"]),
        ("phistack-runtime", ["model", "digest", "FILE", "-v"]),
        ("phistack-runtime", ["-v", "model", "digest", "FILE"]),
    ],
)
def test_verbose_is_accepted_anywhere(program: str, argv: list[str]) -> None:
    assert PARSERS[program].parse_args(argv).verbose is True
    assert PARSERS[program].parse_args([a for a in argv if a not in ("-v", "--verbose")]).verbose is False


@pytest.mark.parametrize(("module", "program"), [("phistack", "phistack"), ("runtime", "phistack-runtime")])
def test_version_on_both_command_lines(module: str, program: str) -> None:
    proc = run_cli("--version", module=module)
    assert (proc.returncode, proc.stdout) == (0, f"{program} {__version__}\n")


@pytest.mark.parametrize(
    ("module", "args", "prefix"),
    [
        ("phistack", ("evidence", "--bogus"), "phistack: error:"),
        ("phistack", ("audit", "verify"), "phistack: error:"),
        ("phistack", ("policy", "docs", "--nope"), "phistack: error:"),
        ("runtime", ("model", "digest"), "phistack-runtime: error:"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else v,
)
def test_usage_errors_carry_the_program_name_alone(module: str, args: tuple[str, ...], prefix: str) -> None:
    proc = run_cli(*args, module=module)
    assert_one_line_error(proc, 2)
    assert proc.stderr.startswith(prefix + " "), proc.stderr


def test_verbose_after_the_subcommand_shows_the_cause(tmp_path: Path) -> None:
    proc = run_cli("audit", "verify", str(tmp_path / "missing.log"), "-v")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[1].startswith("  caused by: FileNotFoundError"), proc.stderr


def test_warnings_are_one_line_with_the_program_name(capsys) -> None:
    """A Python warning raised by a command (a development KEK, a pinned nonce) reads like every other status
    line: ``prog: warning: ...``, without the source path and code line Python would print."""
    import warnings

    from runtime import clikit

    parser = clikit.Parser(prog="tool")
    parser.add_argument("-v", "--verbose", action="store_true")

    def handler(_args: object) -> int:
        warnings.warn("file KEK k.key is for development only", UserWarning, stacklevel=1)
        return 0

    parser.set_defaults(handler=handler)
    assert clikit.run(parser, []) == 0
    assert capsys.readouterr().err == "tool: warning: file KEK k.key is for development only\n"
