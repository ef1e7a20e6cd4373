"""A clone of the project is self-contained: no file reaches outside the repository.

The clone is the working tree's tracked and unignored files (what ``git clone`` of this commit gives)
copied into an arbitrary directory with no sibling ``shared/`` folder; the tests that read test
vectors and schemas then run from there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO

# A path that leaves the repository for a sibling folder, as data lookups once did.
_OUTSIDE_RE = re.compile(r"""\.\./shared\b|parents?\[\d\]\s*/\s*["']shared["']|parent\s*/\s*["']shared["']""")


def _project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


def _clone(target: Path) -> Path:
    for name in _project_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, destination)
    return target


def test_no_project_file_points_outside_the_repository() -> None:
    offenders = []
    for name in _project_files():
        if name == "tests/e2e/test_clone.py":
            continue
        try:
            text = (REPO / name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        offenders += [f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1) if _OUTSIDE_RE.search(line)]
    assert offenders == []


def test_vector_and_schema_tests_pass_in_a_clone_without_a_shared_folder(tmp_path: Path) -> None:
    clone = _clone(tmp_path / "somewhere" / "phistack")
    assert not (clone.parent / "shared").exists()
    for data in ("nvidia/LICENSE", "nvidia/README.md", "schemas/README.md"):
        assert (clone / "tests" / "fixtures" / data).is_file(), data
    env = {**os.environ, "PYTHONPATH": str(clone)}
    proc = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "tests/test_attestation_verify.py", "tests/test_reports.py", "tests/test_attestation_nras.py",
        ],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout
