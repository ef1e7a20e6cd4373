"""``phistack-runtime attest``: collect this machine's attestation evidence and print it as JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import sys
from pathlib import Path
from typing import Any

from cryptography import x509

from runtime.attestation import AttestationError, collect_evidence, parse_nonce, verify_gpu_report
from runtime.attestation.tsm import DEFAULT_TSM_ROOT
from runtime.commands import SUMMARIES
from runtime.errors import InputError
from runtime.fileio import write_atomic


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "attest",
        help=SUMMARIES["attest"],
        description=(
            "Collect attestation evidence bound to a nonce and print the result as JSON. Exit 0 when the "
            "machine is confidential (every GPU in production CC mode, evidence collected and, with --root, "
            "verified), 1 otherwise with the reason, 2 on bad input."
        ),
    )
    parser.add_argument("--nonce", metavar="HEX", help="32-byte nonce as 64 hex digits (default: a fresh one)")
    parser.add_argument("--root", metavar="FILE", help="also verify each GPU report against this trust anchor (PEM)")
    parser.add_argument("--tsm-root", metavar="DIR", default=str(DEFAULT_TSM_ROOT), help="configfs-tsm report dir")
    parser.add_argument("--require-cpu-tee", action="store_true", help="not confidential without a CPU TEE report")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the JSON here instead of stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        nonce = parse_nonce(args.nonce) if args.nonce else secrets.token_bytes(32)
    except AttestationError as err:
        raise InputError(f"--nonce: {err}") from err
    anchor = None
    if args.root:
        try:
            anchor = x509.load_pem_x509_certificate(Path(args.root).read_bytes())
        except (OSError, ValueError) as err:
            raise InputError(f"{args.root}: cannot load trust anchor: {err}") from err
    result = collect_evidence(nonce, tsm_root=Path(args.tsm_root), require_cpu_tee=args.require_cpu_tee)
    document: dict[str, Any] = result.to_dict()
    confidential = result.confidential
    if confidential and anchor is not None:
        verified = []
        try:
            for gpu in result.gpus:
                report = verify_gpu_report(
                    gpu.report, gpu.cert_chain_pem, nonce, anchor, at_time=dt.datetime.now(dt.UTC)
                )
                verified.append(report.summary())
        except AttestationError as err:
            confidential = False
            document.update(confidential=False, reason_code="verification-failed", reason=str(err))
        document["verification"] = verified
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    if not confidential:
        print(f"phistack-runtime: not confidential: {document['reason']} ({document['reason_code']})", file=sys.stderr)
        return 1
    print(f"phistack-runtime: confidential: {len(result.gpus)} GPU(s) attested", file=sys.stderr)
    return 0
