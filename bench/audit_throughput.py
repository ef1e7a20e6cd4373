"""Audit log throughput: append, verify, and shipping to a real rsyslog over TLS 1.3 on loopback.

    .venv/bin/python bench/audit_throughput.py [--records 200000] [--ship-records 100000] [--repeat 5]

Rows (each repetition measures all of them, in one run, on a fresh log in a temporary directory):

* ``append``: ``AuditLog.append`` with hash chaining, the Merkle frontier, batched fsync (every 1000
  records or 50 ms) and a signing key (the checkpoint at close included). Target >= 50,000 records/s.
* ``verify``: ``verify_log`` over that log and its checkpoints (every hash, link and sequence number,
  Merkle roots at each checkpoint, signatures). Target >= 200,000 records/s.
* ``ship``: a log of ``--ship-records`` records forwarded by ``Shipper.ship_pending`` to rsyslog
  (``rsyslogd`` started here, TLS 1.3 only, omfile writing each message), timed until the receiver's
  output file holds every record; then rsyslog is stopped and the records are counted there, by seq.
  "lost" must be 0. Target >= 20,000 records/s.
* ``append+ship`` (context, no target): records appended while the in-process shipper forwards them,
  timed until the receiver holds all of them.

The machine is shared with other jobs: the table gives the median of ``--repeat`` repetitions and
each ratio is that median over its target. For append and verify it also gives records per CPU
second of this process (all its threads), which other jobs' load does not distort.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from runtime.audit import AuditLog  # noqa: E402
from runtime.audit.shipper import Shipper, SyslogTarget  # noqa: E402
from runtime.audit.verify import verify_log  # noqa: E402
from tests.support.rsyslog import Rsyslog, make_pki  # noqa: E402

TARGETS = {"append": 50_000.0, "verify": 200_000.0, "ship": 20_000.0}
SEQ_RE = re.compile(rb' seq="(\d+)" ')
ACTIONS = ("data.access", "key.release", "inference.request", "attestation.result", "training.run")


def write_records(log: AuditLog, count: int) -> None:
    """Typical events: a service actor, a dataset object, a few details."""
    append = log.append
    for i in range(count):
        append(
            "svc:runtime@node-7",
            ACTIONS[i % len(ACTIONS)],
            f"s3://phi-bucket/studies/1.2.840.113619.2.55.{i}",
            "success",
            {"bytes": 1048576 + i, "dataset": "ct-chest-2026"},
        )


def count_received(server: Rsyslog) -> tuple[int, int]:
    """(messages, distinct seqs) in the receiver's output file."""
    messages = server.received()
    seqs = {int(m.group(1)) for m in (SEQ_RE.search(line) for line in messages) if m}
    return len(messages), len(seqs)


