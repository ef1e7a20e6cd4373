"""The gate beside Checkov on the same stack, side by side in one run: wall time and resources per second.

    .venv/bin/python bench/checkov_compare.py [--workloads 1000] [--reps 3] [--venv .bench-checkov]

Checkov (pinned below) lives in a virtual environment of its own (created on the first run, from PyPI), so
it never shares dependencies with phistack. One synthetic compliant stack (bench/plan_rate.py's shape) is
planned once; phistack gates its plan (``phistack check --plan``, the whole command) and Checkov scans the
Kubernetes manifests ``phistack render`` writes for the same plan (``checkov -d DIR --framework kubernetes``,
the whole command). The two alternate in every repetition. Checkov judges only the rendered Kubernetes
objects; phistack judges those and the components (BAA, attestation, log shipping) besides.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from bench.command_speed import cpu_model, gate_plan, wall  # noqa: E402

CHECKOV = "checkov==3.3.30"


def checkov_venv(path: Path) -> Path:
    """The checkov executable of the bench venv at ``path``, installed there on the first run."""
    executable = path / "bin" / "checkov"
    if not executable.exists():
        print(f"installing {CHECKOV} into {path} (first run only)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "--quiet", CHECKOV], check=True)
    return executable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--venv", type=Path, default=ROOT / ".bench-checkov", help="Checkov's own venv")
    args = parser.parse_args()
    checkov = checkov_venv(args.venv)
    phistack = str(BIN / "phistack")
    with tempfile.TemporaryDirectory(prefix="phistack-checkov-") as tmp:
        work = Path(tmp)
        plan = gate_plan(args.workloads, work)
        manifests = work / "manifests"
        subprocess.run([phistack, "render", "--plan", str(plan), "-o", str(manifests)], check=True,
                       capture_output=True)  # fmt: skip
        resources = len(json.loads(plan.read_text())["resources"])
        ours = [phistack, "check", "--plan", str(plan), "--now", "2026-11-27T12:00:00Z", "-o", os.devnull]
        theirs = [str(checkov), "-d", str(manifests), "--framework", "kubernetes", "--quiet", "--compact",
                  "-o", "json", "--output-file-path", str(work / "checkov")]  # fmt: skip
        samples: dict[str, list[float]] = {"phistack": [], "checkov": []}
        for rep in range(args.reps):
            samples["phistack"].append(wall(ours))
            samples["checkov"].append(wall(theirs))
            print(f"repetition {rep + 1}/{args.reps} done", file=sys.stderr)
        summary = json.loads((work / "checkov" / "results_json.json").read_text())
        summary = (summary[0] if isinstance(summary, list) else summary)["summary"]
    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"{cpu_model()}, {os.cpu_count()} cores; {dt.date.today().isoformat()}; medians of {args.reps}")
    print(f"{args.workloads} workloads: {resources} plan resources; Checkov scanned {summary['resource_count']} "
          f"Kubernetes objects ({summary['passed']} checks passed, {summary['failed']} failed)")  # fmt: skip
    rate = resources / median["phistack"]
    print(f"{'phistack check --plan':<24}{median['phistack']:>8.2f}s  {rate:>7.0f} resources/s")
    print(f"{'checkov -d (kubernetes)':<24}{median['checkov']:>8.2f}s  "
          f"{summary['resource_count'] / median['checkov']:>7.0f} resources/s")  # fmt: skip
    print(f"phistack / checkov wall time = {median['phistack'] / median['checkov']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
