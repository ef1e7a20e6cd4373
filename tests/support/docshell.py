"""A bash session for the docs' command blocks: one per Markdown file, in a fresh copy of the repository.

The commands of one file run in order in the same shell, so a doc can create a key in one block and
use it in the next, ``export`` a variable or ``cd``, and ``echo $?`` shows the exit status of the
command before it. stdout and stderr go to one pipe, unbuffered, in the order a terminal shows them.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_MARK = "\x1edoc-command-done"


def copy_repository(repo: Path, into: Path) -> None:
    """Copy the files git knows of (tracked, or new and not ignored): no venv, no caches, no state."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo,
        capture_output=True,
        check=True,
    )
    for name in listing.stdout.decode().split("\0"):
        source = repo / name
        if not name or not source.is_file():
            continue  # deleted in the working tree, or a submodule
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


class DocShell:
    """A persistent ``bash`` whose commands are fed one at a time, each with a time limit."""

    def __init__(self, repo: Path, venv_bin: Path) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="phistack-docs-"))
        self.workdir = self.root / "repo"
        copy_repository(repo, self.workdir)
        home = self.root / "home"
        home.mkdir()
        # SoftHSM2 tokens a doc creates stay in the copy, never in the system token directory
        (self.root / "softhsm-tokens").mkdir()
        softhsm_conf = self.root / "softhsm2.conf"
        softhsm_conf.write_text(f"directories.tokendir = {self.root / 'softhsm-tokens'}\nlog.level = ERROR\n")
        env = {
            "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            "TMPDIR": str(self.root),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TZ": "UTC",
            "COLUMNS": "100",
            "TERM": "dumb",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            # the copy's code, not the checkout's editable install
            "PYTHONPATH": str(self.workdir),
            "VIRTUAL_ENV": str(venv_bin.parent),
            "SOFTHSM2_CONF": str(softhsm_conf),
        }
        self._process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=self.workdir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def run(self, command: str, timeout: float) -> str:
        """Run one command line (stdin closed); return everything it printed."""
        assert self._process.stdin is not None and self._process.stdout is not None
        script = f'{{\n{command}\n}} </dev/null\n__rc=$?; printf "\\n{_MARK}\\n"; (exit $__rc)\n'
        self._process.stdin.write(script.encode())
        self._process.stdin.flush()
        output = bytearray()
        deadline = time.monotonic() + timeout
        marker = f"\n{_MARK}\n".encode()
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while marker not in output:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.close()
                    raise TimeoutError(f"no end after {timeout:.0f}s; output so far:\n{output.decode()}")
                chunk = os.read(self._process.stdout.fileno(), 65536)
                if not chunk:
                    raise RuntimeError(f"the shell ended; output so far:\n{output.decode()}")
                output += chunk
        return output[: output.index(marker)].decode(errors="replace")

    def close(self) -> None:
        """End the shell and everything it started; remove the copy."""
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()
        shutil.rmtree(self.root, ignore_errors=True)


def venv_bin() -> Path:
    """The directory holding this interpreter's console scripts (``phistack``, ``phistack-runtime``)."""
    return Path(sys.executable).parent
