"""``phistack data``: envelope encryption of PHI objects at rest (encrypt, decrypt, rewrap, keygen, info)."""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from phistack.commands import SUMMARIES
from phistack.commands._keygen import add_output_options
from phistack.errors import ExitCode, InputError
from runtime.crypto import (
    DEFAULT_SEGMENT_SIZE,
    DEFAULT_TENANT,
    Kek,
    decrypt_file,
    describe,
    encrypt_file,
    generate_file_kek,
    open_kek,
    rewrap_file,
)
from runtime.fileio import refuse_existing

_KEK_HELP = "key-encryption key: file:PATH (development only) or a pkcs11: URI (RFC 7512) naming an HSM key"
_SIZE = re.compile(r"^\s*(\d+)\s*(|k|kib|m|mib)\s*$", re.IGNORECASE)


def _segment_size(text: str) -> int:
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (bytes, or with KiB/MiB)")
    unit = match.group(2).lower()
    return int(match.group(1)) * (1 << 20 if unit.startswith("m") else 1 << 10 if unit.startswith("k") else 1)


def _identity(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--object-id", required=True, metavar="ID", help="the object's id, bound into every segment"
    )
    parser.add_argument(
        "--tenant",
        default=DEFAULT_TENANT,
        metavar="T",
        help=f"tenant the object belongs to (default: {DEFAULT_TENANT})",
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "data",
        help=SUMMARIES["data"],
        description=(
            "Envelope encryption of PHI objects: a fresh AES-256 data key per object, streamed in "
            "authenticated segments, wrapped by a key-encryption key held in an HSM (pkcs11:) or, "
            "for development, in a file. Exit codes: 0 done, 1 verification failed, 2 usage or bad input."
        ),
    )
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")
    actions.required = True

    enc = actions.add_parser(
        "encrypt",
        help="encrypt a file under a new data key wrapped by --kek",
        description="Encrypt IN to OUT in bounded memory; OUT is written atomically.",
    )
    enc.add_argument("input", metavar="IN", help="plaintext file")
    enc.add_argument("-o", "--output", required=True, metavar="OUT", help="encrypted file to write")
    _identity(enc)
    enc.add_argument("--kek", required=True, metavar="URI", help=_KEK_HELP)
    enc.add_argument(
        "--segment-size",
        type=_segment_size,
        default=DEFAULT_SEGMENT_SIZE,
        metavar="SIZE",
        help="plaintext bytes per segment, 4KiB to 64MiB (default: 1MiB)",
    )
    enc.set_defaults(handler=run_encrypt)

    dec = actions.add_parser(
        "decrypt",
        help="verify and decrypt a file; no output unless every segment verifies",
        description=(
            "Decrypt IN to OUT (mode 0600). OUT appears only after every segment verified; a modified, "
            "truncated, extended or reordered object, another object id or tenant, or a wrong KEK is "
            "refused with exit 1 and no output file."
        ),
    )
    dec.add_argument("input", metavar="IN", help="encrypted file")
    dec.add_argument("-o", "--output", required=True, metavar="OUT", help="plaintext file to write")
    _identity(dec)
    dec.add_argument("--kek", required=True, metavar="URI", help=_KEK_HELP)
    dec.set_defaults(handler=run_decrypt)

    rew = actions.add_parser(
        "rewrap",
        help="rotate the KEK: re-wrap the data key under --new-kek without re-encrypting the data",
        description=(
            "Unwrap IN's data key with --kek, verify the header, object id and tenant, and wrap the key "
            "under --new-kek. Only the header changes; the encrypted segments are copied unchanged. "
            "Without -o, IN is replaced atomically."
        ),
    )
    rew.add_argument("input", metavar="IN", help="encrypted file")
    rew.add_argument("-o", "--output", metavar="OUT", help="write here instead of replacing IN")
    _identity(rew)
    rew.add_argument("--kek", required=True, metavar="URI", help="the KEK that wraps the data key now")
    rew.add_argument("--new-kek", required=True, metavar="URI", help="the KEK to wrap it under from now on")
    rew.set_defaults(handler=run_rewrap)

    gen = actions.add_parser(
        "keygen",
        help="create a random 256-bit file KEK PREFIX.key (development only; use an HSM for real PHI)",
        description=(
            "Write 32 random bytes to PREFIX.key (mode 0600) and print its KEK URI (file:PREFIX.key) on stdout. "
            "The KEK is a symmetric AES key, so it has no public half: there is no PREFIX.pub. A key in a file "
            "is only as safe as the file: use a pkcs11: KEK in an HSM for real PHI."
        ),
    )
    add_output_options(
        gen,
        writes="PREFIX.key (a symmetric KEK has no public half)",
        force_help="replace an existing key file or link (its objects become unreadable)",
    )
    gen.set_defaults(handler=run_keygen)

    info = actions.add_parser(
        "info",
        help="show an encrypted file's header: format, segment size, KEK id, key id (no key needed)",
        description="Print the public header fields of IN. Nothing is verified: no key is used.",
    )
    info.add_argument("input", metavar="IN", help="encrypted file")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(handler=run_info)


