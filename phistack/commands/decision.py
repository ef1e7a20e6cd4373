"""``phistack decision``: keys for signed decision records, and verification before a deployment."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from phistack.commands import SUMMARIES
from phistack.commands._keygen import add_ed25519_keygen
from phistack.errors import ExitCode, InputError
from phistack.plan.document import load_plan, plan_digest, read_json_file
from phistack.signing import load_public_key, parse_duration, verify_record
from phistack.workspace import parse_now


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "decision",
        help=SUMMARIES["decision"],
        description="Signed decision records let a deployment pipeline demand a valid, recent, allowing gate "
        "decision for the exact plan it is about to apply.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add_ed25519_keygen(
        actions,
        help="write an Ed25519 key pair PREFIX.key (0600) and PREFIX.pub",
        use="`phistack check --sign PREFIX.key` signs decision records with it; give PREFIX.pub to whoever "
        "verifies them.",
    )

    verify = actions.add_parser(
        "verify",
        help="verify a decision record: exit 0 valid, 1 rejected with the reason",
        description="Checks the Ed25519 signature and key, and optionally the record's age, its verdict and "
        "that it covers the plan about to be applied.",
    )
    verify.add_argument("record", metavar="RECORD", help="decision record written by `phistack check --sign`")
    verify.add_argument("--key", metavar="PUB", required=True, help="the signer's Ed25519 public key (PEM)")
    verify.add_argument("--max-age", metavar="DURATION", help="reject records older than this (e.g. 1h, 7d)")
    verify.add_argument("--require-allowed", action="store_true", help="reject records whose decision is denied")
    verify.add_argument("--plan", metavar="FILE", help="reject records made for another plan than this one")
    verify.add_argument("--now", metavar="TIME", help="verify as of this RFC 3339 time (default: now)")
    verify.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    record = read_json_file(Path(args.record), "decision record")
    key = load_public_key(Path(args.key))
    max_age = parse_duration(args.max_age) if args.max_age else None
    digest = plan_digest(load_plan(Path(args.plan))) if args.plan else None
    try:
        payload = verify_record(
            record,
            key,
            now=parse_now(args.now),
            max_age=max_age,
            require_allowed=args.require_allowed,
            plan_digest=digest,
        )
    except InputError as err:
        raise InputError(f"{args.record}: {err}") from err
    print(
        f"valid: stack {payload['stack']} {payload['decision']} at {payload['evaluated_at']} "
        f"(plan {payload['plan_digest'][:19]}, policies {payload['policy_digest'][:19]}, "
        f"{len(payload.get('waivers_applied', []))} waivers)"
    )
    return ExitCode.OK
