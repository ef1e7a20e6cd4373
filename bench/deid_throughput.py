"""DICOM de-identification throughput over the DICOM files in the pydicom wheel, beside a plain pydicom
read and write of the same files.

    .venv/bin/python bench/deid_throughput.py [--repeat 5]

Rows, measured alternately in each repetition, in one process:

* ``deid dicom``: :func:`phistack.deid.dicom_run.run` over pydicom's ``test_files`` tree: walk, hash, read,
  de-identify, write, manifest signing. Every file counts, including those quarantined or rejected.
* ``pydicom read+write``: the baseline, over the same files: ``dcmread`` (``force=False``) of each and
  ``dcmwrite`` into memory of those it reads (the others fail fast in both rows).

Files/s and MB/s (input bytes) come from the median time over ``--repeat``; the ratio is the baseline's time
over deid's (1.0: de-identification costs nothing beyond reading and writing). Prints the CPU model and the
date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import pydicom.data  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from pydicom import dcmread, dcmwrite  # noqa: E402

from bench.command_speed import cpu_model  # noqa: E402
from phistack.deid import profile  # noqa: E402
from phistack.deid.dicom_run import Settings, run  # noqa: E402
from phistack.deid.pseudonym import Pseudonymizer  # noqa: E402

TEST_FILES = Path(pydicom.data.__file__).resolve().parent / "test_files"


def deid_once(work: Path, settings: Settings, index: int) -> float:
    """Seconds for one run."""
    started = time.perf_counter()
    run([TEST_FILES], work / f"out{index}", work / f"out{index}.manifest.json", settings)
    return time.perf_counter() - started


def baseline_once(files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        try:
            ds = dcmread(io.BytesIO(path.read_bytes()), force=False)
            dcmwrite(io.BytesIO(), ds, enforce_file_format=True)
        except Exception:  # not DICOM: deid rejects these too
            continue
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (median reported)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # pydicom on the odd values of its own test files; deid silences them too
    files = sorted(Path(f) for f in pydicom.data.get_testdata_files() if os.path.isfile(f))
    total = sum(f.stat().st_size for f in files)
    settings = Settings(
        profile=profile.load(["rtmd"]),
        pseudonyms=Pseudonymizer(b"b" * 32),
        dataset="bench",
        key=Ed25519PrivateKey.generate(),
        progress_files=10**9,
        progress_seconds=1e9,
    )
    deid_times, base_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        deid_once(Path(tmp), settings, -1)  # warm-up: imports, the table, the file cache
        baseline_once(files)
        for index in range(args.repeat):
            deid_times.append(deid_once(Path(tmp), settings, index))
            base_times.append(baseline_once(files))
    deid_s, base_s = statistics.median(deid_times), statistics.median(base_times)
    deid_mbs, base_mbs = total / deid_s / 1e6, total / base_s / 1e6
    print(f"{cpu_model()}, {os.cpu_count()} cores; {dt.date.today().isoformat()}; medians of {args.repeat}")
    print(f"{'row':<20} {'files':>6} {'MB':>6} {'files/s':>9} {'MB/s':>7}")
    print(f"{'deid dicom':<20} {len(files):>6} {total / 1e6:>6.2f} {len(files) / deid_s:>9.0f} {deid_mbs:>7.1f}")
    print(
        f"{'pydicom read+write':<20} {len(files):>6} {total / 1e6:>6.2f} {len(files) / base_s:>9.0f} {base_mbs:>7.1f}"
    )
    print(f"ratio deid / read+write (throughput): {base_s / deid_s:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
