"""Offline planning rate: plan synthetic stacks of 100 and 1,000 workloads under the mock monitor.

Run from the repository root:  .venv/bin/python bench/plan_rate.py [--repeat N] [--sizes 100,1000]
Prints the median wall time and resources per second per size, then a cProfile summary of one
1,000-workload plan (top functions by cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from phistack.plan.offline import plan_stack  # noqa: E402

DIGEST = "sha256:" + "ab" * 32


def synthetic_config(workloads: int, namespaces: int = 10) -> dict[str, Any]:
    """A compliant PHI stack with ``workloads`` workloads spread over ``namespaces`` namespaces."""
    ns_names = [f"team-{i:02d}" for i in range(namespaces)]
    return {
        "phistack:description": f"benchmark: {workloads} workloads",
        "phistack:provider": {"name": "helix-gpu", "plan": "secure-cloud", "region": "us-east",
                              "baa": {"reference": "BAA-HELIX-2026-01", "signed": "2026-01-15",
                                      "expires": "2027-01-14"}},
        "phistack:cluster": {
            "name": "bench",
            "identity_provider": {"issuer": "https://login.example-hospital.org", "mfa_required": True},
            "namespaces": [{"name": n, "data_classification": "phi"} for n in ns_names],
            "node_pools": [{"name": "h100-cc", "gpu_model": "H100 SXM", "gpu_count": 8,
                            "node_count": max(1, workloads // 8), "cc_capable": True}],
            "access_grants": [{"subject": f"{n}-operators", "namespace": n, "role": "operator"} for n in ns_names],
            "quota": {"gpus": workloads},
        },
        "phistack:logging": {"siem_host": "siem.example-hospital.org",
                             "image": f"cr.fluentbit.io/fluent/fluent-bit@{DIGEST}"},
        "phistack:workloads": [
            {"name": f"w{i:04d}", "namespace": ns_names[i % namespaces],
             "image": f"registry.example-hospital.org/phistack/runtime@{DIGEST}", "data_classification": "phi",
             "key_broker": {"url": "https://kbs.example-hospital.org", "key_id": f"dek-{i}",
                            "attestation_policy": "phistack.attestation.gpu_cc"}}
            for i in range(workloads)
        ],
    }


def make_project(directory: Path, sizes: list[int]) -> None:
    """A Pulumi project whose program is this checkout's stacks/, with one stack per size."""
    (directory / "Pulumi.yaml").write_text(yaml.safe_dump({
        "name": "phistack", "runtime": {"name": "python"}, "main": str(ROOT / "stacks"),
        "stackConfigDir": "stacks"}))
    (directory / "stacks").mkdir()
    for size in sizes:
        (directory / "stacks" / f"Pulumi.bench-{size}.yaml").write_text(
            yaml.safe_dump({"config": synthetic_config(size)}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per size (median reported)")
    parser.add_argument("--sizes", default="100,1000", help="comma-separated workload counts")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        make_project(project, sizes)
        plan_stack(project, f"bench-{sizes[0]}")  # warm imports
        print(f"{'workloads':>9}  {'resources':>9}  {'median s':>8}  {'min s':>6}  {'max s':>6}  {'resources/s':>11}")
        for size in sizes:
            times: list[float] = []
            count = 0
            for _ in range(args.repeat):
                start = time.perf_counter()
                plan = plan_stack(project, f"bench-{size}")
                times.append(time.perf_counter() - start)
                count = len(plan["resources"])
            median = statistics.median(times)
            print(f"{size:>9}  {count:>9}  {median:>8.2f}  {min(times):>6.2f}  {max(times):>6.2f}  "
                  f"{count / median:>11.0f}")
        largest = max(sizes)
        profiler = cProfile.Profile()
        profiler.enable()
        plan_stack(project, f"bench-{largest}")
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
        print(f"\ncProfile of one {largest}-workload plan (top 18 by cumulative time):")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
