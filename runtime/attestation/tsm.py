"""CPU TEE reports through the Linux configfs-tsm interface (``/sys/kernel/config/tsm/report``).

Protocol (Documentation/ABI/testing/configfs-tsm): create a directory under the report root, write
up to 64 bytes of report data to ``inblob``, read the signed report from ``outblob`` and the TEE
type from ``provider``, then remove the directory. The 32-byte nonce goes into the first half of
the 64-byte report data, zero padded.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from runtime.attestation.evidence import CpuTeeEvidence

DEFAULT_TSM_ROOT = Path("/sys/kernel/config/tsm/report")
INBLOB_SIZE = 64


def _write_attribute(path: Path, data: bytes) -> None:
    """Write an attribute the kernel created; never create the file (a plain directory is not configfs-tsm)."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def collect_cpu_report(
    nonce: bytes,
    *,
    root: Path = DEFAULT_TSM_ROOT,
    mkdir: Callable[[Path], None] = Path.mkdir,
    rmdir: Callable[[Path], None] = Path.rmdir,
) -> tuple[CpuTeeEvidence | None, str]:
    """Return ``(evidence, note)``; evidence is None when no CPU TEE report is available, with why.

    ``mkdir`` and ``rmdir`` are injectable because on configfs creating the directory makes the
    kernel populate its attribute files, and removing it removes them; tests simulate that. The
    entry is removed on every path, failures included.
    """
    if len(nonce) > INBLOB_SIZE:
        raise ValueError(f"report data is at most {INBLOB_SIZE} bytes")
    if not root.is_dir():
        return None, f"configfs-tsm not present ({root} does not exist): no CPU TEE report"
    entry = root / f"phistack-{secrets.token_hex(8)}"
    try:
        mkdir(entry)
    except OSError as err:
        return None, f"configfs-tsm: cannot create {entry}: {err.strerror or err}"
    try:
        if not (entry / "inblob").exists():
            return None, f"configfs-tsm: {root} is not a configfs-tsm report directory (a new entry has no inblob)"
        _write_attribute(entry / "inblob", nonce.ljust(INBLOB_SIZE, b"\0"))
        report = (entry / "outblob").read_bytes()
        provider = (entry / "provider").read_text(encoding="ascii").strip()
        generation_path = entry / "generation"
        generation = int(generation_path.read_text().strip()) if generation_path.exists() else None
    except (OSError, ValueError) as err:
        return None, f"configfs-tsm: report failed: {getattr(err, 'strerror', None) or err}"
    finally:
        # Nothing here created a file in the entry, so rmdir empties it on configfs and elsewhere alike.
        with contextlib.suppress(OSError):
            rmdir(entry)
    if not report:
        return None, f"configfs-tsm: provider {provider or '?'} returned an empty report"
    return CpuTeeEvidence(provider or "unknown", report, generation), f"CPU TEE report from {provider}"
