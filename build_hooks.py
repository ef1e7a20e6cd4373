"""The wheel's build step (pyproject.toml, ``[tool.setuptools.cmdclass]``): copy the files phistack reads from a
checkout into the package, under ``phistack/_shipped/`` in the checkout's layout, so that an installed phistack
finds its policy library, the policy control matrix and the reference project wherever it runs
(phistack/shipped.py looks there first).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = (
    "policies",
    "docs/POLICIES.md",
    "Pulumi.yaml",
    "stacks/__main__.py",
    "stacks/*.yaml",
    "examples/deid/*.manifest.json",  # the reference medical-imaging stack names its signed manifest
)
"""What the wheel carries, relative to the checkout (globs allowed); source and sdist keep the same list
(MANIFEST.in)."""


def copy_shipped(source: Path, target: Path) -> list[Path]:
    """Copy every :data:`SHIPPED` path from ``source`` to ``target``; a missing one fails the build."""
    copied: list[Path] = []
    for pattern in SHIPPED:
        matches = sorted(source.glob(pattern))
        if not matches:
            raise FileNotFoundError(f"{source / pattern}: missing, and the wheel must carry it")
        for path in matches:
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                shutil.copytree(path, destination, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(path, destination)
            copied.append(destination)
    return copied


class BuildPy(build_py):
    """``build_py``, plus the shipped files; an editable install reads the checkout itself and gets none."""

    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):
            target = Path(self.build_lib) / "phistack" / "_shipped"
            shutil.rmtree(target, ignore_errors=True)  # a rebuild must not keep files the checkout dropped
            copy_shipped(ROOT, target)
