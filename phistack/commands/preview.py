"""``phistack preview``: gate what ``pulumi preview`` says a stack would deploy, without deploying it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from phistack import __version__
from phistack.commands import SUMMARIES
from phistack.deploy.gated import GatedPreview, GateRequest, add_arguments, gated_preview
from phistack.errors import ExitCode
from phistack.report import Format, ReportContext, formatter_for, summary_line
from runtime.fileio import write_atomic


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "preview",
        help=SUMMARIES["preview"],
        description=(
            "Run `pulumi preview --json` on STACK through the Pulumi Automation API (local file backend in "
            "PROJECT/.state unless --backend), convert the preview to a plan and evaluate every policy. "
            "Nothing is deployed. Exit codes: 0 allowed, 1 denied, 2 usage, bad input or no Pulumi CLI, "
            "3 policy or engine error."
        ),
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)


def report(gated: GatedPreview, args: argparse.Namespace) -> None:
    """Write the decision in the chosen format (stdout or -o) and its summary line to stderr."""
    decision = gated.decision
    text = formatter_for(Format(args.format))(decision, ReportContext(gated.artifact, __version__))
    if args.output:
        write_atomic(Path(args.output), text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    for note in decision.waiver_notes:
        print(f"phistack: note: {note}", file=sys.stderr)
    print(f"phistack: {summary_line(decision)}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    gated = gated_preview(GateRequest.from_args(args))
    report(gated, args)
    return ExitCode.OK if gated.decision.allowed else ExitCode.DENIED