@contextmanager
def _kek(uri: str) -> Iterator[Kek]:
    """Open a KEK, printing its warnings (a file KEK is for development) as one line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kek = open_kek(uri)
    for item in caught:
        print(f"phistack: warning: {item.message}", file=sys.stderr)
    with kek:
        yield kek


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def run_encrypt(args: argparse.Namespace) -> int:
    with _kek(args.kek) as kek:
        result = encrypt_file(
            args.input,
            args.output,
            object_id=args.object_id,
            tenant=args.tenant,
            kek=kek,
            segment_size=args.segment_size,
        )
    print(
        f"phistack: encrypted {args.input} -> {args.output}: {_plural(result.plaintext_bytes, 'byte')} in "
        f"{_plural(result.segments, 'segment')}, object id {args.object_id!r}, tenant {args.tenant!r}, "
        f"KEK {result.kek_id}",
        file=sys.stderr,
    )
    return ExitCode.OK


def run_decrypt(args: argparse.Namespace) -> int:
    with _kek(args.kek) as kek:
        size = decrypt_file(args.input, args.output, object_id=args.object_id, tenant=args.tenant, kek=kek)
    print(
        f"phistack: decrypted {args.input} -> {args.output}: {_plural(size, 'byte')}, every segment verified",
        file=sys.stderr,
    )
    return ExitCode.OK


def run_rewrap(args: argparse.Namespace) -> int:
    with _kek(args.kek) as kek, _kek(args.new_kek) as new_kek:
        before = describe(args.input).kek_id
        after = rewrap_file(
            args.input, args.output, object_id=args.object_id, tenant=args.tenant, kek=kek, new_kek=new_kek
        )
    target = args.output or args.input
    print(
        f"phistack: re-wrapped {args.input} -> {target}: data key moved from KEK {before} to KEK "
        f"{after.kek_id}; encrypted data unchanged",
        file=sys.stderr,
    )
    return ExitCode.OK


def run_keygen(args: argparse.Namespace) -> int:
    path = Path(args.output + ".key")
    if path.is_dir():
        raise InputError(f"is a directory ({path})")
    refuse_existing(path, replace=args.force)
    kek_id = generate_file_kek(path, overwrite=args.force)
    uri = f"file:{path.resolve()}"
    print(uri)
    print(
        f"phistack: warning: wrote a 256-bit file KEK ({kek_id}) to {path}: for development only, "
        "use a pkcs11: KEK in an HSM for real PHI; keep a backup, losing it loses every object it wraps",
        file=sys.stderr,
    )
    return ExitCode.OK


def run_info(args: argparse.Namespace) -> int:
    info = describe(args.input)
    fields = {
        "format_version": info.version,
        "cipher": "AES-256-GCM segments, HKDF-SHA256 keys",
        "key_wrap": "AES key wrap (RFC 3394)",
        "segment_size": info.segment_size,
        "kek_id": info.kek_id,
        "key_id": info.key_id,
        "header_bytes": info.header_bytes,
    }
    if args.json:
        print(json.dumps(fields, indent=2, sort_keys=True))
    else:
        width = max(len(name) for name in fields)
        for name, value in fields.items():
            print(f"{name.replace('_', ' '):<{width}}  {value}")
    return ExitCode.OK
