"""``phistack demo``: the main job end to end — plan every stack offline, gate it, print the verdicts."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from phistack.commands import SUMMARIES
from phistack.commands._options import add_gate_options, gate_settings
from phistack.errors import ExitCode
from phistack.plan.offline import load_project, plan_stack
from phistack.session import decide

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
    settings = gate_settings(args)
    root, policies = settings.project_dir, settings.policies
    project = load_project(root)
    rows: list[tuple[str, ...]] = []
    as_expected = True
    for stack in project.stacks():
        started = time.perf_counter()
        plan = plan_stack(root, stack)
        decision = decide(settings, plan)
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
