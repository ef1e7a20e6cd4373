"""Every benchmark, one after the other, with its default settings (``make bench``).

    .venv/bin/python bench/run_all.py [--quick]

``--quick`` runs each with small sizes, to check that they work; the figures of docs/BENCHMARKS.md come
from full runs. Each benchmark prints its own table, the CPU model and the date where it measures ratios.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent

# name -> (full arguments, quick arguments)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "command_speed.py": ([], ["--reps", "1", "--size-mib", "16", "--gate-workloads", "10"]),
    "crypto_throughput.py": ([], ["--size-mib", "16", "--reps", "1", "--file-reps", "1", "--openssl-seconds", "1"]),
    "audit_throughput.py": ([], ["--records", "2000", "--ship-records", "1000", "--repeat", "1"]),
    "plan_rate.py": ([], ["--repeat", "1", "--sizes", "10"]),
    "gate_scale.py": ([], ["--repeat", "1", "--workloads", "10,30", "--regopy-max", "10"]),
    "pipeline_overhead.py": ([], ["--images", "256", "--repeats", "1"]),
    "deid_throughput.py": ([], ["--repeat", "1"]),
    "checkov_compare.py": ([], ["--workloads", "10", "--reps", "1"]),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: check that each benchmark runs")
    args = parser.parse_args()
    failed = []
    for name, (full, quick) in BENCHMARKS.items():
        print(f"==> bench/{name}", flush=True)
        proc = subprocess.run([sys.executable, str(BENCH / name), *(quick if args.quick else full)], check=False)
        if proc.returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
