"""Atomic output files: a reader sees the whole file or none of it, never a partial write."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from runtime.errors import InputError


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: int = 0o644) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only if the block completes without an exception.

    The data goes to a temporary file in the same directory, is fsynced, then renamed over
    ``path``; on any error the temporary file is removed and ``path`` is left untouched.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=directory)
    except OSError as err:
        raise InputError(f"{target}: cannot write output: {err.strerror or err}") from err
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


def write_atomic(path: str | os.PathLike[str], data: bytes | str, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically (str is encoded as UTF-8)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with atomic_writer(path, mode) as handle:
            handle.write(payload)
    except IsADirectoryError as err:
        raise InputError(f"{path}: cannot write output: is a directory") from err
    except OSError as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"{path}: cannot write output: {err.strerror or err}") from err
