"""Docs are tests: every command block of README.md and docs/*.md runs, and prints what it shows.

One test per block (id ``file:line``). The blocks of one file run in order in one shell, in a fresh
copy of the repository; running a single block first replays the blocks before it in its file.
Output is compared after :func:`tests.support.docblocks.normalise` (digests, timestamps, temporary
paths, ports, durations). A block that needs what this machine lacks is marked
``<!-- doctest: skip REASON -->`` and reported as skipped with that reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.docblocks import Block, blocks, difference, fences, matches, normalise
from tests.support.docshell import DocShell, venv_bin
from tests.support.paths import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCKS = [block for doc in DOCS for block in blocks(doc)]
COMMAND_TIMEOUT_S = 180


class Sessions:
    """One shell per doc file, and how far into the file it has run."""

    def __init__(self) -> None:
        self._shells: dict[Path, DocShell] = {}
        self._next: dict[Path, int] = {}

    def shell_for(self, block: Block) -> DocShell:
        """The file's shell, after running (unchecked) every earlier block of the file not yet run."""
        if block.path not in self._shells:
            self._shells[block.path] = DocShell(REPO, venv_bin())
            self._next[block.path] = 0
        shell = self._shells[block.path]
        same_file = [candidate for candidate in BLOCKS if candidate.path == block.path]
        position = same_file.index(block)
        for earlier in same_file[self._next[block.path] : position]:
            if earlier.skip is None:
                for command in earlier.commands:
                    shell.run(command.text, COMMAND_TIMEOUT_S)
        self._next[block.path] = position + 1
        return shell

    def close(self) -> None:
        for shell in self._shells.values():
            shell.close()


@pytest.fixture(scope="module")
def sessions() -> Iterator[Sessions]:
    opened = Sessions()
    yield opened
    opened.close()


def test_there_are_command_blocks() -> None:
    assert len([block for block in BLOCKS if block.skip is None]) >= 20


@pytest.mark.parametrize("block", BLOCKS, ids=[block.id(REPO) for block in BLOCKS])
def test_block_prints_what_it_shows(block: Block, sessions: Sessions) -> None:
    if block.skip is not None:
        pytest.skip(block.skip)
    shell = sessions.shell_for(block)
    failures = []
    for command in block.commands:
        actual = normalise(shell.run(command.text, COMMAND_TIMEOUT_S), shell.workdir)
        expected = normalise("\n".join(command.expected))
        if not matches(expected, actual):
            where = f"{block.path.relative_to(REPO)}:{command.line}"
            failures.append(f"{where}: $ {command.text}\n{difference(expected, actual)}")
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


@pytest.mark.parametrize("doc", DOCS, ids=[str(doc.relative_to(REPO)) for doc in DOCS])
def test_no_transcript_escapes_the_tests(doc: Path) -> None:
    """A transcript must be in a command block, and a command block must run or say why not."""
    problems = []
    for fence in fences(doc.read_text(encoding="utf-8")):
        language = fence.info.split()[0] if fence.info else ""
        prompts = [line for line in fence.body if line.startswith("$ ")]
        if prompts and language not in {"console", "sh", "bash", "shell"}:
            problems.append(f"line {fence.line}: `$ ` commands in a ```{language} block: make it ```console")
    for block in blocks(doc):
        if block.skip is None and not block.commands:
            problems.append(f"line {block.line}: a command block without `$ ` commands: add prompts or mark it skip")
        slow = re.match(r"slow: covered by (\S+)", block.skip or "")
        if block.skip is not None and block.skip.startswith("slow") and not (slow and (REPO / slow[1]).exists()):
            problems.append(f"line {block.line}: a slow block is skipped only when `slow: covered by tests/…` exists")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
