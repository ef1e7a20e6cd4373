"""The layers of docs/ARCHITECTURE.md, enforced: which package may import which.

Every import statement counts, at module level or inside a function (a lazy import is still a
dependency), read from the source with ``ast`` so that nothing needs to be importable to be checked.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPO

# Top-level package → first-party packages it must never import (directly or lazily).
FORBIDDEN = {
    "runtime": {"phistack", "modules", "stacks"},  # the container ships runtime alone
    "modules": {"phistack", "stacks"},  # components are reusable without the CLI
    "phistack": {"modules", "stacks"},  # an installed wheel runs without the Pulumi program
}
FIRST_PARTY = {"phistack", "runtime", "modules", "stacks", "tests", "bench", "scripts"}
# Where a command line may be parsed: argparse belongs to the command layer alone.
ARGPARSE_ALLOWED = ("phistack/cli.py", "phistack/commands/", "runtime/cli.py", "runtime/clikit.py", "runtime/commands/")


def imports_of(path: Path, root: Path = REPO) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in ``path``; relative imports resolved against ``root``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = path.relative_to(root).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                yield node.lineno, f"{base}.{node.module}" if node.module else base
            elif node.module:
                yield node.lineno, node.module


def sources(top: str) -> list[Path]:
    return sorted((REPO / top).rglob("*.py"))


def violations(top: str, rule: str, bad: Callable[[Path, str], bool]) -> list[str]:
    found = []
    for path in sources(top):
        for line, module in imports_of(path):
            if bad(path, module):
                found.append(f"{path.relative_to(REPO)}:{line}: imports {module} ({rule})")
    return found


@pytest.mark.parametrize("top", sorted(FORBIDDEN))
def test_layers_import_only_downwards(top: str) -> None:
    forbidden = FORBIDDEN[top]
    assert sources(top), f"{top}/ has no Python sources: the test would pass vacuously"
    found = violations(top, f"{top} never imports {', '.join(sorted(forbidden))}",
                       lambda _, module: module.split(".")[0] in forbidden)  # fmt: skip
    assert not found, "\n".join(found)


@pytest.mark.parametrize("top", ["phistack", "runtime", "modules", "stacks"])
def test_shipped_code_never_imports_tests_or_benchmarks(top: str) -> None:
    found = violations(top, "tests and benchmarks are not shipped",
                       lambda _, module: module.split(".")[0] in {"tests", "bench", "scripts"})  # fmt: skip
    assert not found, "\n".join(found)


def test_only_the_command_layer_imports_commands() -> None:
    """deploy, evidence, keybroker and the gate never reach up into the command layer."""
    found = violations("phistack", "only phistack/commands and phistack/cli.py import phistack.commands",
                       lambda path, module: module.startswith("phistack.commands")
                       and not _in_command_layer(path))  # fmt: skip
    assert not found, "\n".join(found)


@pytest.mark.parametrize("top", ["phistack", "runtime"])
def test_argparse_only_in_the_command_layer(top: str) -> None:
    found = violations(top, "argument parsing belongs to the command layer",
                       lambda path, module: module == "argparse" and not _in_command_layer(path))  # fmt: skip
    assert not found, "\n".join(found)


def _in_command_layer(path: Path) -> bool:
    relative = path.relative_to(REPO).as_posix()
    return any(relative == allowed or relative.startswith(allowed) for allowed in ARGPARSE_ALLOWED)


def test_the_scanner_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """The checks above are only as good as the scanner: prove it finds what they look for."""
    probe = tmp_path / "phistack" / "deploy" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("def f():\n    from stacks.spec import X\n    from ..commands import check\n", encoding="utf-8")
    assert [module for _, module in imports_of(probe, tmp_path)] == ["stacks.spec", "phistack.commands"]
