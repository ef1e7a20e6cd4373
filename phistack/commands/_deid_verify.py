"""``phistack deid verify``: check a de-identification manifest the way the gate does, and optionally its data."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from phistack.deid.facts import verify_document
from phistack.deid.signers import load_signers
from phistack.errors import ExitCode, VerificationError
from phistack.workspace import policies_for, project_root
from runtime.deid.manifest import load_manifest, verify_dataset


def register(actions: Any) -> None:
    """Add the ``verify`` action to ``phistack deid``."""
    parser = actions.add_parser(
        "verify",
        help="check a manifest's signature, signer and method against the policy set's trusted signers",
        description=(
            "Checks a phistack.deid-manifest/v1 file as the gate does: signed, by a signer listed in "
            "policies/data/deid_signers.json, who is trusted for the manifest's method; with --dir, also that "
            "the directory holds exactly the manifest's files, byte for byte (as the runtime checks before it "
            "loads them). Prints valid or INVALID with the reason. Exit codes: 0 valid, 1 invalid, 2 bad input, "
            "3 malformed signer data."
        ),
    )
    parser.add_argument("manifest", metavar="MANIFEST", help="the manifest file (OUT.manifest.json)")
    parser.add_argument("--dir", metavar="OUT", help="the de-identified dataset directory to check as well")
    parser.add_argument("--policies", metavar="DIR", help="policy directory (default: PROJECT/policies)")
    parser.add_argument("--project", metavar="DIR", help="Pulumi project directory (default: this checkout)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path = Path(args.manifest)
    signers = load_signers(policies_for(args.policies, project_root(args.project)))
    document = load_manifest(path)
    fact = verify_document(document, signers, None)
    if fact["valid"] and args.dir is not None:
        try:
            verify_dataset(document["payload"], Path(args.dir))
        except VerificationError as err:
            fact = {**fact, "valid": False, "reason": str(err)}
    raw = document.get("payload")
    payload: dict[str, Any] = raw if isinstance(raw, dict) else {}
    fact = {"manifest": str(path), "dataset": payload.get("dataset", ""), **fact}
    if args.format == "json":
        print(json.dumps(fact, indent=2, sort_keys=True))
    elif fact["valid"]:
        files = len(payload.get("outputs") or [])
        checked = f", {files} file(s) match in {args.dir}" if args.dir is not None else f", {files} file(s) listed"
        print(
            f"valid: {path}: dataset {fact['dataset']}, {fact['method']}, signed by {fact['signer_name']} "
            f"({fact['signer']}), {fact['dataset_digest']}{checked}"
        )
    else:
        print(f"INVALID: {path}: {fact['reason']}")
    return ExitCode.OK if fact["valid"] else ExitCode.DENIED
