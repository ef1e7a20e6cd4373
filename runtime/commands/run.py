"""``phistack-runtime run JOB``: run a job spec (attest, obtain the key, decrypt, infer, encrypt, audit)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from runtime.commands import SUMMARIES

# The container ships torch without numpy; torch warns about that on import, which is noise here.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help=SUMMARIES["run"],
        description=(
            "Run the job described by JOB (YAML). A job on PHI or genetic data is refused unless this "
            "machine passes attestation and the key broker releases the data key. Prints the run "
            "report as JSON on stdout; every step is in the job's audit log."
        ),
    )
    parser.add_argument("job", metavar="JOB", help="the job spec (YAML)")
    parser.add_argument(
        "--check", action="store_true", help="only validate the job spec and print it resolved; run nothing"
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    # Imported here so that `phistack-runtime --help` does not pay for importing torch.
    from runtime.job import load_job

    job = load_job(args.job)
    if args.check:
        print(json.dumps(job.model_dump(mode="json"), indent=2, sort_keys=True))
        return 0

    from runtime.distributed import context_from_env
    from runtime.runner import run_job

    report = run_job(job)
    if not context_from_env().is_leader:
        return 0  # under torchrun every rank has the gathered report; rank 0 prints it
    print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    records = sum(o.records for o in report.objects)
    print(
        f"phistack-runtime: job {report.job!r} done: {len(report.objects)} object(s), {records} record(s) "
        f"on {report.device} ({report.device_name}) in {report.seconds:.2f}s",
        file=sys.stderr,
    )
    return 0
