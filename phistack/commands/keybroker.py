"""``phistack keybroker serve``: the customer-side key broker (HTTPS, TLS 1.3 only)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from phistack.commands import SUMMARIES
from phistack.errors import InputError
from phistack.keybroker.build import serve_from_config
from phistack.keybroker.config import load_config
from phistack.keybroker.nonces import NonceSource, UnsafeFixedNonceSource, random_nonce
from runtime.fileio import write_atomic


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "keybroker",
        help=SUMMARIES["keybroker"],
        description="The key broker holds the datasets' KEKs and releases key operations after attestation.",
    )
    commands = parser.add_subparsers(dest="keybroker_command", metavar="SUBCOMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the broker over HTTPS (TLS 1.3 only) until interrupted",
        description=(
            "Serve the key broker described by --config (see docs/ATTESTATION.md). Prints the URL on "
            "stderr; --port-file receives the bound port (useful with --port 0). Stops on SIGINT/SIGTERM."
        ),
    )
    serve.add_argument("--config", required=True, metavar="FILE", help="broker configuration (YAML)")
    serve.add_argument("--port", type=int, metavar="N", help="override the configured port (0: any free port)")
    serve.add_argument("--port-file", metavar="FILE", help="write the bound port number here")
    serve.add_argument(
        "--unsafe-fixed-nonce",
        metavar="HEX",
        help="TESTS ONLY: issue this nonce every time so recorded evidence verifies (allows replay)",
    )
    serve.set_defaults(handler=run_serve)


def _nonce_source(value: str | None) -> NonceSource:
    if value is None:
        return random_nonce
    try:
        nonce = bytes.fromhex(value)
        return UnsafeFixedNonceSource(nonce)
    except ValueError as err:
        raise InputError(f"--unsafe-fixed-nonce: {err}") from err


def run_serve(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    source = _nonce_source(args.unsafe_fixed_nonce)
    if args.unsafe_fixed_nonce:
        print("phistack keybroker: WARNING: nonces are pinned (test mode): evidence can be replayed", file=sys.stderr)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with serve_from_config(config, nonce_source=source, port=args.port) as running:
        if args.port_file:
            write_atomic(args.port_file, f"{running.server.port}\n")
        print(f"phistack keybroker: listening on {running.url} (TLS 1.3 only)", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    print("phistack keybroker: stopped", file=sys.stderr)
    return 0
