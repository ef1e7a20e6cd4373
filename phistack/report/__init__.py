"""Report formats: an enum mapped to formatter functions (a test proves every format is mapped)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from phistack.findings import Decision
from phistack.report.common import coverage_summary


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    MARKDOWN = "markdown"


@dataclass(frozen=True)
class ReportContext:
    """Where the evaluated plan came from, for locations in SARIF and headings elsewhere."""

    artifact: str  # path of the stack config or plan file, relative to the repository when possible
    tool_version: str


Formatter = Callable[[Decision, ReportContext], str]


def formatter_for(fmt: Format) -> Formatter:
    """The renderer of ``fmt``: ``render`` of the module ``phistack.report.<fmt>``, the only one imported."""
    module = importlib.import_module(f"phistack.report.{fmt.value}")
    render: Formatter = module.render
    return render


def summary_line(decision: Decision) -> str:
    """The one line ``check`` and ``preview`` print on stderr; it says so when nothing was in scope."""
    counts = decision.counts()
    line = (
        f"{decision.stack}: {decision.verdict.upper()} — {counts['blocking']} blocking, "
        f"{counts['advisory']} advisory, {counts['waived']} waived ({decision.engine})"
    )
    scope = coverage_summary(decision.coverage)
    return f"{line} — {scope}" if scope else line
