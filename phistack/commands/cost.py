"""``phistack cost``: GPU cost of a stack per hour and per month, from the price catalogue."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from phistack.commands import SUMMARIES
from phistack.cost import CATALOGUE, estimate, format_table, load_catalogue
from phistack.errors import ExitCode
from phistack.plan.offline import load_project
from phistack.workspace import project_root
from stacks.spec import load_stack_spec


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cost",
        help=SUMMARIES["cost"],
        description=(
            "Price every GPU node pool of the stack (GPUs per node × nodes × price per GPU-hour) from the "
            f"catalogue in {CATALOGUE} (or --catalogue) and print a table, or JSON with --format json. "
            "A month is the catalogue's hours_per_month (730)."
        ),
    )
    parser.add_argument("stack", help="stack name (stacks/Pulumi.STACK.yaml)")
    parser.add_argument("--format", choices=["table", "json"], default="table", help="output format")
    parser.add_argument("--catalogue", metavar="FILE", help=f"price catalogue (default: {CATALOGUE})")
    parser.add_argument("--project", metavar="DIR", help="Pulumi project directory (default: this checkout)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    root = project_root(args.project)
    project = load_project(root)
    spec = load_stack_spec(project.config_dir, args.stack)
    catalogue_path = Path(args.catalogue) if args.catalogue else root / CATALOGUE
    catalogue = load_catalogue(catalogue_path)
    source = f"stacks/Pulumi.{args.stack}.yaml"
    cost = estimate(args.stack, spec, catalogue, source, catalogue_path)
    if args.format == "json":
        sys.stdout.write(json.dumps(cost.to_json(), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(f"GPU cost of {args.stack} (on-demand, {catalogue.currency})\n\n")
        sys.stdout.write(format_table(cost))
    return ExitCode.OK
