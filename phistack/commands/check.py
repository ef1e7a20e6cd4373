"""``phistack check``: evaluate the policies against a stack's plan and report the decision."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from phistack.commands import SUMMARIES
from phistack.commands._options import add_gate_options, add_report_options, gate_settings
from phistack.errors import ExitCode
from phistack.report import Format
from phistack.report.emit import print_summary, write_report
from phistack.session import decide
from phistack.workspace import plan_for
from runtime.fileio import write_atomic


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help=SUMMARIES["check"],
        description=(
            "Evaluate every policy under policies/ against the plan of STACK (planned offline) or of "
            "--plan FILE. Exit codes: 0 allowed, 1 denied, 2 usage or bad input, 3 policy or engine error."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("stack", nargs="?", help="stack name (stacks/Pulumi.STACK.yaml)")
    source.add_argument("--plan", metavar="FILE", help="a plan document written by `phistack plan`")
    add_report_options(parser)
    add_gate_options(parser)
    parser.add_argument("--sign", metavar="KEY", help="Ed25519 private key (PEM): also write a signed decision record")
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="where --sign writes the decision record (default: phistack-decision-STACK.json)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = gate_settings(args)
    signing_key = None
    if args.sign:  # the signing library is loaded only for --sign
        from phistack.signing import load_private_key, sign_decision

        signing_key = load_private_key(Path(args.sign))
    source = plan_for(args.stack, args.plan, settings.project_dir)
    decision = decide(settings, source.plan)
    write_report(decision, source.artifact, Format(args.format), args.output)
    if signing_key is not None:
        record_path = Path(args.record or f"phistack-decision-{decision.stack}.json")
        record = sign_decision(decision, signing_key, source.artifact)
        write_atomic(record_path, json.dumps(record, indent=2, sort_keys=True) + "\n")
        print(f"phistack: signed decision record written to {record_path}", file=sys.stderr)
    print_summary(decision)
    return ExitCode.OK if decision.allowed else ExitCode.DENIED
