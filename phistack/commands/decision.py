"""``phistack decision``: keys for signed decision records, and verification before a deployment."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from phistack.commands import SUMMARIES
from phistack.errors import ExitCode, InputError
from phistack.plan.document import load_plan, plan_digest, read_json_file
from phistack.signing import load_public_key, parse_duration, verify_record, write_keypair
from phistack.workspace import parse_now
from runtime.fileio import refuse_existing


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "decision",
        help=SUMMARIES["decision"],
        description="Signed decision records let a deployment pipeline demand a valid, recent, allowing gate "
        "decision for the exact plan it is about to apply.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    keygen = actions.add_parser(
        "keygen",
        help="write an Ed25519 key pair PREFIX.key (0600) and PREFIX.pub",
        description="Write a new Ed25519 private key (PKCS#8 PEM, mode 0600) to PREFIX.key and its public key to "
        "PREFIX.pub. `phistack check --sign PREFIX.key` signs decision records with it; give PREFIX.pub to "
        "whoever verifies them. An existing file or link at either path is kept unless --force.",
    )
    keygen.add_argument("-o", "--output", metavar="PREFIX", required=True, help="path prefix for the key files")
    keygen.add_argument("--force", action="store_true", help="replace existing key files (or links) at the paths")
    keygen.set_defaults(handler=run_keygen)

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


def run_keygen(args: argparse.Namespace) -> int:
    prefix = Path(args.output)
    refuse_existing(prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".pub"), replace=args.force)
    private, public = write_keypair(prefix, replace_link=args.force)
    print(f"phistack: wrote {private} (keep secret) and {public}", file=sys.stderr)
    return ExitCode.OK


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
