"""Whole commands as a user runs them, each next to its floor, measured side by side in one run.

    .venv/bin/python bench/command_speed.py [--reps 7] [--size-mib 1024] [--gate-workloads 3300]

Rows (medians over the repetitions; the rows of one repetition run back to back, so load affects both sides
of a ratio alike):

* ``phistack --help`` and ``phistack-runtime --help`` against ``python -c pass`` (interpreter start-up);
* ``phistack check --plan`` on a reference plan (tests/fixtures/plans/phi-compliant.json), against ``python -c
  pass``, and on a synthetic compliant plan of ``--gate-workloads`` workloads (bench/plan_rate.py's stack shape,
  planned once; the default 3,300 give about 10,000 resources), with the peak RSS of one run of it, and
  ``phistack render --plan`` of that plan into tmpfs (every manifest written and schema-validated);
* ``phistack data encrypt`` / ``decrypt`` of ``--size-mib`` on tmpfs (/dev/shm: the disk is excluded) against
  ``openssl speed -elapsed -evp aes-256-gcm -bytes 1048576`` on one core, as throughput ratios (wall clock, and
  per CPU second: user + sys of the command against openssl's), and against ``cp`` of the same file on the same
  tmpfs: a file-to-file command cannot beat the copy the kernel makes. Each runs twice: to a new file (the
  previous output removed, untimed) and over the file just written, which the kernel frees in the command
  (``cp`` truncates it, the atomic writer renames over it).

Prints the CPU model and the date with the table; docs/BENCHMARKS.md records the figures with this command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
from bench.crypto_throughput import openssl_speed  # noqa: E402

REFERENCE_PLAN = ROOT / "tests" / "fixtures" / "plans" / "phi-compliant.json"
NOW = ["--now", "2026-11-27T12:00:00Z"]


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def wall(command: list[str], **kwargs: object) -> float:
    """Seconds for one run of ``command``, which must succeed (exit 0 or 1 for a gate decision)."""
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return seconds


def timed(command: list[str], cpu: list[float], *, fresh: Path | None = None) -> float:
    """Wall seconds of ``command`` (which must exit 0); its CPU seconds (user + sys) go to ``cpu``.

    ``fresh``: remove this path first (untimed), so the command writes a new file.
    """
    if fresh is not None:
        fresh.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return seconds


# Runs a command and prints its peak RSS in KiB. A child's peak counts the pages it shares with its parent
# until exec, so the command is started from this small process, not from the benchmark (which holds a plan).
_PEAK_RSS = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_rss_mib(command: list[str]) -> float:
    """Peak resident memory of one run of ``command`` (exit 0 or 1), from the kernel's accounting of that child."""
    proc = subprocess.run([sys.executable, "-c", _PEAK_RSS, *command], capture_output=True, text=True, check=True)
    code, kib = (int(field) for field in proc.stdout.split())
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({code})")
    return kib / 1024


def plan_size(path: Path) -> int:
    """How many resources the plan file holds."""
    return len(json.loads(path.read_text())["resources"])


