"""Options the gate commands share (check, demo, preview, up, evidence), defined once, and the settings
built from them: the one place a command line becomes a :class:`~phistack.session.GateSettings`."""

from __future__ import annotations

import argparse
from pathlib import Path

from phistack.engine import ENGINES
from phistack.errors import InputError
from phistack.report import Format
from phistack.session import GateSettings
from phistack.workspace import parse_now, policies_for, project_root


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """--format and -o for commands that print a gate report."""
    parser.add_argument(
        "--format", choices=[f.value for f in Format], default=Format.TEXT.value, help="report format (default: text)"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")


def add_gate_options(parser: argparse.ArgumentParser, *, waivers: bool = True) -> None:
    """Engine, policy set, waivers, evaluation time and project."""
    parser.add_argument("--engine", choices=sorted(ENGINES), default="regorus", help="Rego engine (default: regorus)")
    parser.add_argument(
        "--opa-url", metavar="URL", help="OPA server for --engine opa-server, e.g. http://127.0.0.1:8181"
    )
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


def gate_settings(args: argparse.Namespace) -> GateSettings:
    """The settings of the options :func:`add_gate_options` added. The policy set is loaded here, first:
    a broken policy set is exit 3 whatever the stack says."""
    if (args.engine == "opa-server") != bool(args.opa_url):  # usage, so before anything is loaded
        raise InputError(
            "--engine opa-server needs --opa-url URL" if args.opa_url is None else "--opa-url needs --engine opa-server"
        )
    project = project_root(args.project)
    now = parse_now(args.now)
    policies = policies_for(args.policies, project)
    explicit = getattr(args, "waivers", None)
    return GateSettings(
        project=project,
        policies=policies,
        engine=args.engine,
        engine_options={"opa_url": args.opa_url} if args.engine == "opa-server" else {},
        now=now,
        waiver_files=tuple(Path(p) for p in explicit) if explicit else None,
    )
