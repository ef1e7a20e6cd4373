"""Where things are: the Pulumi project, its policies, and the plan of a stack from any source."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from phistack import shipped
from phistack.engine import PolicySet, load_policy_set
from phistack.errors import InputError
from phistack.plan.document import load_plan
from phistack.plan.view import Plan

_PACKAGE_ROOT = shipped.ROOT  # the checkout, or the copy of its data an installed wheel carries


def project_root(explicit: str | None = None) -> Path:
    """--project, else $PHISTACK_PROJECT, else the nearest directory from the current one up that holds
    Pulumi.yaml (as git finds its repository), else the checkout phistack runs from."""
    for candidate in (explicit, os.environ.get("PHISTACK_PROJECT")):
        if candidate:
            path = Path(candidate)
            if not (path / "Pulumi.yaml").is_file():
                raise InputError(f"{path}: no Pulumi project here (Pulumi.yaml not found)")
            return path
    cwd = Path.cwd()
    for directory in (cwd, *cwd.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    return _PACKAGE_ROOT


def policy_root(explicit: str | os.PathLike[str] | None, project: Path) -> Path:
    """--policies, else the project's ``policies/``, else the policy library phistack ships with: never a
    ``policies/`` that merely happens to be in the current directory."""
    if explicit:
        return Path(explicit)
    own = project / "policies"
    return own if own.is_dir() else shipped.POLICIES


def policy_docs(policies: Path) -> Path:
    """The control matrix of a policy library: ``docs/POLICIES.md`` beside its ``policies/``."""
    return policies.resolve().parent / "docs" / "POLICIES.md"


def relative(path: Path) -> str:
    """A path relative to the current directory where possible (for locations in reports)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


@dataclass(frozen=True)
class PlanSource:
    plan: Plan
    artifact: str  # the file a reviewer would open to fix a finding


def plan_for(stack: str | None, plan_file: str | None, project: Path) -> PlanSource:
    """The plan of ``stack`` (offline) or the one in ``plan_file``."""
    if plan_file:
        path = Path(plan_file)
        return PlanSource(load_plan(path), relative(path))
    if not stack:
        raise InputError("name a STACK or pass --plan FILE")
    # Here, not at the top: the offline planner loads the Pulumi SDK, which a check of a plan file never needs.
    from phistack.plan.offline import load_project, plan_stack

    proj = load_project(project)
    return PlanSource(plan_stack(proj, stack), relative(proj.stack_file(stack)))


def policies_for(explicit: str | None, project: Path) -> PolicySet:
    return load_policy_set(policy_root(explicit, project))


def waiver_files(policy_root: Path, project_root: Path | None, stack: str) -> list[Path]:
    """The organisation-wide waiver file and the stack's own, where they exist."""
    candidates = [policy_root / "waivers.yaml"]
    if project_root is not None:
        candidates.append(project_root / "stacks" / "waivers" / f"{stack}.yaml")
    return [path for path in candidates if path.is_file()]


NO_WAIVERS: dict[str, list[object]] = {"waivers": []}
"""The one waiver file document that declares no waivers (``waivers: []``); any other goes through
:func:`phistack.waivers.parse_waivers`, which validates it."""


def parse_now(text: str | None) -> dt.datetime:
    """--now in RFC 3339 (or a date); defaults to the current time."""
    if not text:
        return dt.datetime.now(dt.UTC)
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--now: not an RFC 3339 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
