"""Offline planning rate beside a mock floor: synthetic stacks of N workloads, planned under the mock monitor.

Run from the repository root:  .venv/bin/python bench/plan_rate.py [--repeat N] [--sizes 100,1000] [--profile]

For each size the stack program (stacks/__main__.py) is planned with ``plan_stack``, and so is a *floor*: a
trivial Pulumi program that registers the same resources (type token, name, parent, dependencies, inputs,
custom or component) straight from the real program's plan, with plain ``CustomResource`` and
``ComponentResource`` objects, through the same planner, mock monitor and plan validation. The floor's plan
must equal the real one, so the two differ only in how the program gets to its registrations. Runs of the two
alternate in one process; the bench prints each median, the ratio program / floor (the median of the ratios of
adjacent runs, which load from other jobs shifts least) with their range, the SDK tasks each program creates per
resource, the CPU model and the date. ``--profile`` adds a cProfile summary of one real plan of the
largest size.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import json
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.command_speed import cpu_model  # noqa: E402
from phistack.plan.offline import Project, load_project, plan_stack  # noqa: E402

DIGEST = "sha256:" + "ab" * 32
T = TypeVar("T")
_STACK_TYPE = "pulumi:pulumi:Stack"

# The floor program: every resource of ``<stack>.json`` (parents and dependencies first), nothing else.
FLOOR_PROGRAM = '''\
"""Mock floor: register the resources of a plan as they are, with no component code around them."""

import json
from pathlib import Path

import pulumi

doc = json.loads((Path(__file__).parent / f"{pulumi.get_stack()}.json").read_text())
made = {}
for r in doc["resources"]:
    opts = pulumi.ResourceOptions(parent=made.get(r["parent"]), depends_on=[made[u] for u in r["dependencies"]])
    if r["custom"]:
        made[r["urn"]] = pulumi.CustomResource(r["type"], r["name"], r["inputs"], opts)
    else:
        made[r["urn"]] = component = pulumi.ComponentResource(r["type"], r["name"], r["inputs"], opts)
        component.register_outputs({})
pulumi.export("spec", doc["spec"])
'''


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


def registration_order(resources: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The plan's resources minus the stack, each after its parent and dependencies (a resource must exist
    before another names it); a resource parented to the stack gets no parent (the stack is the default)."""
    stack_urns = {r["urn"] for r in resources if r["type"] == _STACK_TYPE}
    by_urn = {r["urn"]: r for r in resources if r["urn"] not in stack_urns}
    ordered: list[dict[str, Any]] = []
    placed: set[str] = set()

    def place(urn: str) -> None:
        if urn in placed or urn not in by_urn:
            return
        placed.add(urn)
        r = by_urn[urn]
        if r["provider"] is not None:
            raise SystemExit(f"{urn}: the floor registers resources on default providers only")
        for before in [r["parent"], *r["dependencies"]]:
            if before is not None:
                place(before)
        parent = None if r["parent"] in stack_urns else r["parent"]
        ordered.append({**{k: r[k] for k in ("urn", "type", "name", "custom", "dependencies", "inputs")},
                        "parent": parent})

    for urn in by_urn:
        place(urn)
    return ordered


def make_floor(directory: Path, real: Project, plans: Mapping[str, Mapping[str, Any]]) -> Project:
    """A project with the real one's name and stack files whose program is :data:`FLOOR_PROGRAM`, fed the
    resources and spec of each real plan in ``plans`` (by stack)."""
    program = directory / "floor"
    program.mkdir()
    (program / "__main__.py").write_text(FLOOR_PROGRAM)
    for stack, plan in plans.items():
        doc = {"spec": plan["spec"], "resources": registration_order(plan["resources"])}
        (program / f"{stack}.json").write_text(json.dumps(doc))
    return Project(root=directory, name=real.name, main=program, config_dir=real.config_dir)


def count_tasks(run: Callable[[], T]) -> tuple[T, int]:
    """What ``run`` returns, and how many asyncio tasks it created (the SDK makes one per output, registration
    step and apply)."""
    loop = asyncio.get_event_loop_policy().get_event_loop()
    created = 0

    def factory(loop_: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        nonlocal created
        created += 1
        return asyncio.Task(coro, loop=loop_, **kwargs)

    loop.set_task_factory(factory)
    try:
        result = run()
    finally:
        loop.set_task_factory(None)
    return result, created


def _timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per size and program (median reported)")
    parser.add_argument("--sizes", default="100,1000", help="comma-separated workload counts")
    parser.add_argument("--profile", action="store_true", help="add a cProfile summary of one largest real plan")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{dt.date.today().isoformat()}  {cpu_model()}  Python {platform.python_version()}  "
          f"repeat {args.repeat}, runs of the program and the floor alternating")
    print(f"{'workloads':>9}  {'resources':>9}  {'program s':>9}  {'floor s':>7}  {'ratio':>5}  {'pair ratios':>11}  "
          f"{'tasks/resource program':>22}  {'floor':>5}")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "real").mkdir()
        make_project(Path(tmp) / "real", sizes)
        real = load_project(Path(tmp) / "real")
        stacks = {size: f"bench-{size}" for size in sizes}
        # Untimed first runs (they warm imports): the program's plan, which the floor is made from, and the
        # floor's, which must equal it; each counts the tasks it created.
        counted = {stack: count_tasks(partial(plan_stack, real, stack)) for stack in stacks.values()}
        floor = make_floor(Path(tmp), real, {stack: plan for stack, (plan, _) in counted.items()})
        for size, stack in stacks.items():
            plan, program_tasks = counted[stack]
            floor_plan, floor_tasks = count_tasks(partial(plan_stack, floor, stack))
            if floor_plan["resources"] != plan["resources"]:
                raise SystemExit(f"{stack}: the floor's plan differs from the program's; fix the floor first")
            program, floor_program = partial(plan_stack, real, stack), partial(plan_stack, floor, stack)
            pairs = [(_timed(program), _timed(floor_program)) for _ in range(args.repeat)]
            program_s, floor_s = (statistics.median(run[k] for run in pairs) for k in (0, 1))
            ratios = [p / f for p, f in pairs]
            n = len(plan["resources"])
            print(f"{size:>9}  {n:>9}  {program_s:>9.2f}  {floor_s:>7.2f}  {statistics.median(ratios):>5.2f}  "
                  f"{min(ratios):>5.2f}-{max(ratios):<5.2f}  {program_tasks / n:>22.1f}  {floor_tasks / n:>5.1f}",
                  flush=True)
        if args.profile:
            largest = stacks[max(sizes)]
            profiler = cProfile.Profile()
            profiler.enable()
            plan_stack(real, largest)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
            print(f"\ncProfile of one {largest} plan (top 18 by cumulative time):")
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
