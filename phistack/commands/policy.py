"""``phistack policy``: work on the Rego policy library itself.

- ``phistack policy test [--engine E] [PATH]`` runs every ``*_test.rego`` like ``opa test``.
- ``phistack policy docs [--check] [-o FILE]`` regenerates docs/POLICIES.md from the METADATA.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from phistack.commands import SUMMARIES
from phistack.engine import ENGINES
from phistack.errors import ExitCode

_POLICIES_HELP = "policy root (default: the project's policies/, else the library phistack ships with)"


def _policies(args: argparse.Namespace) -> Path:
    # Found from the project, not the current directory: the commands work from anywhere.
    from phistack.workspace import policy_root, project_root

    return policy_root(args.policies, project_root())


def register(subparsers: Any) -> None:
    """Add ``policy`` and its subcommands to the CLI."""
    parser = subparsers.add_parser(
        "policy",
        help=SUMMARIES["policy"],
        description="Work on the Rego policy library: run its tests, regenerate docs/POLICIES.md.",
    )
    actions = parser.add_subparsers(dest="policy_command", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    test = actions.add_parser(
        "test",
        help="run every *_test.rego like `opa test` (exit 0 pass, 1 fail, 3 engine error)",
        description="Run every test_* rule under the policy directory on one engine and report "
        "failures, pass/fail counts and rule coverage.",
    )
    test.add_argument("path", nargs="?", type=Path, help="only the tests under this file or directory")
    test.add_argument("--engine", choices=sorted(ENGINES), default="regorus", help="Rego engine (default regorus)")
    test.add_argument("--policies", type=Path, help=_POLICIES_HELP)
    test.add_argument("--format", choices=["text", "json"], default="text", help="report format")
    test.add_argument("--coverage", action="store_true", help="list line coverage per policy file")
    test.add_argument("--list", dest="verbose_tests", action="store_true", help="list passing tests too")
    test.set_defaults(handler=run_test)

    docs = actions.add_parser(
        "docs",
        help="regenerate docs/POLICIES.md (the HIPAA control matrix) from the rules' METADATA",
        description="Write the control matrix generated from METADATA; --check only compares.",
    )
    docs.add_argument("--policies", type=Path, help=_POLICIES_HELP)
    docs.add_argument(
        "-o", "--output", type=Path, help="file to write (default: docs/POLICIES.md beside the policy root)"
    )
    docs.add_argument("--check", action="store_true", help="exit 1 when the file is out of date; write nothing")
    docs.set_defaults(handler=run_docs)


def run_test(args: argparse.Namespace) -> int:
    """Handler of ``phistack policy test``."""
    from phistack.policytest import format_text, run_suite

    root = _policies(args)
    selection: Path | None = args.path
    if selection is not None and not selection.is_absolute() and not selection.exists():
        # Allow paths relative to the policy root as well as to the working directory.
        selection = root / selection
    report = run_suite(root, engine=args.engine, selection=selection)
    if args.format == "json":
        sys.stdout.write(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(format_text(report, verbose=args.verbose_tests, coverage=args.coverage))
    return ExitCode.OK if report.ok else ExitCode.DENIED


def run_docs(args: argparse.Namespace) -> int:
    """Handler of ``phistack policy docs``."""
    from phistack.policydocs import check_file, write_file
    from phistack.workspace import policy_docs, relative

    policies = _policies(args)
    output: Path = args.output or policy_docs(policies)
    shown = relative(output)
    if args.check:
        if check_file(policies, output):
            print(f"phistack: {shown} is up to date", file=sys.stderr)
            return ExitCode.OK
        print(f"phistack: {shown} is out of date: run `phistack policy docs`", file=sys.stderr)
        return ExitCode.DENIED
    write_file(policies, output)
    print(f"phistack: wrote {shown}", file=sys.stderr)
    return ExitCode.OK
