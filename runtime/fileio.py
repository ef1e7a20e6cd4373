"""Output files: a reader sees the whole file or none of it, and nothing is left behind on failure.

One writer for every command that takes ``-o``:

- a regular file (or a path that does not exist yet) is written to an unnamed file in the same
  directory (``O_TMPFILE``) that is linked into place only when the block completes. A process killed
  by any signal, SIGKILL included, leaves no partial file: the kernel frees an unlinked inode. Where
  ``O_TMPFILE`` is unsupported (not Linux, or a filesystem without it) a named ``.<name>.*.part`` file
  is used instead and removed on any exception; only SIGKILL or power loss can leave it behind.
- ``-`` is standard output; a character device (``/dev/null``) or a FIFO is opened and written in
  place, never replaced.
- an existing symbolic link, socket or block device is refused unless ``replace_link`` allows
  replacing a link: a careless ``-o`` must not swap what a link points at for a regular file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from runtime.errors import InputError

STDOUT = "-"


def _refuse(target: Path, why: str) -> InputError:
    return InputError(f"{target}: cannot write output: {why}")


def _existing_kind(target: Path) -> str | None:
    """What sits at ``target`` now: None (nothing), 'file', 'stream' (char device/FIFO), or a refusal reason."""
    try:
        info = target.lstat()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise _refuse(target, err.strerror or str(err)) from err
    if stat.S_ISREG(info.st_mode):
        return "file"
    if stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode):
        return "stream"
    if stat.S_ISLNK(info.st_mode):
        return "link"
    if stat.S_ISDIR(info.st_mode):
        return "is a directory"
    return "not a regular file, character device or FIFO"


def _points_at_stream(link: Path) -> bool:
    try:
        info = link.stat()
    except OSError:
        return False
    return stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode)


@contextlib.contextmanager
def _stream(handle: BinaryIO) -> Iterator[BinaryIO]:
    yield handle
    handle.flush()


@contextlib.contextmanager
def _unnamed(directory: Path, target: Path, mode: int) -> Iterator[BinaryIO]:
    """Write into an O_TMPFILE inode; link it at ``target`` on success."""
    fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "wb") as handle:
        yield handle
        handle.flush()
        os.fchmod(fd, mode)
        os.fsync(fd)
        _link_from_fd(fd, directory, target)


def _link_from_fd(fd: int, directory: Path, target: Path) -> None:
    """Give the unnamed file ``fd`` the name ``target`` (replacing a regular file there).

    linkat(AT_SYMLINK_FOLLOW) through /proc/self/fd is the documented way to name an O_TMPFILE
    inode without privileges; CPython uses linkat only when a directory fd is passed, hence proc_fd.
    """
    proc_fd = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            os.link(str(fd), target, src_dir_fd=proc_fd, follow_symlinks=True)
            return  # nothing was there: the file appears complete, in one step
        except FileExistsError:
            pass
        # Replacing a file: link under a temporary name, then rename over the target.
        tmp_name = directory / f".{target.name}.{os.urandom(6).hex()}.part"
        os.link(str(fd), tmp_name, src_dir_fd=proc_fd, follow_symlinks=True)
        try:
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
    finally:
        os.close(proc_fd)


@contextlib.contextmanager
def _named(directory: Path, target: Path, mode: int) -> Iterator[BinaryIO]:
    """The fallback: a named temporary file renamed over ``target`` on success."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def _supports_unnamed(directory: Path) -> bool:
    if not hasattr(os, "O_TMPFILE") or not Path("/proc/self/fd").is_dir():
        return False
    try:
        fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError as err:
        if err.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return False
        raise
    os.close(fd)
    return True


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: int = 0o644, *, replace_link: bool = False) -> Iterator[BinaryIO]:
    """Yield a binary file for ``path``; a regular file appears only if the block completes.

    On an exception inside the block nothing is created and an existing ``path`` is left untouched.
    Streams (``-``, character devices, FIFOs) receive the bytes as they are written.
    """
    if os.fspath(path) == STDOUT:
        sys.stdout.flush()  # text already printed must come first
        with _stream(sys.stdout.buffer) as handle:
            yield handle
        return
    target = Path(path)
    kind = _existing_kind(target)
    if kind == "link":
        if replace_link:
            pass  # the link itself is replaced, whatever it points at: a key must not go out through /dev/stdout
        elif _points_at_stream(target):
            kind = "stream"  # /dev/stdout, /dev/fd/N and the like: write through the link
        else:
            raise _refuse(target, "it is a symbolic link; remove it or choose another path")
    if kind not in (None, "file", "stream", "link"):
        raise _refuse(target, str(kind))
    if kind == "stream":
        try:
            device = open(target, "wb")  # noqa: SIM115 - closed by the with below
        except OSError as err:
            raise _refuse(target, err.strerror or str(err)) from err
        with device, _stream(device) as handle:
            yield handle
        return
    directory = target.parent if str(target.parent) else Path(".")
    stack = contextlib.ExitStack()
    try:
        writer = _unnamed(directory, target, mode) if _supports_unnamed(directory) else _named(directory, target, mode)
        handle = stack.enter_context(writer)
    except OSError as err:
        raise _refuse(target, err.strerror or str(err)) from err
    with stack:
        yield handle


def refuse_existing(*paths: str | os.PathLike[str], replace: bool, what: str = "key file") -> None:
    """Raise InputError when anything is at one of ``paths`` (a file, a directory, a link, dangling or not) and
    ``replace`` (the command's ``--force``) is not given: generating a key must never destroy one by accident,
    nor swap the target of a link for a new file."""
    if replace:
        return
    for path in paths:
        if os.path.lexists(path):
            raise InputError(f"refusing to overwrite an existing {what} without --force ({os.fspath(path)})")


def write_atomic(
    path: str | os.PathLike[str], data: bytes | str, mode: int = 0o644, *, replace_link: bool = False
) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_writer` (str is encoded as UTF-8)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with atomic_writer(path, mode, replace_link=replace_link) as handle:
            handle.write(payload)
    except IsADirectoryError as err:
        raise InputError(f"{path}: cannot write output: is a directory") from err
    except OSError as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"{path}: cannot write output: {err.strerror or err}") from err
