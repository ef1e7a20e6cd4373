"""``phistack cost``: GPU cost of a stack per hour and per month, its plan priced from the price catalogue."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from phistack.commands import SUMMARIES
from phistack.cost import CATALOGUE, default_catalogue, estimate, format_table, in_plan, in_stack_config, load_catalogue
from phistack.errors import ExitCode
from phistack.workspace import plan_for, project_root


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cost",
        help=SUMMARIES["cost"],
        description=(
            "Plan STACK offline (or read --plan FILE) and price every GPU node pool it declares (GPUs per node × "
            f"nodes × price per GPU-hour) from the catalogue in {CATALOGUE} (or --catalogue; phistack's reference "
            "prices when the project keeps none), then print a table, or JSON with --format json. "
            "A month is the catalogue's hours_per_month (730)."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("stack", nargs="?", help="stack name (stacks/Pulumi.STACK.yaml)")
    source.add_argument("--plan", metavar="FILE", help="a plan document written by `phistack plan`")
    parser.add_argument("--format", choices=["table", "json"], default="table", help="output format")
    parser.add_argument("--catalogue", metavar="FILE", help=f"price catalogue (default: {CATALOGUE})")
    parser.add_argument("--project", metavar="DIR", help="Pulumi project directory (default: this checkout)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    root = project_root(args.project)
    catalogue_path = Path(args.catalogue) if args.catalogue else default_catalogue(root)
    catalogue = load_catalogue(catalogue_path)  # first: a broken catalogue is reported without planning the stack
    source = plan_for(args.stack, args.plan, root)
    locate = in_plan(source.artifact) if args.plan else in_stack_config(source.artifact)
    cost = estimate(source.plan, catalogue, catalogue_path, locate)
    if args.format == "json":
        sys.stdout.write(json.dumps(cost.to_json(), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(f"GPU cost of {cost.stack} (on-demand, {catalogue.currency})\n\n")
        sys.stdout.write(format_table(cost))
    return ExitCode.OK
