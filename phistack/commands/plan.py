"""``phistack plan``: the Plan document of a stack, offline or from the Pulumi CLI's own output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from phistack.commands import SUMMARIES
from phistack.errors import ExitCode
from phistack.plan.document import dump_plan, write_plan
from phistack.plan.pulumi_import import plan_from_preview, plan_from_state
from phistack.workspace import plan_for, project_root


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help=SUMMARIES["plan"],
        description=(
            "Run the stack's Pulumi program offline under the SDK's mock monitor (no Pulumi CLI, no "
            "credentials), or convert `pulumi preview --json` / `pulumi stack export` output, and write "
            "the plan document, validated against its JSON Schema."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("stack", nargs="?", help="stack name (stacks/Pulumi.STACK.yaml)")
    source.add_argument("--from-preview", metavar="FILE", help="output of `pulumi preview --json`")
    source.add_argument("--from-state", metavar="FILE", help="output of `pulumi stack export`")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    parser.add_argument("--project", metavar="DIR", help="Pulumi project directory (default: this checkout)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.from_preview:
        plan = plan_from_preview(Path(args.from_preview))
    elif args.from_state:
        plan = plan_from_state(Path(args.from_state))
    else:
        plan = plan_for(args.stack, None, project_root(args.project)).plan
    if args.output:
        write_plan(plan, Path(args.output))
        count = len(plan.resources)
        print(f"phistack: wrote plan of {plan.stack} ({count} resources) to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(dump_plan(plan))  # every source returns a validated Plan
    return ExitCode.OK
