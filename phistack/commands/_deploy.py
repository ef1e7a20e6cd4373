"""The arguments ``phistack preview`` and ``phistack up`` share, and the deploy request built from them.

Apart from :mod:`phistack.commands._options` because it needs the deploy package (Pulumi's Automation
API), which the other gate commands never load.
"""

from __future__ import annotations

import argparse

from phistack.commands._options import add_gate_options, add_report_options, gate_settings
from phistack.deploy.gated import DeployRequest


def add_deploy_options(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``phistack preview`` and ``phistack up``."""
    parser.add_argument("stack", help="stack name (stacks/Pulumi.STACK.yaml)")
    add_report_options(parser)
    add_gate_options(parser)
    parser.add_argument(
        "--backend",
        metavar="URL",
        help="Pulumi state backend (default: file://PROJECT/.state, the project's state folder)",
    )
    parser.add_argument(
        "--policy-pack",
        metavar="DIR",
        action="append",
        default=[],
        help="also run this CrossGuard policy pack inside Pulumi (e.g. policies/pack); repeatable",
    )


def deploy_request(args: argparse.Namespace) -> DeployRequest:
    """What ``preview``/``up`` gate and deploy, from the options of :func:`add_deploy_options`."""
    return DeployRequest(
        stack=args.stack,
        settings=gate_settings(args),
        backend=args.backend,
        policy_packs=tuple(args.policy_pack or ()),
    )
