"""``phistack up``: deploy a stack only if the gate allows its real preview, and record the decision."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from phistack.commands import SUMMARIES
from phistack.commands._deploy import add_deploy_options, deploy_request
from phistack.deploy.gated import deploy, gated_preview
from phistack.deploy.pulumi_cli import DeployError
from phistack.errors import ExitCode
from phistack.report import Format
from phistack.report.emit import print_summary, write_report
from phistack.workspace import relative


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "up",
        help=SUMMARIES["up"],
        description=(
            "Run `pulumi preview --json` on STACK, evaluate every policy against it and refuse to deploy when "
            "the gate denies (exit 1, findings printed). When it allows, run `pulumi up` and store the decision "
            "record in PROJECT/.state/decisions/STACK/. Exit codes: 0 deployed, 1 denied, 2 usage, bad input, "
            "no Pulumi CLI or a failed update, 3 policy or engine error."
        ),
    )
    add_deploy_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    request = deploy_request(args)
    gated = gated_preview(request)
    write_report(gated.decision, gated.artifact, Format(args.format), args.output)
    print_summary(gated.decision)
    if not gated.decision.allowed:
        blocking = gated.decision.counts()["blocking"]
        print(
            f"phistack: refusing to deploy {request.stack}: the gate denied its preview "
            f"({blocking} blocking finding{'s' if blocking != 1 else ''}); `pulumi up` was not run",
            file=sys.stderr,
        )
        return ExitCode.DENIED
    deployment = deploy(gated, request)
    outcome = deployment.outcome
    if outcome.result != "succeeded":
        raise DeployError(
            f"pulumi up of stack {request.stack!r} failed: {outcome.error or outcome.result} "
            f"(decision record {relative(deployment.record)})"
        )
    changes = ", ".join(f"{op} {count}" for op, count in sorted(outcome.resource_changes.items())) or "no changes"
    print(
        f"phistack: deployed {request.stack} ({changes}); decision record {relative(deployment.record)}",
        file=sys.stderr,
    )
    return ExitCode.OK
