"""``phistack preview``: gate what ``pulumi preview`` says a stack would deploy, without deploying it."""

from __future__ import annotations

import argparse
from typing import Any

from phistack.commands import SUMMARIES
from phistack.commands._deploy import add_deploy_options, deploy_request
from phistack.deploy.gated import gated_preview
from phistack.errors import ExitCode
from phistack.report import Format
from phistack.report.emit import print_summary, write_report


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
    add_deploy_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    gated = gated_preview(deploy_request(args))
    write_report(gated.decision, gated.artifact, Format(args.format), args.output)
    print_summary(gated.decision)
    return ExitCode.OK if gated.decision.allowed else ExitCode.DENIED
