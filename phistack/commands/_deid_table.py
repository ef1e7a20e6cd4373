"""``phistack deid table``: Safe Harbor de-identification of CSV tables and FHIR Bundles, with a signed manifest."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from phistack.errors import ExitCode

PROFILE = "hipaa-164.514(b)(2)"


def register(actions: Any) -> None:
    """Add the ``table`` action to ``phistack deid``."""
    parser = actions.add_parser(
        "table",
        help="de-identify CSV tables and FHIR R4 Bundles under HIPAA Safe Harbor, as a schema declares",
        description=(
            "De-identify CSV tables and FHIR R4 Bundles (one per .json file) under HIPAA Safe Harbor (45 CFR "
            "164.514(b)(2)): every CSV column and FHIR element is declared in --schema with an action (keep, drop, "
            "pseudonymize, date, age, zip, reference); anything undeclared, free text, or a value that does not "
            "parse is refused with its file and row, column or entry. Outputs go to OUT, named by type and order "
            "(table-0001.csv, bundle-0001.json), and a manifest signed with --key beside it (OUT.manifest.json). "
            "Nothing is written unless every input succeeds. Exit codes: 0 done, 2 usage or bad input."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="IN", help="CSV (.csv) or FHIR Bundle (.json) files")
    parser.add_argument("-o", "--output", metavar="OUT", required=True, help="output directory (new or empty)")
    parser.add_argument("--schema", metavar="FILE", required=True, help="the YAML schema declaring every field")
    parser.add_argument("--key", metavar="SIGNER.key", required=True, help="Ed25519 key from `phistack deid keygen`")
    parser.add_argument(
        "--secret", metavar="FILE", required=True, help="the 32-byte pseudonym secret (mode 0600; never written out)"
    )
    parser.add_argument("--dataset", metavar="NAME", required=True, help="the dataset's name in the manifest")
    parser.add_argument("--manifest", metavar="FILE", help="where to write the manifest (default OUT.manifest.json)")
    parser.add_argument(
        "--force", action="store_true", help="replace an earlier output of this command (and its manifest)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """De-identify, sign, publish; one summary line on stderr."""
    from phistack import __version__
    from phistack.deid import outdir
    from phistack.deid.pseudonym import Pseudonymizer
    from phistack.deid.safe_harbor import identifier_handling
    from phistack.deid.table import deidentify_files, output_kind
    from phistack.deid.table_schema import load_schema
    from runtime.deid.manifest import build_payload, file_sha256, sign_manifest
    from runtime.ed25519 import load_private_key

    target = Path(args.output)
    manifest = Path(args.manifest) if args.manifest else outdir.default_manifest(target)
    inputs = [Path(name) for name in args.inputs]
    for path in inputs:
        output_kind(path)  # refuse a wrong kind of file before any work
    schema_path = Path(args.schema)
    schema = load_schema(schema_path)
    key = load_private_key(args.key)
    pseudonymizer = Pseudonymizer.from_file(Path(args.secret))
    outdir.check_target(target, manifest, force=args.force)
    now = dt.datetime.now(dt.UTC)
    with outdir.staging(target) as staged:
        dataset = deidentify_files(inputs, staged, schema, pseudonymizer, now.date())
        method = {
            # Shifted dates are still full dates: Safe Harbor (b)(2)(i)(C) allows only the year, so such an
            # output is a limited data set (164.514(e)), still PHI, and its manifest says so.
            "kind": "safe-harbor" if schema.dates == "year" else "limited-data-set",
            "profile": PROFILE,
            "schema_sha256": file_sha256(schema_path),
            "dates": schema.dates,
            "identifiers": identifier_handling(schema, dataset.counts),
        }
        payload = build_payload(
            dataset=args.dataset,
            method=method,
            tool_version=__version__,
            outputs=dataset.outputs,
            quarantined=[],
            rejected=[],
            counts=dataset.counts,
            created_at=now,
        )
        outdir.publish(staged, target, manifest, sign_manifest(payload, key))
    changed = sum(v for k, v in dataset.counts.items() if not k.startswith(("files.", "rows", "entries", "resources")))
    print(
        f"phistack: de-identified {len(inputs)} file(s) into {target} ({changed} value(s) removed or replaced); "
        f"manifest {manifest} ({payload['dataset_digest']})",
        file=sys.stderr,
    )
    if schema.dates == "shift":
        print(
            "phistack: warning: dates: shift keeps shifted full dates, which Safe Harbor (C) does not allow: "
            "the manifest records a limited data set (45 CFR 164.514(e)), still PHI, not de-identified data",
            file=sys.stderr,
        )
    return ExitCode.OK
