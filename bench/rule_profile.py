"""Per-rule evaluation time of the HIPAA policy set on a synthetic plan (regorus).

    .venv/bin/python bench/rule_profile.py [--size 10000] [--repeat 3] [--policies policies]

The input is set once; every query then evaluates from scratch (regorus keeps no results between
queries). Reported, as medians: the shared context alone (`data.phistack.lib.hipaa.ctx`, read by a
small probe package the way rules read it, so the size of the result does not count), each rule
package's `deny` and `warn` less the context, and the full entrypoint. Rule costs overlap (lookups
they share are counted in each), so they do not add up to the entrypoint exactly.
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
from phistack.plan.document import load_plan  # noqa: E402
from phistack.plan.offline import plan_stack  # noqa: E402

NOW = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)

# Reads the context through the library import like a rule does, without any rule's own work.
PROBE = """package phistack_profile_probe

import rego.v1

import data.phistack.lib.hipaa as lib

resources := count(lib.ctx.resources)
"""


def timed(engine, query: str, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        engine.eval_query_as_json(query)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="clinical-nlp")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--policies", type=Path, default=REPO / "policies")
    parser.add_argument("--plan", type=Path, help="profile this plan document instead of a scaled reference stack")
    args = parser.parse_args()
    policies = load_policy_set(args.policies)
    engine = make_evaluator("regorus", policies).engine
    engine.add_policy("phistack_profile_probe.rego", PROBE)
    plan = load_plan(args.plan) if args.plan else scale_plan(plan_stack(REPO, args.stack), args.size)
    args.size = len(plan["resources"])
    document = gate_input(plan, NOW)
    started = time.perf_counter()
    engine.set_input_json(json.dumps(document))
    input_seconds = time.perf_counter() - started
    # phistack.rules.<area>.<rule>: both directory names, dashes as underscores
    rule_dirs = {p.parent for p in (args.policies / "hipaa").glob("*/phi-*/*.rego")}
    packages = sorted(f"{d.parent.name}.{d.name}".replace("-", "_") for d in rule_dirs)
    context = timed(engine, "data.phistack_profile_probe.resources", args.repeat)
    print(f"{args.size} resources, median of {args.repeat}, milliseconds")
    print(f"{'set input (once)':<40}{input_seconds * 1e3:>8.0f}")
    print(f"{'lib.hipaa.ctx':<40}{context * 1e3:>8.0f}")
    rows = {}
    for package in packages:
        total = 0.0
        for rule in ("deny", "warn"):
            query = f"data.phistack.rules.{package}.{rule}"
            if json.loads(engine.eval_query_as_json(query)).get("result"):
                total += timed(engine, query, args.repeat) - context
        rows[package] = total
        print(f"{package:<40}{total * 1e3:>8.0f}")
    whole = timed(engine, ENTRYPOINT, args.repeat)
    print(f"{'entrypoint':<40}{whole * 1e3:>8.0f}")
    print(json.dumps({"size": args.size, "input": input_seconds, "ctx": context, "rules": rows, "entrypoint": whole}))


if __name__ == "__main__":
    main()
