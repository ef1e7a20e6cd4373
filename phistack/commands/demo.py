"""``phistack demo``: the main job end to end — plan every stack offline, gate it, print the verdicts."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from phistack.commands import SUMMARIES
from phistack.commands._options import add_gate_options
from phistack.errors import ExitCode
from phistack.gate import evaluate
from phistack.plan.offline import load_project, plan_stack
from phistack.workspace import parse_now, policies_for, project_root, waivers_for

_HEADER = ("STACK", "RESOURCES", "VERDICT", "EXPECTED", "BLOCKING", "ADVISORY", "WAIVED", "BLOCKING RULES")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help=SUMMARIES["demo"],
        description=(
            "Plans each stack in stacks/ under the mock monitor, evaluates the policy set and prints one "
            "verdict per stack. Stacks named noncompliant-* are expected to be denied, all others allowed; "
            "exit 0 when every verdict is as expected, 1 otherwise."
        ),
    )
    add_gate_options(parser, waivers=False)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    root = project_root(args.project)
    project = load_project(root)
    policies = policies_for(args.policies, root)
    now = parse_now(args.now)
    rows: list[tuple[str, ...]] = []
    as_expected = True
    for stack in project.stacks():
        started = time.perf_counter()
        plan = plan_stack(root, stack)
        waivers = waivers_for(None, policies, root, stack, now.date())
        decision = evaluate(plan, policies, engine=args.engine, now=now, waivers=waivers)
        expected = "denied" if stack.startswith("noncompliant-") else "allowed"
        as_expected &= decision.verdict == expected
        counts = decision.counts()
        blocking = sorted({f.id for f in decision.findings if f.blocks})
        rows.append(
            (
                stack,
                str(len(plan["resources"])),
                decision.verdict.upper(),
                "yes" if decision.verdict == expected else f"NO ({expected})",
                str(counts["blocking"]),
                str(counts["advisory"]),
                str(counts["waived"]),
                ", ".join(blocking) or "-",
            )
        )
        print(f"phistack: {stack}: planned and gated in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    widths = [max(len(row[i]) for row in [_HEADER, *rows]) for i in range(len(_HEADER))]
    for row in [_HEADER, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print()
    print(
        f"policy set {policies.digest[:19]} ({len(policies.rules_metadata())} rules, engine {args.engine}); "
        + ("every verdict as expected" if as_expected else "SOME VERDICTS ARE NOT AS EXPECTED")
    )
    return ExitCode.OK if as_expected else ExitCode.DENIED
