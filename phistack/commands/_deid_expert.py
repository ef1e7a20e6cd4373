"""``phistack deid expert``: bind an Expert Determination (45 CFR 164.514(b)(1)) to a dataset's bytes, signed."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from phistack.errors import ExitCode


def register(actions: Any) -> None:
    """Add the ``expert`` action to ``phistack deid``."""
    parser = actions.add_parser(
        "expert",
        help="sign a manifest recording an expert's determination that a dataset is de-identified",
        description=(
            "Record an Expert Determination (45 CFR 164.514(b)(1)) for the files under DIR: the expert, their "
            "method, the date and the report's digest, bound to the SHA-256 of every file, in a manifest signed "
            "with --key (DIR.manifest.json beside DIR unless --manifest). Use it for data no rule can certify, "
            "such as free text; the gate and the runtime verify it like any other manifest. An existing manifest "
            "is kept unless --force. Exit codes: 0 written, 2 usage or bad input."
        ),
    )
    parser.add_argument("directory", metavar="DIR", help="the dataset the expert examined, as it will be used")
    parser.add_argument("--dataset", metavar="NAME", required=True, help="the dataset's name in the manifest")
    parser.add_argument("--expert", metavar="NAME", required=True, help="who made the determination")
    parser.add_argument("--method", metavar="TEXT", required=True, help="how the risk was determined to be very small")
    parser.add_argument("--determined", metavar="DATE", required=True, help="date of the determination (YYYY-MM-DD)")
    parser.add_argument("--report", metavar="FILE", help="the expert's report: its SHA-256 goes into the manifest")
    parser.add_argument("--key", metavar="SIGNER.key", required=True, help="Ed25519 key from `phistack deid keygen`")
    parser.add_argument("--manifest", metavar="FILE", help="where to write the manifest (default DIR.manifest.json)")
    parser.add_argument("--force", action="store_true", help="replace an existing manifest at that path")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from phistack import __version__
    from phistack.deid.expert import dataset_files, determination_method
    from phistack.deid.outdir import default_manifest, refuse_manifest_inside
    from runtime.deid.manifest import build_payload, sign_manifest, write_manifest
    from runtime.ed25519 import load_private_key
    from runtime.fileio import refuse_existing

    directory = Path(args.directory)
    manifest = Path(args.manifest) if args.manifest else default_manifest(directory)
    refuse_manifest_inside(manifest, directory)
    refuse_existing(manifest, replace=args.force, what="manifest")
    method = determination_method(
        args.expert, args.method, args.determined, Path(args.report) if args.report else None
    )
    key = load_private_key(args.key)
    outputs = dataset_files(directory)
    payload = build_payload(
        dataset=args.dataset,
        method=method,
        tool_version=__version__,
        outputs=outputs,
        quarantined=[],
        rejected=[],
        counts={"files": len(outputs)},
        created_at=dt.datetime.now(dt.UTC),
    )
    write_manifest(manifest, sign_manifest(payload, key))
    print(
        f"phistack: recorded the expert determination of {args.expert.strip()} for {len(outputs)} file(s) of "
        f"{directory}; manifest {manifest} ({payload['dataset_digest']})",
        file=sys.stderr,
    )
    return ExitCode.OK
