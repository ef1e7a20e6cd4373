"""``phistack-runtime model``: list workloads, create demo model files and synthetic inputs, digest a file."""

from __future__ import annotations

import argparse
import hashlib
import sys
import warnings
from pathlib import Path

from runtime.commands import SUMMARIES
from runtime.errors import InputError
from runtime.fileio import write_atomic

# The container ships torch without numpy; torch warns about that on import, which is noise here.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "model",
        help=SUMMARIES["model"],
        description=(
            "Model files for the built-in workloads. Models load only from local files pinned by SHA-256."
        ),
    )
    actions = parser.add_subparsers(dest="model_command", metavar="ACTION")
    actions.required = True

    listing = actions.add_parser(
        "list",
        help="list the registered workloads",
        description="Print each workload a job may name, what it does and the input format it reads.",
    )
    listing.set_defaults(handler=_list)

    init = actions.add_parser(
        "init",
        help="write a deterministic demo model file and print its SHA-256 (same seed, same digest)",
        description="Write a demo model file for --workload from a seeded initialisation and print its SHA-256 "
        "on stdout, the value a job's model.sha256 pins. Not a trained model: for trying the runtime.",
    )
    init.add_argument("--workload", required=True, help="a registered workload, e.g. image-cnn")
    init.add_argument("-o", "--output", required=True, type=Path, help="the model file to write")
    init.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    init.set_defaults(handler=_init)

    sample = actions.add_parser(
        "sample-data",
        help="write synthetic plaintext inputs for a workload (no real patient data)",
        description="Write --count synthetic records in the workload's input format, to encrypt with "
        "`phistack data encrypt` and feed to a job. Generated from --seed: no real patient data.",
    )
    sample.add_argument("--workload", required=True, help="a registered workload, e.g. image-cnn")
    sample.add_argument("-n", "--count", type=int, default=32, help="number of records (default 32)")
    sample.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    sample.add_argument("-o", "--output", required=True, type=Path, help="the plaintext file to write")
    sample.set_defaults(handler=_sample)

    digest = actions.add_parser(
        "digest",
        help="print a model file's SHA-256, the value a job pins",
        description="Print the SHA-256 of PATH and its name, like sha256sum: the value for a job's model.sha256.",
    )
    digest.add_argument("path", type=Path, help="the model file")
    digest.set_defaults(handler=_digest)


def _list(args: argparse.Namespace) -> int:
    from runtime.workloads import get, names

    width = max(len(n) for n in names())
    for name in names():
        cls = get(name)
        print(f"{name:<{width}}  {cls.summary}  [input: {cls.input_format}]")
    return 0


def _init(args: argparse.Namespace) -> int:
    from runtime.workloads import get

    data = get(args.workload).init_model_file(seed=args.seed)
    _write(args.output, data)
    print(f"{hashlib.sha256(data).hexdigest()}  {args.output}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from runtime.workloads import get

    if not 1 <= args.count <= 100_000:
        raise InputError(f"--count must be between 1 and 100000, got {args.count} (--count)")
    data = get(args.workload).synthetic_inputs(args.count, args.seed)
    _write(args.output, data)
    print(
        f"phistack-runtime: wrote {args.count} synthetic {args.workload} record(s) to {args.output} "
        f"({len(data)} bytes)",
        file=sys.stderr,
    )
    return 0


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the output folder: {err.strerror or err} ({path.parent})") from err
    write_atomic(path, data)


def _digest(args: argparse.Namespace) -> int:
    path: Path = args.path
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read model file: {err.strerror or err} ({path})") from err
    print(f"{hashlib.sha256(data).hexdigest()}  {path}")
    return 0
