"""``phistack waiver``: an approver signs waivers; anyone verifies them against the policy set's approvers."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from phistack.approval import WaiverRefused, sign_waiver, verify_approval
from phistack.approvers import load_approvers, unwaivable_rules
from phistack.commands import SUMMARIES
from phistack.errors import ExitCode, InputError
from phistack.signing import load_private_key
from phistack.waivers import check_rules_exist, load_waivers
from phistack.workspace import parse_now, policies_for, project_root
from runtime.configfile import load_yaml
from runtime.fileio import write_atomic


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "waiver",
        help=SUMMARIES["waiver"],
        description="A waiver applies only when an approver listed in the policy set's approver data "
        "(policies/data/approvers.json) for its rule signed its exact content with a key valid on the "
        "evaluation date (docs/CONTRACTS.md).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    sign = actions.add_parser(
        "sign",
        help="sign the waivers in FILE with an approver's Ed25519 key (rewrites FILE atomically)",
        description="Writes each waiver's signature into FILE. Comments at the top of FILE are kept; comments "
        "between entries are not. Make a key pair with `phistack decision keygen` and have the public key "
        "listed in the approver data.",
    )
    sign.add_argument("file", metavar="FILE", help="waiver file (YAML)")
    sign.add_argument("--key", metavar="PRIV", required=True, help="the approver's Ed25519 private key (PEM)")
    sign.add_argument(
        "--id", metavar="WAIVER_ID", action="append", help="sign only this waiver (repeatable; default: all)"
    )
    sign.set_defaults(handler=run_sign)

    verify = actions.add_parser(
        "verify",
        help="check every waiver's signature, approver and rule: exit 0 all valid, 1 some refused, 2 bad input",
        description="Checks what can be checked without a plan: the signature, the approver's key and its "
        "dates, the approver's authority for the rule, unwaivable rules and expiry. How many resources a "
        "waiver matches (max_resources) is checked when a stack is gated.",
    )
    verify.add_argument("file", metavar="FILE", help="waiver file (YAML)")
    verify.add_argument("--policies", metavar="DIR", help="policy directory (default: PROJECT/policies)")
    verify.add_argument("--now", metavar="TIME", help="verify as of this RFC 3339 time (default: now)")
    verify.add_argument("--project", metavar="DIR", help="Pulumi project directory (default: this checkout)")
    verify.set_defaults(handler=run_verify)


def _header(text: str) -> str:
    """The comment block at the top of a YAML file, which a re-dump would lose."""
    lines = []
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        lines.append(line)
    return "".join(lines)


def sign_file(path: Path, key: Ed25519PrivateKey, ids: list[str] | None, today: dt.date | None) -> list[str]:
    """Sign the waivers of ``path`` (those in ``ids``, or all) in place; return the ids signed.

    The file is validated first (a malformed one, or an expiry beyond the limit, is an InputError), so a
    signature never covers a waiver the gate would reject as bad input."""
    waivers = load_waivers(path, today)
    if not waivers:
        raise InputError(f"{path}: waivers: there is no waiver to sign")
    wanted = set(ids) if ids else {w.id for w in waivers}
    missing = sorted(wanted - {w.id for w in waivers})
    if missing:
        raise InputError(f"{path}: no waiver with id {', '.join(missing)}")
    raw = load_yaml(path, "waivers")
    entries = raw["waivers"]
    signed = []
    for index, waiver in enumerate(waivers):
        if waiver.id in wanted:
            entries[index]["signature"] = sign_waiver(waiver, key)
            signed.append(waiver.id)
    body = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=120)
    write_atomic(path, _header(path.read_text(encoding="utf-8")) + body)
    return signed


def run_sign(args: argparse.Namespace) -> int:
    path = Path(args.file)
    key = load_private_key(Path(args.key))
    signed = sign_file(path, key, args.id, parse_now(None).date())
    print(f"phistack: signed {len(signed)} waiver(s) in {path}: {', '.join(signed) or 'none'}", file=sys.stderr)
    return ExitCode.OK


def run_verify(args: argparse.Namespace) -> int:
    path = Path(args.file)
    today = parse_now(args.now).date()
    policies = policies_for(args.policies, project_root(args.project))
    rules = policies.rules_metadata()
    approvers = load_approvers(policies)
    waivers = load_waivers(path, today)
    check_rules_exist(waivers, rules)
    unwaivable = unwaivable_rules(rules)
    refused = 0
    for waiver in waivers:
        where = f"{waiver.id} ({waiver.rule}, stack {waiver.stack})"
        try:
            approval = verify_approval(waiver, approvers, unwaivable, today)
        except WaiverRefused as err:
            refused += 1
            print(f"REFUSED {where}: {err.reason}")
            continue
        if waiver.expires < today:
            refused += 1
            print(f"EXPIRED {where}: expired on {waiver.expires}; the signature is valid but it waives nothing")
            continue
        print(
            f"valid   {where}: approved by {approval.approver} ({approval.role}) with key {approval.key_id}, "
            f"until {waiver.expires}, at most {waiver.max_resources} resource(s)"
        )
    print(
        f"phistack: {path}: {len(waivers) - refused} of {len(waivers)} waiver(s) valid as of {today}",
        file=sys.stderr,
    )
    return ExitCode.DENIED if refused else ExitCode.OK
