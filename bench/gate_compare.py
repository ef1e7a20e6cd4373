"""One gate evaluation with the policy library of an earlier revision beside the current one, in one run.

    .venv/bin/python bench/gate_compare.py --baseline REV [--plan FILE | --workloads 300]
        [--companions] [--gpu-pools N] [--repeat 5]

Both policy sets are loaded into their own regorus engines with the same input (the plan and a fixed
evaluation time); each repetition evaluates ``data.phistack.main.result`` with one, then the other, so
load on the machine affects both alike. Prints the CPU model, the date, both medians and their ratio.
The baseline's policies come from ``git archive REV policies`` (so its rules are that revision's rules).
``--companions`` gives every workload a ConfigMap, a claim and a Service, ``--gpu-pools N`` the cluster N
labelled, tainted GPU pools (bench/synthetic.py). Both policy
sets must reach the same result, or the comparison stops: a faster rule that decides differently is no gain.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.command_speed import cpu_model, gate_plan  # noqa: E402
from bench.synthetic import with_companions, with_gpu_pools  # noqa: E402
from phistack.engine import load_policy_set  # noqa: E402
from phistack.engine.regorus_engine import RegorusEvaluator  # noqa: E402
from phistack.gate import ENTRYPOINT, gate_input  # noqa: E402
from phistack.plan.document import load_plan  # noqa: E402
from phistack.plan.view import Plan, thaw  # noqa: E402

NOW = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)


def policies_at(revision: str, directory: Path) -> Path:
    """The policies/ tree of ``revision``, unpacked under ``directory``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, "policies"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return directory / "policies"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="git revision whose policies/ to compare with")
    parser.add_argument("--plan", type=Path, help="plan document (default: a synthetic compliant plan)")
    parser.add_argument("--workloads", type=int, default=300, help="workloads of the synthetic plan")
    parser.add_argument("--companions", action="store_true", help="a ConfigMap, claim and Service per workload")
    parser.add_argument("--gpu-pools", type=int, default=0, help="give the GPU cluster this many labelled pools")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="phistack-gate-compare-") as tmp:
        work = Path(tmp)
        plan_path = args.plan or gate_plan(args.workloads, work)
        plan = thaw(load_plan(plan_path))
        if args.companions:
            plan = with_companions(plan)
        if args.gpu_pools:
            plan = with_gpu_pools(plan, args.gpu_pools)
        document = json.dumps(gate_input(Plan.validated(plan), NOW))
        engines = {}
        for name, root in (("baseline", policies_at(args.baseline, work)), ("current", REPO / "policies")):
            engine = RegorusEvaluator(load_policy_set(root)).engine
            engine.set_input_json(document)
            engines[name] = engine
        results = {name: engine.eval_query_as_json(ENTRYPOINT) for name, engine in engines.items()}
        if results["baseline"] != results["current"]:
            raise SystemExit("the two policy sets decide this plan differently: compare them before timing them")
        samples: dict[str, list[float]] = {name: [] for name in engines}
        for _ in range(args.repeat):
            for name, engine in engines.items():
                started = time.perf_counter()
                engine.eval_query_as_json(ENTRYPOINT)
                samples[name].append(time.perf_counter() - started)
        resources = len(json.loads(document)["plan"]["resources"])
    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"{cpu_model()}, {os.cpu_count()} cores; {dt.date.today().isoformat()}; medians of {args.repeat}")
    print(f"{resources} resources; policies of {args.baseline} vs the working tree")
    for name, value in median.items():
        print(f"{name:<10}{value:>9.3f}s  {value / resources * 1e3:.2f} ms/resource")
    print(f"current / baseline = {median['current'] / median['baseline']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
