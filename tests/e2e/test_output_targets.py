"""Where a command's output goes, as a user would point it: a device node or a FIFO is written in place (never
replaced by a regular file), and a command stopped by SIGTERM leaves no half-written output behind — for
``data decrypt`` that output is plaintext PHI."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.paths import FIXTURES, REPO

PLAN = FIXTURES / "plans" / "phi-compliant.json"
NOW = ["--now", "2026-11-27T12:00:00Z"]


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a character device needs root (CI runs as root)")
def test_check_to_a_character_device_keeps_the_device(tmp_path: Path) -> None:
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private /dev/null
    proc = run_cli("check", "--plan", str(PLAN), *NOW, "--format", "json", "-o", str(null))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(null.stat().st_mode), "the device node was replaced by a regular file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_check_to_a_fifo_streams_the_report(tmp_path: Path) -> None:
    fifo = tmp_path / "report.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    proc = run_cli("check", "--plan", str(PLAN), *NOW, "--format", "json", "-o", str(fifo))
    reader.join(30)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received and received[0].startswith(b"{") and b'"decision": "allowed"' in received[0]


def _open_output(pid: int, directory: Path) -> bool:
    """Whether the process holds a file of ``directory`` open (the writer's unnamed or ``.part`` file)."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith(f"{directory}/"):
                return True
        except OSError:
            continue
    return False


def test_decrypt_stopped_by_sigterm_leaves_no_plaintext(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    (src / "scan").write_bytes(os.urandom(1024 * 1024) * 96)  # 96 MiB: decrypting takes a while
    assert run_cli("data", "keygen", "-o", str(src / "k")).returncode == 0
    ids = ["--object-id", "scan-1", "--tenant", "st-mary", "--kek", f"file:{src / 'k.key'}"]
    sealed = run_cli("data", "encrypt", str(src / "scan"), "-o", str(src / "scan.enc"), *ids)
    assert sealed.returncode == 0, sealed.stderr
    proc = subprocess.Popen(
        [sys.executable, "-m", "phistack", "data", "decrypt", str(src / "scan.enc"), "-o", str(out / "scan"), *ids],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _open_output(proc.pid, out):
        assert proc.poll() is None and time.monotonic() < deadline, "decrypt never opened its output"
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert [line for line in stderr.splitlines() if not line.startswith("phistack: warning:")] == [
        "phistack: terminated"
    ]
    assert list(out.iterdir()) == [], "plaintext left on disk"


_NAMED_WRITER_COMMAND = """
import sys, time
from runtime import clikit, fileio
from runtime.clikit import Parser

fileio._supports_unnamed = lambda directory: False  # a filesystem without O_TMPFILE: a named .part file

def write(args):
    with fileio.atomic_writer(args.target, mode=0o600) as handle:
        handle.write(b"decrypted PHI " * 100_000)
        handle.flush()
        print("writing", flush=True)
        time.sleep(60)
    return 0

parser = Parser(prog="tool")
parser.add_argument("-v", "--verbose", action="store_true")
parser.add_argument("target")
parser.set_defaults(handler=write)
sys.exit(clikit.run(parser, sys.argv[1:]))
"""


def test_sigterm_removes_a_named_partial_file(tmp_path: Path) -> None:
    """Where the filesystem has no unnamed temporary files, the writer's ``.part`` file is visible: SIGTERM must
    unwind like SIGINT so the writer removes it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _NAMED_WRITER_COMMAND, str(tmp_path / "study.dcm")],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    assert [p.name for p in tmp_path.iterdir()] != []  # the .part file exists while writing
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143 and stderr == "tool: terminated\n", (proc.returncode, stderr)
    assert list(tmp_path.iterdir()) == []
