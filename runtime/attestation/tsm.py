"""CPU TEE reports through the Linux configfs-tsm interface (``/sys/kernel/config/tsm/report``).

Protocol (Documentation/ABI/testing/configfs-tsm): create a directory under the report root, write
up to 64 bytes of report data to ``inblob``, read the signed report from ``outblob`` and the TEE
type from ``provider``, then remove the directory. The 32-byte nonce goes into the first half of
the 64-byte report data, zero padded.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from pathlib import Path

from runtime.attestation.evidence import CpuTeeEvidence

DEFAULT_TSM_ROOT = Path("/sys/kernel/config/tsm/report")
INBLOB_SIZE = 64


def collect_cpu_report(
    nonce: bytes,
    *,
    root: Path = DEFAULT_TSM_ROOT,
    mkdir: Callable[[Path], None] = Path.mkdir,
) -> tuple[CpuTeeEvidence | None, str]:
    """Return ``(evidence, note)``; evidence is None when no CPU TEE report is available, with why.

    ``mkdir`` is injectable because on configfs creating the directory makes the kernel populate its
    attribute files; tests simulate that.
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
        (entry / "inblob").write_bytes(nonce.ljust(INBLOB_SIZE, b"\0"))
        report = (entry / "outblob").read_bytes()
        provider = (entry / "provider").read_text(encoding="ascii").strip()
        generation_path = entry / "generation"
        generation = int(generation_path.read_text().strip()) if generation_path.exists() else None
    except (OSError, ValueError) as err:
        return None, f"configfs-tsm: report failed: {getattr(err, 'strerror', None) or err}"
    finally:
        with contextlib.suppress(OSError):
            entry.rmdir()
    if not report:
        return None, f"configfs-tsm: provider {provider or '?'} returned an empty report"
    return CpuTeeEvidence(provider or "unknown", report, generation), f"CPU TEE report from {provider}"