def wait_received(server: Rsyslog, count: int, timeout_s: float) -> bool:
    """Poll the receiver's output (line count) until it holds ``count`` messages."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.output.exists() and server.output.read_bytes().count(b"\n") >= count:
            return True
        time.sleep(0.005)
    return False


def _lines(path: Path) -> int:
    """Records in an audit log file: one JSON record per line."""
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def bench_append_verify(root: Path, records: int, key: Ed25519PrivateKey) -> tuple[float, float, float, float]:
    """(append/s wall, verify/s wall, append/s per CPU second, verify/s per CPU second)."""
    path = root / "append.log"
    started, cpu = time.perf_counter(), time.process_time()
    with AuditLog.open(path, signing_key=key) as log:
        write_records(log, records)
    append_s, append_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    result = verify_log(path, public_key=key.public_key())
    verify_s, verify_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert result.records == records + 1 + result.checkpoints  # the genesis record and each checkpoint's record
    return records / append_s, result.records / verify_s, records / append_cpu, result.records / verify_cpu


def bench_ship(root: Path, records: int, key: Ed25519PrivateKey) -> tuple[float, int]:
    server = Rsyslog(root / "siem", make_pki(root / "siem" / "pki", "siem"), make_pki(root / "siem" / "rogue", "rogue"))
    path = root / "ship.log"
    with AuditLog.open(path, signing_key=key) as log:
        write_records(log, records - 1)  # plus the genesis record
        log_id = log.log_id
    records = _lines(path)  # closing appends a checkpoint record too
    server.start()
    try:
        target = SyslogTarget(server.host, server.ports["tls13"], server.pki.ca, server_name="localhost")
        started = time.perf_counter()
        Shipper(target, path, log_id).ship_pending(timeout_s=300)
        complete = wait_received(server, records, 120)
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    _messages, distinct = count_received(server)
    if not complete:
        print(f"  ship: receiver holds {distinct} of {records} records", file=sys.stderr)
    return records / elapsed, records - distinct


def bench_live(root: Path, records: int, key: Ed25519PrivateKey) -> tuple[float, int]:
    server = Rsyslog(root / "live", make_pki(root / "live" / "pki", "siem"), make_pki(root / "live" / "rogue", "rogue"))
    server.start()
    try:
        target = SyslogTarget(server.host, server.ports["tls13"], server.pki.ca, server_name="localhost")
        started = time.perf_counter()
        with AuditLog.open(root / "live.log", signing_key=key, shipper=target) as log:
            write_records(log, records - 1)
            assert log.shipper is not None
            log.shipper.wait_idle(300)
        records = _lines(root / "live.log")  # one record per line, the checkpoint records included
        wait_received(server, records, 120)
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    return records / elapsed, records - count_received(server)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000, help="records appended and verified per repetition")
    parser.add_argument("--ship-records", type=int, default=100_000, help="records shipped per repetition")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (medians are reported)")
    parser.add_argument("--no-live", action="store_true", help="skip the append+ship context row")
    args = parser.parse_args(argv)

    key = Ed25519PrivateKey.generate()
    runs: dict[str, list[float]] = {"append": [], "verify": [], "ship": [], "append+ship": []}
    per_cpu: dict[str, list[float]] = {"append": [], "verify": []}
    lost: dict[str, list[int]] = {"ship": [], "append+ship": []}

    def append_verify(root: Path) -> None:
        append_rate, verify_rate, append_cpu, verify_cpu = bench_append_verify(root, args.records, key)
        runs["append"].append(append_rate)
        runs["verify"].append(verify_rate)
        per_cpu["append"].append(append_cpu)
        per_cpu["verify"].append(verify_cpu)

    def ship(root: Path) -> None:
        rate, missing = bench_ship(root, args.ship_records, key)
        runs["ship"].append(rate)
        lost["ship"].append(missing)

    def live(root: Path) -> None:
        rate, missing = bench_live(root, args.ship_records, key)
        runs["append+ship"].append(rate)
        lost["append+ship"].append(missing)

    steps: list[Callable[[Path], None]] = [append_verify, ship]
    if not args.no_live:
        steps.append(live)
    for rep in range(1, args.repeat + 1):
        for step in steps:
            with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
                step(Path(tmp))
        print(
            f"rep {rep}: append {runs['append'][-1]:,.0f}/s  verify {runs['verify'][-1]:,.0f}/s  "
            f"ship {runs['ship'][-1]:,.0f}/s (lost {lost['ship'][-1]})"
            + (
                ""
                if args.no_live
                else f"  append+ship {runs['append+ship'][-1]:,.0f}/s (lost {lost['append+ship'][-1]})"
            ),
            file=sys.stderr,
        )

    print(
        f"\naudit throughput: median of {args.repeat} repetitions ({args.records:,} records appended/verified, "
        f"{args.ship_records:,} shipped)"
    )
    print(
        f"{'row':<12} {'median rec/s':>14} {'min':>10} {'max':>10} {'target':>10} {'ratio':>7}"
        f" {'per CPU-s':>10} {'ratio':>7}  lost"
    )
    ok = True
    for row, values in runs.items():
        if not values:
            continue
        median = statistics.median(values)
        target = TARGETS.get(row)
        ratio = f"{median / target:.2f}x" if target else "-"
        lost_total: int = sum(lost.get(row, []))
        missing = str(lost_total) if row in lost else ""
        cpu_rate = statistics.median(per_cpu[row]) if per_cpu.get(row) else None
        cpu_cols = f"{cpu_rate:>10,.0f} {cpu_rate / target:>6.2f}x" if cpu_rate and target else f"{'-':>10} {'-':>7}"
        print(
            f"{row:<12} {median:>14,.0f} {min(values):>10,.0f} {max(values):>10,.0f} "
            f"{(f'{target:,.0f}' if target else '-'):>10} {ratio:>7} {cpu_cols}  {missing}"
        )
        if target and median < target:
            ok = False
        if lost_total:
            ok = False
    print("all targets met, nothing lost" if ok else "TARGET MISSED or records lost")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
