"""A de-identified dataset directory and its manifest, written all or nothing.

The outputs are written into a temporary directory beside the target and renamed into place at the end, then
the manifest is written beside it; a failure at any point leaves the target as it was (nothing partial). The
target must not exist, be empty, or — with ``force`` — be an earlier output: a directory holding exactly the
files its manifest lists, so ``--force`` can never wipe a directory of anything else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runtime.deid.manifest import SCHEMA, listing, load_manifest, write_manifest
from runtime.errors import InputError, PhistackError


def default_manifest(target: Path) -> Path:
    """``OUT.manifest.json`` beside ``OUT``."""
    return target.parent / f"{target.name}.manifest.json"


def _earlier_output(target: Path, manifest: Path) -> bool:
    """Whether ``target`` holds exactly the outputs listed by the manifest at ``manifest``."""
    try:
        payload = load_manifest(manifest).get("payload")
    except PhistackError:
        return False
    if not isinstance(payload, dict) or payload.get("schema_version") != SCHEMA:
        return False
    outputs = payload.get("outputs")
    listed = {o.get("path") for o in outputs if isinstance(o, dict)} if isinstance(outputs, list) else set()
    return listing(target) == listed


def refuse_manifest_inside(manifest: Path, directory: Path) -> None:
    """A manifest inside the dataset it describes would list itself, or be taken for one of its files."""
    if manifest.resolve().is_relative_to(directory.resolve()):
        raise InputError(f"{manifest}: the manifest cannot be inside the dataset it describes ({directory})")


def check_target(target: Path, manifest: Path, *, force: bool) -> None:
    """Refuse an output directory or manifest path that a run must not replace."""
    why = f"{target}: cannot write the de-identified dataset"
    refuse_manifest_inside(manifest, target)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise InputError(f"{why}: it exists and is not a directory")
    if target.is_dir() and any(target.iterdir()):
        if not force:
            raise InputError(f"{why}: the directory is not empty (--force replaces an earlier output)")
        if not _earlier_output(target, manifest):
            raise InputError(f"{why}: the directory is not an earlier output listed by {manifest}; not replacing it")
    if os.path.lexists(manifest) and not force:
        raise InputError(f"{manifest}: refusing to overwrite an existing manifest without --force")
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"{why}: {ancestor} is not writable")


@contextlib.contextmanager
def staging(target: Path) -> Iterator[Path]:
    """A fresh directory beside ``target`` to write the outputs into; removed unless published."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    except OSError as err:
        raise InputError(f"{target}: cannot write the de-identified dataset: {err.strerror or err}") from err
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def publish(staged: Path, target: Path, manifest: Path, document: dict[str, Any]) -> None:
    """Move ``staged`` to ``target`` and write the manifest; on failure put back what was there."""
    try:
        _swap(staged, target, manifest, document)
    except OSError as err:
        raise InputError(f"{target}: cannot write the de-identified dataset: {err.strerror or err}") from err


def _swap(staged: Path, target: Path, manifest: Path, document: dict[str, Any]) -> None:
    staged.chmod(0o755)
    old: Path | None = None
    try:
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)) / "previous"
            os.replace(target, old)
        os.replace(staged, target)
        try:
            write_manifest(manifest, document)
        except BaseException:
            os.replace(target, staged)  # the caller's staging cleanup removes it
            raise
    except BaseException:
        if old is not None and not target.exists():
            os.replace(old, target)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old.parent, ignore_errors=True)
