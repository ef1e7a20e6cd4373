"""How gate evaluation grows with the plan: time per resource at several sizes, on both embedded engines.

    .venv/bin/python bench/gate_scale.py [--workloads 100,300,1000] [--repeat 3] [--regopy-max 100]

Each size is a synthetic stack of N PHI workloads (bench/plan_rate.py's shape: one cluster, ten namespaces, log
shipping) planned once, in which every workload also has a ConfigMap it loads, a claim it mounts and a Service
(bench/synthetic.with_companions): the objects rules look up per workload. If a rule looked through every
object of a kind for each workload, the time per resource would grow with N; linear evaluation keeps it flat.
Prints, per size, the median seconds of ``data.phistack.main.result`` and the microseconds per resource for
regorus (and regopy, once, up to ``--regopy-max`` workloads: it is about 100 times slower), the findings, the CPU
model and the date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.command_speed import cpu_model, gate_plan  # noqa: E402
from bench.synthetic import with_companions  # noqa: E402
from phistack.engine import load_policy_set, make_evaluator  # noqa: E402
from phistack.gate import ENTRYPOINT, gate_input  # noqa: E402
from phistack.plan.document import load_plan  # noqa: E402
from phistack.plan.view import Plan, thaw  # noqa: E402

NOW = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)


def median_seconds(run: object, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="100,300,1000", help="sizes, in workloads (comma-separated)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--regopy-max", type=int, default=100, help="largest size regopy evaluates (workloads)")
    args = parser.parse_args()
    policies = load_policy_set(REPO / "policies")
    engines = {name: make_evaluator(name, policies) for name in ("regorus", "regopy")}
    print(f"{cpu_model()}, {os.cpu_count()} cores; {dt.date.today().isoformat()}; medians of {args.repeat}")
    header = ("workloads", "resources", "regorus s", "µs/res", "regopy s", "µs/res")
    print("  ".join(f"{title:>9}" for title in header), " findings")
    for workloads in (int(size) for size in args.workloads.split(",")):
        with tempfile.TemporaryDirectory(prefix="phistack-gate-scale-") as tmp:
            plan = Plan.validated(with_companions(thaw(load_plan(gate_plan(workloads, Path(tmp))))))
        document = gate_input(plan, NOW)
        size = len(plan["resources"])
        row = [f"{workloads:>9}", f"{size:>9}"]
        findings = set()
        for name, evaluator in engines.items():
            if name == "regopy" and workloads > args.regopy_max:
                row.append(f"{'-':>9}  {'-':>9}")
                continue
            runs = args.repeat if name == "regorus" else 1
            seconds = median_seconds(lambda ev=evaluator, doc=document: ev.query(ENTRYPOINT, doc), runs)
            result = evaluator.query(ENTRYPOINT, document)
            findings.add(len(result["deny"]) + len(result["warn"]))
            row.append(f"{seconds:>9.3f}  {seconds / size * 1e6:>9.0f}")
        if len(findings) != 1:
            raise SystemExit(f"the engines disagree on the plan of {workloads} workloads: {sorted(findings)} findings")
        row.append(f"{findings.pop():>8}")
        print("  ".join(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
