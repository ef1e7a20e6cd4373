"""``phistack attest verify``: check a GPU attestation report offline, for people debugging attestation."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from cryptography import x509

from phistack.commands import SUMMARIES
from phistack.errors import InputError
from runtime.attestation import (
    AttestationError,
    ReferenceMeasurements,
    SpdmReport,
    parse_nonce,
    parse_report,
    verify_gpu_report,
)
from runtime.attestation.certchain import load_pem_chain


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "attest",
        help=SUMMARIES["attest"],
        description="Tools for GPU attestation evidence. Exit codes: 0 valid, 1 rejected, 2 bad input.",
    )
    commands = parser.add_subparsers(dest="attest_command", metavar="SUBCOMMAND", required=True)
    verify = commands.add_parser(
        "verify",
        help="verify a GPU report: certificate chain to the root, report signature, nonce",
        description=(
            "Verify an NVIDIA GPU attestation report (SPDM GET_MEASUREMENTS request+response, hex text or "
            "raw bytes) against its PEM certificate chain (leaf first), the trust anchor and the nonce the "
            "report was requested with. Exit 0 valid (with a summary), 1 rejected (with the reason), "
            "2 bad input."
        ),
    )
    verify.add_argument("--gpu-report", required=True, metavar="FILE", help="the attestation report")
    verify.add_argument("--cert-chain", required=True, metavar="FILE", help="PEM certificate chain, leaf first")
    verify.add_argument("--nonce", required=True, metavar="HEX", help="the 32-byte nonce, 64 hex digits")
    verify.add_argument("--root", required=True, metavar="FILE", help="trust anchor (NVIDIA device root, PEM)")
    verify.add_argument("--at", metavar="TIME", help="check certificate validity at this RFC 3339 time (default: now)")
    verify.add_argument(
        "--reference-measurements",
        metavar="FILE",
        help="golden measurements (JSON): a measurement block that matches none of them rejects the report (exit 1)",
    )
    verify.add_argument("--json", action="store_true", help="print the summary as JSON")
    verify.set_defaults(handler=run_verify)


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read {what}: {err.strerror or err}") from err


def _report_bytes(data: bytes) -> bytes:
    """Hex text (NVIDIA's vector format) or the raw report."""
    text = data.strip()
    try:
        return bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return data


def parse_time(text: str | None) -> dt.datetime:
    """An RFC 3339 time (``Z`` or an offset), or now."""
    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--at: not an RFC 3339 time: {text!r}") from None
    if moment.tzinfo is None:
        raise InputError(f"--at: time needs a timezone (e.g. Z): {text!r}")
    return moment


def _parse_report(path: str) -> SpdmReport:
    """The report file as a parsed SPDM report; one that cannot be parsed is bad input, not a rejection."""
    data = _read(path, "GPU report")
    if not data.strip():
        raise InputError(f"{path}: GPU report is empty")
    try:
        return parse_report(_report_bytes(data))
    except AttestationError as err:
        raise InputError(f"{path}: not an SPDM attestation report: {err}") from err


def _load_chain(path: str) -> tuple[x509.Certificate, ...]:
    try:
        return load_pem_chain(_read(path, "certificate chain"))
    except AttestationError as err:
        raise InputError(f"{path}: {err}") from err


def run_verify(args: argparse.Namespace) -> int:
    report = _parse_report(args.gpu_report)
    chain = _load_chain(args.cert_chain)
    try:
        anchor = x509.load_pem_x509_certificate(_read(args.root, "trust anchor"))
    except ValueError as err:
        raise InputError(f"{args.root}: trust anchor is not a PEM certificate") from err
    try:
        nonce = parse_nonce(args.nonce)
    except AttestationError as err:
        raise InputError(f"--nonce: {err}") from err
    at_time = parse_time(args.at)
    references = ReferenceMeasurements.load(Path(args.reference_measurements)) if args.reference_measurements else None
    verified = verify_gpu_report(report, chain, nonce, anchor, at_time=at_time)
    summary: dict[str, Any] = {"result": "valid", **verified.summary()}
    rejection: str | None = None
    if references is not None:
        outcome = references.compare(verified.report)
        summary["measurements"] = {"status": outcome.status, "mismatched": list(outcome.mismatched)}
        if outcome.status != "success":  # "not-verified" (no reference values) is no pass either
            summary["result"] = "rejected"
            detail = (
                f"measurement block(s) {', '.join(map(str, outcome.mismatched))} do not match"
                if outcome.mismatched
                else "the file holds no reference values to compare with"
            )
            rejection = f"measurements {outcome.status}: {detail} ({args.reference_measurements})"
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    if rejection is not None:
        # The signature checked out but the firmware is not the one expected: a rejection, exit 1.
        raise AttestationError(rejection)
    if not args.json:
        print("valid: certificate chain, report signature and nonce verified")
        for key, value in summary.items():
            if key != "result":
                print(f"  {key}: {value}")
    return 0
