"""The one report writer of the gate commands (check, preview, up): report to stdout or ``-o``, notes and
the summary line to stderr."""

from __future__ import annotations

import sys
from pathlib import Path

from phistack import __version__
from phistack.findings import Decision
from phistack.report import Format, ReportContext, formatter_for, summary_line
from runtime.fileio import write_atomic


def write_report(decision: Decision, artifact: str, fmt: Format, output: str | None) -> None:
    """The decision in ``fmt``, written atomically to ``output`` or to stdout when it is None."""
    text = formatter_for(fmt)(decision, ReportContext(artifact, __version__))
    if output:
        write_atomic(Path(output), text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()  # before the stderr lines, so a terminal shows them in order


def print_summary(decision: Decision) -> None:
    """The waiver notes and the one-line verdict, on stderr."""
    for note in decision.waiver_notes:
        print(f"phistack: note: {note}", file=sys.stderr)
    print(f"phistack: {summary_line(decision)}", file=sys.stderr)
