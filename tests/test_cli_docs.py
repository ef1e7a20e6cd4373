"""Every command has help text and is documented in the README (the front door stays true)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from phistack.cli import build_parser as build_phistack_parser
from runtime.cli import build_parser as build_runtime_parser
from tests.support.paths import REPO

README = (REPO / "README.md").read_text()


def _commands(parser: argparse.ArgumentParser, prefix: str) -> Iterator[tuple[str, str]]:
    """Yield (full command, help text) for every leaf and intermediate subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                command = f"{prefix} {name}"
                yield command, helps.get(name) or ""
                yield from _commands(sub, command)


COMMANDS = [
    *_commands(build_phistack_parser(), "phistack"),
    *_commands(build_runtime_parser(), "phistack-runtime"),
]


def test_there_are_commands() -> None:
    names = {command for command, _ in COMMANDS}
    assert {"phistack plan", "phistack check", "phistack demo"} <= names


@pytest.mark.parametrize(("command", "help_text"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_command_has_help_and_is_in_the_readme(command: str, help_text: str) -> None:
    assert help_text.strip(), f"{command} has no help text"
    assert f"`{command}" in README or f"\n{command}" in README or f"$ {command}" in README, (
        f"{command} is not documented in README.md"
    )
