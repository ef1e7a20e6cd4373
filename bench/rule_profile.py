"""Per-rule evaluation time of the HIPAA policy set on a synthetic plan (regorus).

    .venv/bin/python bench/rule_profile.py [--size 10000] [--repeat 3] [--stack clinical-nlp]

Times setting the input alone, the shared context (`data.phistack.lib.hipaa.ctx`, queried through
one small field so the result's size does not count), then each rule package as a whole (its
`deny`, `warn` and helper rules) less the context, and the full entrypoint.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.synthetic import scale_plan  # noqa: E402
from phistack.engine import load_policy_set, make_evaluator  # noqa: E402
from phistack.gate import ENTRYPOINT, gate_input  # noqa: E402
from phistack.plan.offline import plan_stack  # noqa: E402

NOW = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)


def timed(evaluator, query: str, document: dict, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        evaluator.query(query, document)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="clinical-nlp")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    policies = load_policy_set(REPO / "policies")
    evaluator = make_evaluator("regorus", policies)
    document = gate_input(scale_plan(plan_stack(REPO, args.stack), args.size), NOW)
    packages = sorted({p.parent.name.replace("-", "_") for p in (REPO / "policies" / "hipaa").glob("*/phi-*/*.rego")})
    baseline = timed(evaluator, "data.phistack.lib.hipaa.ctx.stack_urn", document, args.repeat)
    empty = timed(evaluator, "1 == 1", document, args.repeat)
    print(f"{args.size} resources, median of {args.repeat} (seconds)")
    print(f"{'input only (1 == 1)':<24}{empty:>8.3f}")
    print(f"{'lib.hipaa.ctx':<24}{baseline - empty:>8.3f}")
    print("rule package, less input and ctx:")
    rows = {}
    for package in packages:
        total = timed(evaluator, f"data.phistack.rules.{package}", document, args.repeat) - baseline
        rows[package] = total
        print(f"{package:<24}{total:>8.3f}")
    whole = timed(evaluator, ENTRYPOINT, document, args.repeat)
    print(f"{'entrypoint':<24}{whole:>8.3f}")
    print(json.dumps({"size": args.size, "input": empty, "ctx": baseline - empty, "rules": rows, "entrypoint": whole}))


if __name__ == "__main__":
    main()
