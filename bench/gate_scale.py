"""Gate performance: evaluation time vs. plan size on both engines, peak memory of `phistack check`,
and the offline planning rate with a profile.

    .venv/bin/python bench/gate_scale.py [--stack clinical-nlp] [--repeat 5] [--regopy-max 10000]

Prints medians; record them in docs/BENCHMARKS.md with this command.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.synthetic import scale_plan  # noqa: E402
from phistack.engine import load_policy_set, make_evaluator  # noqa: E402
from phistack.errors import PolicyError  # noqa: E402
from phistack.gate import ENTRYPOINT, gate_input  # noqa: E402
from phistack.plan.document import dump_plan  # noqa: E402
from phistack.plan.offline import plan_stack  # noqa: E402

NOW = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)


def median_seconds(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def evaluation(plan: dict, sizes: list[int], repeat: int, regopy_max: int) -> None:
    policies = load_policy_set(REPO / "policies")
    print(f"\n== evaluation of {ENTRYPOINT} ({len(policies.rules_metadata())} rules), median of {repeat} ==")
    print(f"{'resources':>10}  {'regorus s':>10}  {'µs/res':>8}  {'regopy s':>10}  {'µs/res':>8}  {'findings':>8}")
    engines = {name: make_evaluator(name, policies) for name in ("regorus", "regopy")}
    for size in sizes:
        document = gate_input(scale_plan(plan, size), NOW)
        row = [f"{size:>10}"]
        findings = 0
        for name, evaluator in engines.items():
            if name == "regopy" and size > regopy_max:
                row.append(f"{'skipped':>10}  {'':>8}")
                continue
            runs = repeat if name == "regorus" else 1
            try:
                seconds = median_seconds(lambda ev=evaluator, doc=document: ev.query(ENTRYPOINT, doc), runs)
            except PolicyError as err:  # regopy gives up on large plans
                row.append(f"{'error':>10}  {'':>8}")
                print(f"({name} at {size} resources: {err})", file=sys.stderr)
                continue
            result = evaluator.query(ENTRYPOINT, document)
            findings = len(result["deny"]) + len(result["warn"])
            row.append(f"{seconds:>10.3f}  {seconds / size * 1e6:>8.1f}")
        row.append(f"{findings:>8}")
        print("  ".join(row))


def peak_memory(plan: dict, size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        text = dump_plan(scale_plan(plan, size))
        path.write_text(text)
        started = time.perf_counter()
        # wait4 reports this child's own peak RSS (RUSAGE_CHILDREN would include earlier children,
        # such as regopy's evaluations above).
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "phistack",
                "check",
                "--plan",
                str(path),
                "--format",
                "json",
                "-o",
                str(Path(tmp) / "out.json"),
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
    print(f"\n== `phistack check --plan` on {size} resources ==")
    print(
        f"exit {os.waitstatus_to_exitcode(status)}, wall {elapsed:.2f} s, peak RSS {usage.ru_maxrss / 1024:.0f} MiB "
        f"(plan file {len(text) / 2**20:.1f} MiB)"
    )


def planning(stack: str) -> None:
    print(f"\n== offline planning of stack {stack} (mock monitor) ==")
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    plan = plan_stack(REPO, stack)
    profile.disable()
    elapsed = time.perf_counter() - started
    count = len(plan["resources"])
    print(f"{count} resources in {elapsed:.2f} s: {count / elapsed:.0f} resources/s")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(12)
    print("\n".join(out.getvalue().splitlines()[:30]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="clinical-nlp")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--regopy-max", type=int, default=10_000)
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    plan = plan_stack(REPO, args.stack)
    # First, while this process is small: a child's peak RSS starts from its parent's at fork.
    peak_memory(plan, 10_000)
    evaluation(plan, [int(s) for s in args.sizes.split(",")], args.repeat, args.regopy_max)
    planning(args.stack)
    print(json.dumps({"stack": args.stack, "base_resources": len(plan["resources"])}))


if __name__ == "__main__":
    main()
