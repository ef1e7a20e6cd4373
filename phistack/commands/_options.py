"""Options the gate commands share (check, demo, preview, up, evidence), defined once."""

from __future__ import annotations

import argparse

from phistack.engine import ENGINES
from phistack.report import Format


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """--format and -o for commands that print a gate report."""
    parser.add_argument(
        "--format", choices=[f.value for f in Format], default=Format.TEXT.value, help="report format (default: text)"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")


def add_gate_options(parser: argparse.ArgumentParser, *, waivers: bool = True) -> None:
    """Engine, policy set, waivers, evaluation time and project."""
    parser.add_argument("--engine", choices=sorted(ENGINES), default="regorus", help="Rego engine (default: regorus)")
    parser.add_argument("--policies", metavar="DIR", help="policy directory (default: PROJECT/policies)")
    if waivers:
        parser.add_argument(
            "--waivers",
            metavar="FILE",
            action="append",
            help="waiver file(s) (default: policies/waivers.yaml and stacks/waivers/STACK.yaml)",
        )
    parser.add_argument("--now", metavar="TIME", help="evaluate as of this RFC 3339 time (default: now)")
    parser.add_argument("--project", metavar="DIR", help="Pulumi project directory (default: this checkout)")
