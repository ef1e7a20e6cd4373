"""Envelope encryption throughput on 1 GiB, as a ratio of ``openssl speed -evp aes-256-gcm`` in the same run.

    .venv/bin/python bench/crypto_throughput.py [--size-mib 1024] [--reps 5] [--file-reps 2]

Rows:

* ``stream``: the streaming AEAD as the runtime uses it. Encrypt reads a 1 GiB file of random bytes on /tmp
  (page cache) through ``encrypt_stream`` into a discarding sink; decrypt reads the 1 GiB encrypted file (page
  cache) through ``decrypt_segments`` (every tag verified) into a discarding sink. The target
  (>= 85 % of openssl, both ways) applies to these rows. ``cryptography`` bundles its own OpenSSL, which
  may be newer and faster than the ``openssl`` command's (another AES-GCM code path), so a ratio can pass 100 %.
* ``file``: ``encrypt_file`` / ``decrypt_file`` end to end, output on /tmp written atomically and
  fsynced: bound by the disk, shown for context next to a raw ``write + fsync`` of the same size (random
  bytes from a page-aligned buffer). ``--dir /dev/shm`` puts every file on tmpfs instead: the disk drops
  out and what is left is the kernel's page-cache work.

The input is random, not a sparse file: on the development VM, writing pages of zeros costs several
times more than writing random bytes (the hypervisor's handling of zero pages), which made the decrypt
rows of a sparse input measure that instead.

Each operation runs in its own worker process, so its peak RSS (``ru_maxrss``) is its own; the
"RSS growth" column subtracts a worker that only imports the library. ``openssl speed`` (1 MiB
blocks, encrypt and ``-decrypt``) runs once per repetition, interleaved with ours; the table gives
medians over the repetitions because the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEGMENT = 1 << 20


def _kek() -> object:
    from runtime.crypto import UnsafeFileKek, UnsafeKekWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeKekWarning)
        return UnsafeFileKek(bytes.fromhex(os.environ["BENCH_KEK"]))


def worker(operation: str, src: str, dst: str) -> None:
    """Run one operation in this process; print its seconds and peak RSS as JSON."""
    sys.path.insert(0, str(ROOT))
    from runtime.crypto import decrypt_file, decrypt_segments, encrypt_file, encrypt_stream

    kek = _kek()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if operation == "encrypt-stream":
        with open(src, "rb", buffering=0) as reader, open(os.devnull, "wb") as sink:
            encrypt_stream(reader, sink, object_id="bench", kek=kek)  # type: ignore[arg-type]
    elif operation == "decrypt-stream":
        with open(src, "rb", buffering=0) as reader:
            for _ in decrypt_segments(reader, object_id="bench", kek=kek):  # type: ignore[arg-type]
                pass
    elif operation == "encrypt-file":
        encrypt_file(src, dst, object_id="bench", kek=kek)  # type: ignore[arg-type]
    elif operation == "decrypt-file":
        decrypt_file(src, dst, object_id="bench", kek=kek)  # type: ignore[arg-type]
    elif operation == "raw-write":
        block = mmap.mmap(-1, SEGMENT)  # page-aligned, like the file offsets it is written to
        block.write(os.urandom(SEGMENT))
        with open(dst, "wb") as out:
            for _ in range(os.stat(src).st_size // SEGMENT):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
    elif operation != "idle":
        raise SystemExit(f"unknown operation {operation}")
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "maxrss_kib": after.ru_maxrss}))


def _run_worker(operation: str, src: Path, dst: Path, env: dict[str, str]) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--worker", operation, str(src), str(dst)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"worker {operation} failed: {result.stderr.strip()}")
    values: dict[str, float] = json.loads(result.stdout)
    return values


_OPENSSL_LINE = re.compile(r"^aes-256-gcm\s+([\d.]+)k\s*$", re.IGNORECASE | re.MULTILINE)


def openssl_speed(*, decrypt: bool, seconds: int) -> tuple[float, float]:
    """``openssl speed -elapsed -evp aes-256-gcm -bytes 1048576``: (bytes per wall second, per CPU second).

    ``-elapsed`` makes openssl divide by wall-clock time like our rows; its CPU time (user + sys,
    from ``wait4``) gives the CPU-second figure. openssl prints 1000s of bytes per second.
    """
    command = ["openssl", "speed", "-elapsed", *(["-decrypt"] if decrypt else []), "-evp", "aes-256-gcm"]
    command += ["-bytes", str(SEGMENT), "-seconds", str(seconds)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    match = _OPENSSL_LINE.search(out)
    if child.returncode != 0 or not match:
        raise SystemExit(f"openssl speed failed or printed no aes-256-gcm line:\n{out}")
    per_wall = float(match.group(1)) * 1000
    return per_wall, per_wall * seconds / (usage.ru_utime + usage.ru_stime)


def _gbps(size: int, seconds: float) -> float:
    return size / seconds / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="object size (default: 1024 = 1 GiB)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions of the stream rows (default: 5)")
    parser.add_argument("--file-reps", type=int, default=2, help="repetitions of the file rows (default: 2)")
    parser.add_argument("--openssl-seconds", type=int, default=3, help="seconds per openssl speed run")
    parser.add_argument("--dir", default="/tmp", help="where the test files go (default: /tmp)")
    parser.add_argument("--worker", nargs=3, metavar=("OP", "SRC", "DST"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0

    size = args.size_mib << 20
    env = {**os.environ, "BENCH_KEK": os.urandom(32).hex(), "PYTHONPATH": str(ROOT)}
    work = Path(tempfile.mkdtemp(prefix="phistack-crypto-bench-", dir=args.dir))
    try:
        plain, sealed, out = work / "plain.bin", work / "sealed.bin", work / "out.bin"
        with plain.open("wb") as handle:
            for _ in range(args.size_mib):
                handle.write(os.urandom(1 << 20))
        baseline = _run_worker("idle", plain, out, env)["maxrss_kib"]
        _run_worker("encrypt-file", plain, sealed, env)  # the ciphertext the decrypt rows read

        # row -> samples of {ours, ours_cpu, openssl, openssl_cpu (bytes/s), rss (KiB)}
        samples: dict[str, list[dict[str, float]]] = {}

        def record(row: str, operation: str, src: Path, dst: Path, *, decrypt: bool) -> None:
            wall, cpu = openssl_speed(decrypt=decrypt, seconds=args.openssl_seconds)
            result = _run_worker(operation, src, dst, env)
            sample = {
                "ours": size / result["seconds"],
                "ours_cpu": size / max(result["cpu_seconds"], 1e-9),
                "openssl": wall,
                "openssl_cpu": cpu,
                "rss": result["maxrss_kib"],
            }
            samples.setdefault(row, []).append(sample)
            print(
                f"  {row:<15} ours {_gbps(size, result['seconds']):5.2f} GB/s "
                f"(CPU {sample['ours_cpu'] / 1e9:5.2f})  "
                f"openssl {wall / 1e9:5.2f} GB/s (CPU {cpu / 1e9:5.2f})",
                file=sys.stderr,
            )

        # Warm-up (untimed): the first read after writing may still find pages under writeback.
        _run_worker("encrypt-stream", plain, out, env)
        for rep in range(args.reps):
            print(f"repetition {rep + 1}/{args.reps}", file=sys.stderr)
            record("encrypt stream", "encrypt-stream", plain, out, decrypt=False)
            record("decrypt stream", "decrypt-stream", sealed, out, decrypt=True)
        for rep in range(args.file_reps):
            print(f"file repetition {rep + 1}/{args.file_reps}", file=sys.stderr)
            record("encrypt file", "encrypt-file", plain, out, decrypt=False)
            out.unlink(missing_ok=True)
            record("decrypt file", "decrypt-file", sealed, out, decrypt=True)
            out.unlink(missing_ok=True)
            raw = _run_worker("raw-write", plain, out, env)
            samples.setdefault("raw write+fsync", []).append(
                {"ours": size / raw["seconds"], "rss": raw["maxrss_kib"]}
            )
            out.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _table(samples, args.size_mib, baseline)
    return 0


def _table(samples: dict[str, list[dict[str, float]]], size_mib: int, baseline: float) -> None:
    def median(values: list[dict[str, float]], key: str) -> float:
        return statistics.median(v[key] for v in values)

    print(f"\nphistack envelope encryption of {size_mib} MiB, 1 MiB segments: medians over the repetitions")
    print("ratio = ours / openssl speed, both in wall-clock time; CPU ratio = both per CPU second")
    head = (
        f"{'row':<16} {'reps':>4} {'ours GB/s':>9} {'openssl GB/s':>12} {'ratio':>6} "
        f"{'CPU ratio':>9} {'RSS growth':>10}"
    )
    print(head)
    print("-" * len(head))
    for row, values in samples.items():
        rss = f"{(median(values, 'rss') - baseline) / 1024:6.1f} MiB"
        if "openssl" in values[0]:
            ratio = statistics.median(v["ours"] / v["openssl"] for v in values)
            cpu_ratio = statistics.median(v["ours_cpu"] / v["openssl_cpu"] for v in values)
            cols = f"{median(values, 'openssl') / 1e9:12.2f} {ratio:6.0%} {cpu_ratio:9.0%}"
        else:
            cols = f"{'-':>12} {'-':>6} {'-':>9}"
        print(f"{row:<16} {len(values):>4} {median(values, 'ours') / 1e9:9.2f} {cols} {rss}")
    print(f"RSS growth: peak RSS minus a worker that only imports the library ({baseline / 1024:.1f} MiB)")
    print("target: the stream rows at >= 85 % of openssl, both ways")


if __name__ == "__main__":
    sys.exit(main())
