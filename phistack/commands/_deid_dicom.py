"""``phistack deid dicom``: PS3.15 Annex E de-identification of DICOM files, with a signed manifest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from phistack.errors import ExitCode

_OPTIONS_HELP = (
    "an Annex E option, repeatable: rtmd (shift dates per patient), rtfd (keep dates), cd (clean descriptors), "
    "ru (keep UIDs), rdi (keep device identity), rii (keep institution identity), rpc (keep patient "
    "characteristics), rsp (keep safe private attributes)"
)


def register(actions: Any) -> None:
    """Add the ``dicom`` action to ``phistack deid``."""
    from phistack.deid.profile import SUPPORTED_OPTIONS

    parser = actions.add_parser(
        "dicom",
        help="de-identify DICOM files (PS3.15 Annex E Basic Profile) into OUT and sign a manifest beside it",
        description=(
            "Apply the Basic Application Level Confidentiality Profile of DICOM PS3.15 Annex E (Table E.1-1) and "
            "the chosen options to every file under IN, writing <study>/<series>/<instance>.dcm under OUT with "
            "keyed pseudonymous UIDs. Each input is de-identified, quarantined (burned-in text, duplicates) or "
            "rejected (not DICOM, truncated), and the signed manifest (default OUT.manifest.json) says which, by "
            "SHA-256. OUT must not exist or be empty; it appears complete or not at all. Exit codes: 0 done "
            "(quarantined or rejected files included), 2 usage or bad input."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="IN", type=Path, help="a DICOM file or a directory tree")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", type=Path, help="output directory")
    parser.add_argument("--key", required=True, metavar="SIGNER.key", type=Path, help="Ed25519 signing key")
    parser.add_argument(
        "--secret", required=True, metavar="FILE", type=Path, help="32-byte pseudonym secret (mode 0600)"
    )
    parser.add_argument("--dataset", required=True, metavar="NAME", help="dataset name recorded in the manifest")
    parser.add_argument(
        "--option", action="append", default=[], choices=sorted(SUPPORTED_OPTIONS), metavar="OPT", help=_OPTIONS_HELP
    )
    parser.add_argument("--manifest", metavar="FILE", type=Path, help="manifest path (default: OUT.manifest.json)")
    parser.add_argument(
        "--pixel-rules",
        metavar="FILE",
        type=Path,
        help="YAML rules: rectangles to blank per device and image size, so burned-in images can be released",
    )
    parser.add_argument("--force", action="store_true", help="replace an earlier output at OUT")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """De-identify ``args.inputs`` into ``args.output``; summary on stderr."""
    from phistack.deid import profile
    from phistack.deid.dicom_run import Settings
    from phistack.deid.dicom_run import run as deidentify
    from phistack.deid.outdir import default_manifest
    from phistack.deid.pixel_rules import PixelRules
    from phistack.deid.pseudonym import Pseudonymizer
    from runtime.ed25519 import load_private_key

    output: Path = args.output
    manifest: Path = args.manifest or default_manifest(output)
    settings = Settings(
        profile=profile.load(args.option),
        pseudonyms=Pseudonymizer.from_file(args.secret),
        dataset=args.dataset,
        key=load_private_key(args.key),
        pixel_rules=PixelRules.load(args.pixel_rules) if args.pixel_rules else None,
    )
    report = deidentify(list(args.inputs), output, manifest, settings, force=args.force)
    counts = report.counts
    removed, replaced = counts["removed"] + counts["removed_unlisted"], counts["replaced"] + counts["uids_replaced"]
    print(
        f"phistack: deid dicom: {counts['inputs']} inputs: {counts['deidentified']} de-identified into {output}, "
        f"{counts['quarantined']} quarantined, {counts['rejected']} rejected; {removed} attributes removed, "
        f"{replaced} replaced, {counts['cleaned']} cleaned, "
        f"{counts['private_removed']} private removed; manifest {manifest}",
        file=sys.stderr,
    )
    return ExitCode.OK
