"""Expert Determination (45 CFR 164.514(b)(1)): a qualified expert's signed record that a dataset's risk of
re-identification is very small — the only way free text, or anything else no rule can certify, leaves as
de-identified data.

phistack does not judge the data here: it binds the expert's determination (who, by what method, when, and the
report) to the exact bytes of the dataset, as a ``phistack.deid-manifest/v1`` of kind ``expert-determination``
that the gate and the runtime verify like any other manifest.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from runtime.deid.manifest import file_sha256
from runtime.errors import InputError


def dataset_files(directory: Path) -> list[dict[str, Any]]:
    """Every regular file under ``directory`` as a manifest output (path relative to it, SHA-256); links and
    anything that is not a regular file are refused, and an empty dataset is bad input."""
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory")
    outputs = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.is_symlink() or not path.is_file():
                raise InputError(f"{path}: not a regular file: an expert determination covers files only")
            digest = file_sha256(path)
            outputs.append({"path": path.relative_to(directory).as_posix(), "sha256": digest, "input_sha256": digest})
    if not outputs:
        raise InputError(f"{directory}: no files: there is nothing for the determination to cover")
    return outputs


def determination_method(expert: str, method: str, determined: str, report: Path | None) -> dict[str, Any]:
    """The manifest's ``method``: the expert, their method, the date of the determination and the report's
    digest (the report itself stays with the covered entity)."""
    if not expert.strip():
        raise InputError("--expert: name the expert who made the determination")
    if not method.strip():
        raise InputError("--method: say how the expert determined the risk is very small")
    try:
        day = dt.date.fromisoformat(determined)
    except ValueError:
        raise InputError(f"--determined: not a date (YYYY-MM-DD): {determined!r}") from None
    entry: dict[str, Any] = {
        "kind": "expert-determination",
        "profile": "hipaa-164.514(b)(1)",
        "expert": expert.strip(),
        "method": method.strip(),
        "determined": day.isoformat(),
    }
    if report is not None:
        try:
            entry["report_sha256"] = file_sha256(report)
        except OSError as err:
            raise InputError(f"{report}: cannot read the determination report: {err.strerror or err}") from err
    return entry