def gate_plan(workloads: int, directory: Path) -> Path:
    """A compliant plan of ``workloads`` workloads, planned once with the offline planner."""
    from bench.plan_rate import make_project
    from phistack.plan.document import write_plan
    from phistack.plan.offline import plan_stack

    project = directory / "project"
    project.mkdir()
    make_project(project, [workloads])
    plan = directory / f"bench-{workloads}.plan.json"
    write_plan(plan_stack(project, f"bench-{workloads}"), plan)
    return plan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--size-mib", type=int, default=1024, help="size encrypted and decrypted (default 1 GiB)")
    parser.add_argument(
        "--gate-workloads", type=int, default=3300, help="workloads of the large plan (0: skip)"
    )
    parser.add_argument("--tmpfs", default="/dev/shm", help="where the crypto files go (default /dev/shm)")
    args = parser.parse_args()

    phistack, runtime = str(BIN / "phistack"), str(BIN / "phistack-runtime")
    work = Path(tempfile.mkdtemp(prefix="phistack-bench-", dir=args.tmpfs))
    samples: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}  # CPU seconds of the crypto rows; openssl's throughput per CPU second
    try:
        size = args.size_mib << 20
        plain, sealed, out, key = work / "plain", work / "sealed", work / "out", work / "k.key"
        with plain.open("wb") as handle:
            for _ in range(args.size_mib):
                handle.write(os.urandom(1 << 20))
        subprocess.run([phistack, "data", "keygen", "-o", str(key.with_suffix(""))], capture_output=True, check=True)
        ids = ["--object-id", "bench", "--tenant", "bench", "--kek", f"file:{key}"]
        large = gate_plan(args.gate_workloads, work) if args.gate_workloads else None

        encrypt = [phistack, "data", "encrypt", str(plain), "-o", str(sealed), *ids]
        decrypt = [phistack, "data", "decrypt", str(sealed), "-o", str(out), *ids]
        cp_command = ["cp", str(plain), str(out)]

        def crypto(name: str, command: list[str], target: Path | None) -> Callable[[], float]:
            return lambda: timed(command, cpu.setdefault(name, []), fresh=target)

        def openssl(name: str, *, decrypt: bool) -> Callable[[], float]:
            def run() -> float:
                per_wall, per_cpu = openssl_speed(decrypt=decrypt, seconds=2)
                cpu.setdefault(name, []).append(per_cpu)
                return per_wall

            return run

        rows: dict[str, Callable[[], float]] = {
            "python -c pass": lambda: wall([sys.executable, "-c", "pass"]),
            "phistack --help": lambda: wall([phistack, "--help"]),
            "phistack-runtime --help": lambda: wall([runtime, "--help"]),
            "check --plan reference (s)": lambda: wall(
                [phistack, "check", "--plan", str(REFERENCE_PLAN), *NOW, "-o", os.devnull]
            ),
            "data encrypt (s)": crypto("data encrypt (s)", encrypt, sealed),
            "data encrypt replacing (s)": crypto("data encrypt replacing (s)", encrypt, None),
            "data decrypt (s)": crypto("data decrypt (s)", decrypt, out),
            "data decrypt replacing (s)": crypto("data decrypt replacing (s)", decrypt, None),
            "cp (s)": crypto("cp (s)", cp_command, out),
            "cp replacing (s)": crypto("cp replacing (s)", cp_command, None),
            "openssl encrypt (B/s)": openssl("openssl encrypt (B/s)", decrypt=False),
            "openssl decrypt (B/s)": openssl("openssl decrypt (B/s)", decrypt=True),
        }
        peak: dict[str, float] = {}
        if large is not None:
            check_large = [phistack, "check", "--plan", str(large), *NOW, "-o", os.devnull]
            peak["check --plan large"] = peak_rss_mib(check_large)
            peak["resources"] = plan_size(large)
            rows["check --plan large (s)"] = lambda: wall(check_large)
            rendered = work / "rendered"

            def render_large() -> float:
                shutil.rmtree(rendered, ignore_errors=True)
                return wall([phistack, "render", "--plan", str(large), "-o", str(rendered)])

            rows["render --plan large (s)"] = render_large
        for rep in range(args.reps):
            for name, run in rows.items():
                samples.setdefault(name, []).append(run())
            print(f"repetition {rep + 1}/{args.reps} done", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    median = {name: statistics.median(values) for name, values in samples.items()}
    start = median["python -c pass"]
    print(f"{cpu_model()}, {os.cpu_count()} cores; {dt.date.today().isoformat()}; medians of {args.reps}")
    print(f"{'row':<32}{'median':>12}  ratio")
    for name in ("phistack --help", "phistack-runtime --help"):
        print(f"{name:<32}{median[name]:>11.3f}s  {median[name] / start:.1f}x python -c pass ({start:.3f}s)")
    reference = median["check --plan reference (s)"]
    print(f"{'check --plan reference':<32}{reference:>11.3f}s  {reference / start:.1f}x python -c pass")
    if "check --plan large (s)" in median:
        seconds, resources = median["check --plan large (s)"], int(peak["resources"])
        print(f"{f'check --plan {args.gate_workloads} workloads':<32}{seconds:>11.3f}s  {resources:,} resources, "
              f"{1000 * seconds / resources:.2f} ms each; peak RSS {peak['check --plan large']:.0f} MiB")
        print(f"{f'render --plan {args.gate_workloads} workloads':<32}{median['render --plan large (s)']:>11.3f}s")
    cpu_median = {name: statistics.median(values) for name, values in cpu.items()}
    for kind, suffix in (("new file", ""), ("replacing", " replacing")):
        copy = median[f"cp{suffix} (s)"]
        print(f"{f'cp {args.size_mib} MiB, {kind}':<32}{copy:>11.3f}s  {size / copy / 1e9:.2f} GB/s "
              f"(CPU {cpu_median[f'cp{suffix} (s)']:.3f}s): the I/O floor")
        for op in ("encrypt", "decrypt"):
            seconds, cpu_seconds = median[f"data {op}{suffix} (s)"], cpu_median[f"data {op}{suffix} (s)"]
            ours, theirs = size / seconds, median[f"openssl {op} (B/s)"]
            ratio_cpu = size / cpu_seconds / cpu_median[f"openssl {op} (B/s)"]
            print(f"{f'data {op} {args.size_mib} MiB, {kind}':<32}{seconds:>11.3f}s  "
                  f"{ours / 1e9:.2f} GB/s = {100 * ours / theirs:.0f}% of openssl ({theirs / 1e9:.2f} GB/s), "
                  f"{seconds / copy:.2f}x cp; CPU {cpu_seconds:.3f}s, {100 * ratio_cpu:.0f}% of openssl per CPU s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
