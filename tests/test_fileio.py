"""The one output writer: whole files or nothing, special files written in place, links never replaced."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from runtime import fileio
from runtime.errors import InputError
from runtime.fileio import atomic_writer, write_atomic
from tests.support.paths import REPO


def _char_device_or_fifo(path: Path) -> str:
    """A private /dev/null (as root, as in CI) or else a FIFO: both must be written in place."""
    if os.geteuid() == 0:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        return "char"
    os.mkfifo(path)
    return "fifo"


@pytest.fixture(params=["unnamed", "named"])
def writer_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "named":
        monkeypatch.setattr(fileio, "_supports_unnamed", lambda directory: False)
    else:
        assert fileio._supports_unnamed(Path("/tmp")), "this Linux /tmp should support O_TMPFILE"
    return str(request.param)


def test_new_and_replaced_files_get_the_whole_content_and_mode(tmp_path: Path, writer_kind: str) -> None:
    target = tmp_path / "out.json"
    write_atomic(target, "one\n", mode=0o600)
    assert target.read_text() == "one\n" and stat.S_IMODE(target.stat().st_mode) == 0o600
    write_atomic(target, b"two\n")
    assert target.read_bytes() == b"two\n" and stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_a_failed_block_leaves_the_old_file_and_no_stray_file(tmp_path: Path, writer_kind: str) -> None:
    target = tmp_path / "plain.out"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write(b"half of the new content")
        raise RuntimeError("segment 3 did not verify")
    assert target.read_text() == "old"
    with pytest.raises(RuntimeError), atomic_writer(tmp_path / "never.out") as handle:
        handle.write(b"x")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.out"]


def test_a_device_node_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    node = tmp_path / "null"
    kind = _char_device_or_fifo(node)
    received: list[bytes] = []
    reader = None
    if kind == "fifo":
        reader = threading.Thread(target=lambda: received.append(node.read_bytes()))
        reader.start()
    write_atomic(node, "report\n")
    if reader is not None:
        reader.join(5)
        assert received == [b"report\n"]
    mode = node.lstat().st_mode
    assert stat.S_ISCHR(mode) if kind == "char" else stat.S_ISFIFO(mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_a_fifo_receives_the_bytes(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_atomic(fifo, b"through the pipe")
    reader.join(5)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_symlink_is_refused_unless_replacing_it_is_asked_for(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("keep")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with pytest.raises(InputError, match=r"link\.txt: cannot write output: it is a symbolic link"):
        write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "keep"
    write_atomic(link, "new", replace_link=True)
    assert not link.is_symlink() and link.read_text() == "new" and real.read_text() == "keep"


def test_a_symlink_to_a_stream_is_written_through(tmp_path: Path) -> None:
    link = tmp_path / "to-null"
    link.symlink_to("/dev/null")
    write_atomic(link, "discarded")
    assert link.is_symlink() and os.readlink(link) == "/dev/null"


def test_a_directory_or_a_socket_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        write_atomic(tmp_path, "x")
    import socket

    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(sock_path))
        with pytest.raises(InputError, match="not a regular file, character device or FIFO"):
            write_atomic(sock_path, "x")


def test_dash_is_standard_output() -> None:
    code = "from runtime.fileio import write_atomic; print('first'); write_atomic('-', b'second\\n')"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    assert proc.stdout == "first\nsecond\n"


_HOLD_OPEN = """
import sys, time
from runtime.fileio import atomic_writer
with atomic_writer(sys.argv[1], mode=0o600) as handle:
    handle.write(b"decrypted PHI " * 100_000)
    handle.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_writer_leaves_nothing_on_disk(tmp_path: Path, sig: signal.Signals) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_OPEN, str(out_dir / "study.dcm")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    proc.send_signal(sig)
    proc.wait(30)
    assert list(out_dir.iterdir()) == []
