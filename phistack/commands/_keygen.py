"""What every ``keygen`` subcommand shares: ``-o/--output PREFIX`` and ``--force``, and the Ed25519 key pair
that ``audit keygen`` and ``decision keygen`` write (``PREFIX.key``, mode 0600, and ``PREFIX.pub``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from phistack.errors import ExitCode

ED25519_FILES = "PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub (SubjectPublicKeyInfo PEM)"


def add_output_options(parser: Any, *, writes: str, force_help: str) -> None:
    """Add the required ``-o/--output PREFIX`` (``writes`` says which files) and ``--force``."""
    parser.add_argument("-o", "--output", metavar="PREFIX", required=True, help=f"path prefix: writes {writes}")
    parser.add_argument("--force", action="store_true", help=force_help)


def add_ed25519_keygen(subparsers: Any, *, help: str, use: str) -> None:
    """Register ``keygen`` under ``subparsers``: an Ed25519 key pair; ``use`` says who uses which half."""
    keygen = subparsers.add_parser(
        "keygen",
        help=help,
        description=f"Write a new Ed25519 key pair: {ED25519_FILES}. {use} An existing file or link at either "
        "path is kept unless --force.",
    )
    add_output_options(
        keygen, writes="PREFIX.key and PREFIX.pub", force_help="replace existing key files (or links) at the paths"
    )
    keygen.set_defaults(handler=run_ed25519_keygen)


def run_ed25519_keygen(args: argparse.Namespace) -> int:
    """Write a new Ed25519 key pair at ``args.output``; report both paths and the key id on stderr."""
    from runtime.ed25519 import key_id, keypair_paths, load_public_key, write_keypair
    from runtime.fileio import refuse_existing

    refuse_existing(*keypair_paths(args.output), replace=args.force)
    private, public = write_keypair(args.output, replace_link=args.force)
    print(
        f"phistack: wrote {private} (private, keep it secret) and {public} (key id {key_id(load_public_key(public))})",
        file=sys.stderr,
    )
    return ExitCode.OK
