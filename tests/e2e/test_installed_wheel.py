"""An installed wheel works from any directory: built from this checkout, installed apart from it, and run by a
Python that sees the installed copy and the third-party packages of this virtual environment, never the
checkout. The policy library, the policy control matrix, the price catalogue and the reference project come
from the wheel (phistack/shipped.py)."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.paths import REPO

pytestmark = pytest.mark.slow

# Top-level entries of the checkout a wheel is never built from (caches, state, local builds).
_NOT_SOURCE = {".git", ".venv", ".state", "build", "dist", "out", "test-artifacts", "tests", "bench"}
_CACHES = shutil.ignore_patterns("__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.egg-info")


@dataclass(frozen=True)
class Installed:
    """The wheel installed under ``site`` and a Python that imports it from there."""

    python: Path
    site: Path
    scripts: dict[str, str]
    """Console script → ``module:function``, as the wheel declares them."""

    def run(self, script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        """Run one of the wheel's console scripts the way its launcher would."""
        module, function = self.scripts[script].split(":")
        code = f"import sys; from {module} import {function}; sys.argv[0] = {script!r}; sys.exit({function}())"
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PHISTACK_PROJECT")}
        return subprocess.run(
            [str(self.python), "-c", code, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )


def _source_copy(target: Path) -> Path:
    """The checkout's sources, where building them leaves nothing behind in the checkout."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        top = {name for name in names if name in _NOT_SOURCE} if Path(directory) == REPO else set()
        return top | set(_CACHES(directory, names))

    shutil.copytree(REPO, target, ignore=ignore)
    return target


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args, "--quiet"], check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(_source_copy(root / "src")))
    (wheel,) = dist.glob("phistack-*.whl")
    site = root / "site"
    _pip("install", "--no-deps", "--target", str(site), str(wheel))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True, timeout=120)
    python = root / "venv" / "bin" / "python"
    venv_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Path lines of a .pth file are added as they are: the .pth files in them (this checkout's editable
    # install among them) are not run, so the checkout stays out of sight.
    (Path(venv_site) / "phistack-wheel-test.pth").write_text(f"{site}\n{sysconfig.get_paths()['purelib']}\n")
    (dist_info,) = site.glob("phistack-*.dist-info")
    entry_points = configparser.ConfigParser()
    entry_points.read(dist_info / "entry_points.txt")
    return Installed(python, site, dict(entry_points["console_scripts"]))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the reference Pulumi project, elsewhere: its program, stack configs and the signed manifest of
    the de-identified dataset a stack names; no policies, no prices."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy2(REPO / "Pulumi.yaml", root)
    (root / "stacks").mkdir()
    for path in [REPO / "stacks" / "__main__.py", *(REPO / "stacks").glob("Pulumi.*.yaml")]:
        shutil.copy2(path, root / "stacks")
    (root / "examples" / "deid").mkdir(parents=True)
    for path in (REPO / "examples" / "deid").glob("*.manifest.json"):
        shutil.copy2(path, root / "examples" / "deid")
    return root


def test_the_installed_copy_is_imported_not_the_checkout(installed: Installed, tmp_path: Path) -> None:
    code = "import phistack, runtime, modules, stacks, phistack.shipped as s; print(phistack.__file__, s.ROOT)"
    proc = subprocess.run([str(installed.python), "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    package, shipped_root = proc.stdout.split()
    assert Path(package).is_relative_to(installed.site), package
    assert Path(shipped_root) == installed.site / "phistack" / "_shipped"
    for data in ("policies/data/gpu_profiles.json", "docs/POLICIES.md", "Pulumi.yaml", "stacks/prices.yaml"):
        assert (Path(shipped_root) / data).is_file(), data


def test_help_of_both_commands(installed: Installed, tmp_path: Path) -> None:
    assert set(installed.scripts) == {"phistack", "phistack-runtime"}
    for script in installed.scripts:
        proc = installed.run(script, "--help", cwd=tmp_path)
        assert proc.returncode == 0 and proc.stdout.startswith(f"usage: {script} "), proc.stderr


def test_the_shipped_policy_library(installed: Installed, project: Path) -> None:
    tested = installed.run("phistack", "policy", "test", cwd=project)
    assert tested.returncode == 0 and "PASS" in tested.stdout, tested.stdout + tested.stderr
    docs = installed.run("phistack", "policy", "docs", "--check", cwd=project)
    assert docs.returncode == 0 and "is up to date" in docs.stderr, docs.stderr


def test_plan_check_and_cost_of_a_plan_file(installed: Installed, project: Path, tmp_path: Path) -> None:
    plan = tmp_path / "genomics.json"
    planned = installed.run("phistack", "plan", "genomics", "-o", str(plan), cwd=project)
    assert planned.returncode == 0, planned.stderr
    checked = installed.run("phistack", "check", "--plan", str(plan), cwd=project)
    assert checked.returncode == 0 and "ALLOWED" in checked.stdout, checked.stdout + checked.stderr
    # The project keeps no price catalogue: the wheel's reference prices, as the checkout's own.
    cost = installed.run("phistack", "cost", "--plan", str(plan), cwd=project)
    assert cost.returncode == 0, cost.stderr
    assert cost.stdout == run_cli("cost", "genomics").stdout


def test_demo_of_a_project_elsewhere(installed: Installed, project: Path, tmp_path: Path) -> None:
    proc = installed.run("phistack", "demo", "--project", str(project), cwd=tmp_path)
    assert proc.returncode == 0 and "every verdict as expected" in proc.stdout, proc.stdout + proc.stderr


def test_outside_any_project_the_reference_project_is_used(installed: Installed, tmp_path: Path) -> None:
    proc = installed.run("phistack", "cost", "medical-imaging", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == run_cli("cost", "medical-imaging", "--format", "json").stdout
    assert list(tmp_path.iterdir()) == []  # and nothing is written where it ran
