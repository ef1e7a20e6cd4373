"""Waivers: data, not code edits. Each one names a rule, a stack, a resource pattern, a justification,
an approver, a compensating control and an expiry at most 90 days out.

- an active waiver marks matching findings ``waived`` (they stay visible in every report);
- an expired waiver no longer waives: its findings come back as ``waiver-expired``;
- a waiver expiring within 14 days, and one that matches nothing, are reported as notes;
- a malformed waiver file, and a waiver naming a rule the policy set does not have, are bad input (exit 2),
  never a silent pass: a typo in the rule id would otherwise waive nothing while reading as approved.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from phistack.errors import InputError
from phistack.findings import Finding, Status
from runtime.configfile import load_yaml, validate

MAX_WAIVER_DAYS = 90
EXPIRY_WARNING_DAYS = 14


class Waiver(BaseModel):
    """One waiver entry (every field required)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    rule: str = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
    stack: str = Field(min_length=1, description='a stack name or "*"')
    resource: str = Field(min_length=1, description="fnmatch pattern over the finding's urn")
    justification: str = Field(min_length=10)
    approver: str = Field(min_length=3)
    compensating_control: str = Field(min_length=10)
    expires: dt.date
    # Where the entry was read (``FILE: waivers[i]``), so an error can name it; not part of the waiver's data.
    _origin: str = PrivateAttr(default="")

    @field_validator("justification", "approver", "compensating_control")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    def matches(self, finding: Finding, stack: str) -> bool:
        return (
            finding.id == self.rule
            and (self.stack == "*" or self.stack == stack)
            and fnmatch.fnmatchcase(finding.urn, self.resource)
        )

    def to_json(self) -> dict[str, Any]:
        return {**self.model_dump(), "expires": self.expires.isoformat()}

    @property
    def origin(self) -> str:
        """``FILE: waivers[i]`` for a waiver read by :func:`load_waivers`, else ``waiver ID``."""
        return self._origin or f"waiver {self.id}"


class _WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    waivers: list[Waiver] = Field(default_factory=list)


def load_waivers(path: Path, today: dt.date) -> list[Waiver]:
    """Read a waiver file; any malformed entry is an InputError naming the file and key path."""
    raw = load_yaml(path, "waivers")
    if raw is None:
        return []
    parsed = validate(_WaiverFile, raw, path)
    seen: set[str] = set()
    for index, waiver in enumerate(parsed.waivers):
        waiver._origin = f"{path}: waivers[{index}]"
        if waiver.id in seen:
            raise InputError(f"{path}: waivers[{index}].id: duplicate waiver id {waiver.id!r}")
        seen.add(waiver.id)
        if waiver.expires > today + dt.timedelta(days=MAX_WAIVER_DAYS):
            raise InputError(
                f"{path}: waivers[{index}].expires: {waiver.expires} is more than {MAX_WAIVER_DAYS} days "
                f"after {today}; waivers must be renewed at least every {MAX_WAIVER_DAYS} days"
            )
    return parsed.waivers


def waiver_files(policy_root: Path, project_root: Path | None, stack: str) -> list[Path]:
    """The organisation-wide file and the stack's own file, where they exist."""
    candidates = [policy_root / "waivers.yaml"]
    if project_root is not None:
        candidates.append(project_root / "stacks" / "waivers" / f"{stack}.yaml")
    return [path for path in candidates if path.is_file()]


@dataclass
class WaiverOutcome:
    notes: list[str]
    applied: list[dict[str, Any]]


def check_rules_exist(waivers: list[Waiver], rules: Collection[str]) -> None:
    """Fail closed on a waiver whose rule is not in the policy set: an InputError naming its file and entry.

    Every waiver is checked, whatever its stack: the file is wrong, not just this stack's view of it."""
    for waiver in waivers:
        if waiver.rule in rules:
            continue
        close = difflib.get_close_matches(waiver.rule, sorted(rules), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise InputError(
            f"{waiver.origin}.rule: waiver {waiver.id} names rule {waiver.rule}, which does not exist in the "
            f"policy set{hint}"
        )


def apply_waivers(
    findings: list[Finding],
    waivers: list[Waiver],
    stack: str,
    today: dt.date,
    *,
    rules: Collection[str] | None = None,
) -> WaiverOutcome:
    """Mark findings waived or waiver-expired; return notes for people and the waivers applied.

    ``rules`` is every rule id of the policy set: a waiver naming any other rule is an InputError (see
    :func:`check_rules_exist`) before anything is waived."""
    if rules is not None:
        check_rules_exist(waivers, rules)
    notes: list[str] = []
    applied: list[dict[str, Any]] = []
    relevant = [w for w in waivers if w.stack in ("*", stack)]
    used: set[str] = set()
    for finding in findings:
        matching = [w for w in relevant if w.matches(finding, stack)]
        if not matching:
            continue
        active = [w for w in matching if w.expires >= today]
        chosen = max(active or matching, key=lambda w: w.expires)
        used.add(chosen.id)
        finding.waiver = chosen.to_json()
        finding.status = Status.WAIVED if active else Status.WAIVER_EXPIRED
    for waiver in relevant:
        if waiver.id not in used:
            notes.append(f"waiver {waiver.id} ({waiver.rule}) matches no finding in stack {stack!r}")
            continue
        if waiver.expires < today:
            notes.append(f"waiver {waiver.id} ({waiver.rule}) expired on {waiver.expires}: its findings count again")
        elif waiver.expires <= today + dt.timedelta(days=EXPIRY_WARNING_DAYS):
            notes.append(f"waiver {waiver.id} ({waiver.rule}) expires on {waiver.expires}: renew or remediate")
        applied.append(waiver.to_json())
    return WaiverOutcome(notes=notes, applied=applied)
