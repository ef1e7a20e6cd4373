"""``phistack check``: evaluate the policies against a stack's plan and report the decision."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from phistack import __version__
from phistack.commands import SUMMARIES
from phistack.commands._options import add_gate_options, add_report_options
from phistack.errors import ExitCode
from phistack.gate import evaluate
from phistack.report import Format, ReportContext, formatter_for, summary_line
from phistack.signing import load_private_key, sign_decision
from phistack.workspace import parse_now, plan_for, policies_for, project_root, waivers_for
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
    parser.add_argument(
        "--opa-url", metavar="URL", help="OPA server for --engine opa-server, e.g. http://127.0.0.1:8181"
    )
    parser.add_argument("--sign", metavar="KEY", help="Ed25519 private key (PEM): also write a signed decision record")
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="where --sign writes the decision record (default: phistack-decision-STACK.json)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    project = project_root(args.project)
    now = parse_now(args.now)
    # Policies first: a broken policy set is exit 3 whatever the stack says.
    policies = policies_for(args.policies, project)
    signing_key = load_private_key(Path(args.sign)) if args.sign else None
    source = plan_for(args.stack, args.plan, project)
    waivers = waivers_for(args.waivers, policies, project, source.plan["stack"], now.date())
    engine_options = {"opa_url": args.opa_url} if args.engine == "opa-server" else {}
    decision = evaluate(
        source.plan, policies, engine=args.engine, now=now, waivers=waivers, engine_options=engine_options
    )
    report = formatter_for(Format(args.format))(decision, ReportContext(source.artifact, __version__))
    if args.output:
        write_atomic(Path(args.output), report)
    else:
        sys.stdout.write(report)
    if signing_key is not None:
        record_path = Path(args.record or f"phistack-decision-{decision.stack}.json")
        record = sign_decision(decision, signing_key, source.artifact)
        write_atomic(record_path, json.dumps(record, indent=2, sort_keys=True) + "\n")
        print(f"phistack: signed decision record written to {record_path}", file=sys.stderr)
    for note in decision.waiver_notes:
        print(f"phistack: note: {note}", file=sys.stderr)
    print(f"phistack: {summary_line(decision)}", file=sys.stderr)
    return ExitCode.OK if decision.allowed else ExitCode.DENIED
