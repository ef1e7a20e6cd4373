"""``phistack evidence``: an evidence pack for auditors — HIPAA controls, findings, waivers, cost, provenance."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

from phistack import __version__
from phistack.commands import SUMMARIES
from phistack.commands._options import add_gate_options, gate_settings
from phistack.errors import ExitCode, InputError
from phistack.evidence import layout
from phistack.evidence.catalogue import load_catalogue
from phistack.evidence.pack import (
    PackSettings,
    build_matrix,
    build_stack,
    check_target,
    evidence_for_plan,
    write_pack,
)
from phistack.plan.document import load_plan
from phistack.plan.offline import load_project
from phistack.workspace import relative

_SAFE_STACK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # a stack name becomes a directory name in --all


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evidence",
        help=SUMMARIES["evidence"],
        description=(
            "Plan STACK offline, gate it, and write DIR/index.html and DIR/evidence.md: the HIPAA requirement "
            "table (each control met / not met / waived / not applicable, with the rules and resources behind "
            "it), findings, waivers with approvers and expiry, GPU cost and model provenance; plus the decision "
            "and plan it was built from and a compliance matrix of every stack (DIR/matrix.html). With --all, "
            "one page per stack under DIR/stacks/ and the matrix as DIR/index.html. The pack is written "
            "atomically. Exit codes: 0 written (whatever the gate decided), 2 bad input, 3 policy or engine error."
        ),
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("stack", nargs="?", help="stack name (stacks/Pulumi.STACK.yaml)")
    target.add_argument("--all", action="store_true", help="every stack of the project: a page each plus the matrix")
    target.add_argument("--plan", metavar="FILE", help="a plan document written by `phistack plan` (no matrix)")
    parser.add_argument("-o", "--output", metavar="DIR", required=True, help="directory to write the pack to")
    parser.add_argument(
        "--no-matrix", action="store_true", help="with STACK: skip gating the other stacks for the matrix"
    )
    parser.add_argument("--controls", metavar="FILE", help="control catalogue (default: the built-in HIPAA catalogue)")
    add_gate_options(parser)
    parser.set_defaults(handler=run)


def _progress(message: str) -> None:
    print(f"phistack: {message}", file=sys.stderr)


def _one_stack(args: argparse.Namespace, settings: PackSettings) -> tuple[layout.Files, str]:
    if args.plan:
        evidence = evidence_for_plan(settings, load_plan(Path(args.plan)), relative(Path(args.plan)))
        others: list[str] = []
    else:
        evidence = build_stack(settings, args.stack)  # the named stack must evaluate: bad input is exit 2
        others = [] if args.no_matrix else load_project(settings.gate.project_dir).stacks()
    _progress(f"{evidence.stack}: {evidence.decision.verdict}")
    rows, _ = build_matrix(settings, others, {evidence.stack: evidence}, _progress)
    controls = settings.catalogue.reported([settings.catalogue.map_rules(evidence.decision.rules)])
    return layout.single_stack(evidence, rows, controls, __version__), f"stack {evidence.stack}"


def _every_stack(settings: PackSettings) -> tuple[layout.Files, str]:
    project = load_project(settings.gate.project_dir)
    stacks = project.stacks()
    if not stacks:
        raise InputError(f"{project.config_dir}: no stacks (Pulumi.<stack>.yaml) to report on")
    unsafe = [s for s in stacks if not _SAFE_STACK.match(s)]
    if unsafe:
        raise InputError(f"stack name {unsafe[0]!r} cannot be used as a directory name in the pack")
    rows, built = build_matrix(settings, stacks, {}, _progress)
    if not built:
        raise InputError("no stack could be evaluated; nothing to report")
    controls = settings.catalogue.reported(settings.catalogue.map_rules(ev.decision.rules) for ev in built.values())
    return layout.all_stacks(built, rows, controls, __version__), f"{len(built)} of {len(stacks)} stacks"


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    output = Path(args.output)
    check_target(output)  # fail before minutes of planning, not after
    catalogue = load_catalogue(Path(args.controls) if args.controls else None)
    settings = PackSettings(gate_settings(args), catalogue)
    files, summary = _every_stack(settings) if args.all else _one_stack(args, settings)
    write_pack(output, files, __version__)
    _progress(
        f"wrote evidence pack for {summary} to {output}/ ({len(files) + 1} files, {time.perf_counter() - started:.1f}s)"
    )
    return ExitCode.OK
