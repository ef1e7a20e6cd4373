"""A de-identification run over files and directory trees: every input ends de-identified, quarantined or
rejected, the output appears complete or not at all, and a signed manifest says what happened.

Inputs are read one at a time (one file in memory), in sorted order. The output directory and its manifest
are written by :mod:`phistack.deid.outdir`: staged beside ``OUT``, renamed into place at the end, and
``--force`` replaces only an earlier output that holds exactly the files its manifest lists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from phistack import __version__
from phistack.deid import outdir
from phistack.deid.dicom import Quarantined, Rejected, deidentify
from phistack.deid.pixel_rules import PixelRules
from phistack.deid.profile import Profile
from phistack.deid.pseudonym import Pseudonymizer
from runtime.deid.manifest import build_payload, sign_manifest
from runtime.errors import InputError

METHOD_KIND = "dicom-annex-e"


@dataclass
class Settings:
    """Everything a run needs besides its inputs and output."""

    profile: Profile
    pseudonyms: Pseudonymizer
    dataset: str
    key: Ed25519PrivateKey
    pixel_rules: PixelRules | None = None
    progress_files: int = 500
    progress_seconds: float = 10.0


@dataclass
class Report:
    """What a run did; ``manifest`` is the signed document written beside the output."""

    outputs: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    manifest: dict[str, Any] = field(default_factory=dict)


def walk(inputs: list[Path]) -> Iterator[Path]:
    """The files of ``inputs`` (files as given, directories walked in sorted order); a missing one is bad input."""
    for root in inputs:
        if root.is_file():
            yield root
        elif root.is_dir():
            for directory, dirs, files in os.walk(root):
                dirs.sort()
                for name in sorted(files):
                    yield Path(directory) / name
        else:
            raise InputError(f"{root}: no such file or directory")


def _inside(path: Path, parent: Path) -> bool:
    return path.resolve() == parent.resolve() or parent.resolve() in path.resolve().parents


def _check_inputs(output: Path, inputs: list[Path]) -> None:
    """Refuse an output inside or around an input: a run must never write into, or replace, what it reads."""
    for root in inputs:
        if _inside(root, output) or _inside(output, root):
            raise InputError(f"{root}: inputs and the output directory {output} must not contain each other")


class _Progress:
    """A line on stderr every N files or S seconds, whichever comes first."""

    def __init__(self, settings: Settings, stream: TextIO) -> None:
        self._every, self._seconds, self._stream = settings.progress_files, settings.progress_seconds, stream
        self._last = time.monotonic()

    def tick(self, done: int, report: Report) -> None:
        now = time.monotonic()
        if done % self._every == 0 or now - self._last >= self._seconds:
            self._last = now
            print(
                f"phistack: deid dicom: {done} files: {len(report.outputs)} de-identified, "
                f"{len(report.quarantined)} quarantined, {len(report.rejected)} rejected",
                file=self._stream,
            )


def _one(path: Path, stage: Path, settings: Settings, report: Report, written: set[str]) -> None:
    try:
        data = path.read_bytes()
    except OSError as err:
        report.rejected.append({"input_sha256": None, "reason": f"unreadable: {err.strerror or err}"})
        return
    digest = hashlib.sha256(data).hexdigest()
    try:
        result = deidentify(data, settings.profile, settings.pseudonyms, settings.pixel_rules, written.__contains__)
    except Quarantined as why:
        report.quarantined.append({"input_sha256": digest, "reason": str(why)})
        return
    except Rejected as why:
        report.rejected.append({"input_sha256": digest, "reason": str(why)})
        return
    target = stage / result.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(result.data)
    written.add(result.path)
    report.counts.update(result.counts)
    report.outputs.append(
        {"path": result.path, "sha256": hashlib.sha256(result.data).hexdigest(), "input_sha256": digest}
    )


def run(
    inputs: list[Path],
    output: Path,
    manifest: Path,
    settings: Settings,
    *,
    force: bool = False,
    stream: TextIO | None = None,
) -> Report:
    """De-identify ``inputs`` into ``output`` and write the signed manifest at ``manifest`` (all or nothing,
    through :mod:`phistack.deid.outdir`, as ``deid table`` does)."""
    outdir.check_target(output, manifest, force=force)
    _check_inputs(output, inputs)
    files = list(walk(inputs))
    report = Report()
    written: set[str] = set()
    progress = _Progress(settings, stream or sys.stderr)
    with outdir.staging(output) as stage:
        for done, path in enumerate(files, 1):
            _one(path, stage, settings, report, written)
            progress.tick(done, report)
        _sign(report, settings, len(files))
        outdir.publish(stage, output, manifest, report.manifest)
    return report


def _sign(report: Report, settings: Settings, inputs: int) -> None:
    """Count and sign the manifest."""
    report.counts.update(
        inputs=inputs,
        deidentified=len(report.outputs),
        quarantined=len(report.quarantined),
        rejected=len(report.rejected),
    )
    payload = build_payload(
        dataset=settings.dataset,
        method={"kind": METHOD_KIND, **settings.profile.describe()},
        tool_version=__version__,
        outputs=report.outputs,
        quarantined=report.quarantined,
        rejected=report.rejected,
        counts=report.counts,
        created_at=dt.datetime.now(dt.UTC),
    )
    report.manifest = sign_manifest(payload, settings.key)
