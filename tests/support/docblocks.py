"""Command blocks of the Markdown docs: extract them, normalise what varies, compare with real output.

A command block is a fenced ```console, ```sh or ```bash block. Its lines starting with ``$ `` are
commands (a line ending in ``\\`` continues on the next one, a here-document runs to its end word);
the lines after a command, up to the next one, are the output the command is expected to print
(stdout and stderr together, as a terminal shows them). An HTML comment
``<!-- doctest: skip REASON -->`` on the line before the fence marks a block that cannot run here (a
Pulumi CLI, a GPU, a cluster, the network) and says why.

What legitimately varies between runs is normalised on both sides before comparing, here and only
here (:data:`VARIABLE_PARTS`); ``...`` stands for anything: on a line of its own, for any number of
lines, inside a line, for any text on that line.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

COMMAND_LANGUAGES = frozenset({"console", "sh", "bash", "shell"})
PROMPT = "$ "
ELLIPSIS = "..."
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+)(?P<info>[^`]*)$")
_HEREDOC = re.compile(r"<<-?\s*(?P<quote>['\"]?)(?P<word>\w+)(?P=quote)")
_DIRECTIVE = re.compile(r"^\s*<!--\s*doctest:\s*(?P<verb>\w+)\s*(?P<arg>.*?)\s*-->\s*$")

# (what varies, pattern, replacement), applied in order to expected and actual output alike. The
# docs (README, docs/CONTRACTS.md) list the same parts: keep the three in step.
VARIABLE_PARTS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "timestamps (RFC 3339, and the compact form in record file names)",
        re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\b\d{8}T\d{6}Z\b"),
        "<time>",
    ),
    (
        "digests, key ids, nonces, signatures' hex: runs of 12 or more hex digits",
        re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{12,}(?![0-9A-Za-z])"),
        "<hex>",
    ),
    ("temporary directories", re.compile(r"(?<![\w.])/tmp/[\w.+-]+"), "<tmp>"),
    ("TCP ports chosen by the system", re.compile(r"(?<=127\.0\.0\.1:)\d+"), "<port>"),
    (
        "durations (1.5s, 12ms, and the seconds members of run reports)",
        re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:s|ms)\b|(?<=\"seconds\": )\d+(?:\.\d+)?"),
        "<dur>",
    ),
)


@dataclass(frozen=True)
class Command:
    """One ``$`` command of a block and the output shown after it."""

    line: int
    text: str
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    """A fenced command block of a Markdown file."""

    path: Path
    line: int
    language: str
    commands: tuple[Command, ...]
    skip: str | None

    def id(self, root: Path) -> str:
        """``file:line`` of the opening fence, relative to ``root``."""
        return f"{self.path.relative_to(root)}:{self.line}"


@dataclass(frozen=True)
class Fence:
    """Any fenced block: its opening line, info string and body."""

    line: int
    info: str
    body: tuple[str, ...]
    directive: tuple[str, str] | None


def fences(text: str) -> list[Fence]:
    """Every fenced block of a Markdown text, with the ``doctest:`` directive just before it."""
    found: list[Fence] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        opening, fence, indent = index, match["fence"], len(match["indent"])
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != fence:
            body.append(lines[index][indent:] if lines[index].startswith(" " * indent) else lines[index])
            index += 1
        index += 1
        directive = None
        before = lines[opening - 1] if opening > 0 else ""
        if (marker := _DIRECTIVE.match(before)) is not None:
            directive = (marker["verb"], marker["arg"])
        found.append(Fence(opening + 1, match["info"].strip(), tuple(body), directive))
    return found


def parse_commands(body: tuple[str, ...], first_line: int) -> tuple[Command, ...]:
    """Split a transcript into commands and their expected output."""
    commands: list[Command] = []
    index = 0
    while index < len(body):
        if not body[index].startswith(PROMPT):
            index += 1  # text before the first prompt is not part of any command
            continue
        start = index
        parts = [body[index][len(PROMPT) :]]
        while parts[-1].endswith("\\") and index + 1 < len(body):
            index += 1
            parts.append(body[index])
        if (heredoc := _HEREDOC.search(parts[-1])) is not None:  # the document is part of the command
            while index + 1 < len(body) and parts[-1].strip() != heredoc["word"]:
                index += 1
                parts.append(body[index])
        index += 1
        output: list[str] = []
        while index < len(body) and not body[index].startswith(PROMPT):
            output.append(body[index])
            index += 1
        while output and not output[-1].strip():
            output.pop()
        commands.append(Command(first_line + 1 + start, "\n".join(parts), tuple(output)))
    return tuple(commands)


def blocks(path: Path) -> list[Block]:
    """The command blocks of one Markdown file, in order."""
    found = []
    for fence in fences(path.read_text(encoding="utf-8")):
        language = fence.info.split()[0] if fence.info else ""
        if language not in COMMAND_LANGUAGES:
            continue
        skip = None
        if fence.directive is not None:
            verb, arg = fence.directive
            if verb != "skip" or not arg:
                raise ValueError(f"{path}:{fence.line - 1}: unknown doctest directive {verb!r} (use `skip REASON`)")
            skip = arg
        found.append(Block(path, fence.line, language, parse_commands(fence.body, fence.line), skip))
    return found


def normalise(text: str, workdir: Path | None = None) -> str:
    """Replace what legitimately varies (:data:`VARIABLE_PARTS`) with placeholders; strip line ends."""
    if workdir is not None:
        text = text.replace(str(workdir), "/tmp/work")
    for _, pattern, replacement in VARIABLE_PARTS:
        text = pattern.sub(replacement, text)
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _pattern(expected: str) -> re.Pattern[str]:
    parts = []
    for line in expected.split("\n"):
        if line.strip() == ELLIPSIS:
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        pieces = [re.escape(piece) for piece in line.split(ELLIPSIS)]
        parts.append("[^\n]*?".join(pieces) + r"\n")
    return re.compile("".join(parts), re.DOTALL)


def matches(expected: str, actual: str) -> bool:
    """Whether normalised ``actual`` is what normalised ``expected`` shows, ``...`` standing for anything."""
    if ELLIPSIS not in expected:
        return expected == actual
    return _pattern(expected).fullmatch(actual + "\n" if actual else "") is not None


def difference(expected: str, actual: str) -> str:
    """A unified diff from the shown to the real (normalised) output."""
    diff = difflib.unified_diff(
        expected.splitlines(), actual.splitlines(), "shown in the doc", "real output", lineterm=""
    )
    return "\n".join(diff)
