"""Waivers: data, not code edits. Each one names a rule, a stack, a resource pattern, a justification,
an approver, a compensating control, an expiry at most 90 days out, how many resources it may cover
(``max_resources``, default 1) and the approver's signature over all of that (:mod:`phistack.approval`).

- a waiver applies only when its approver is listed in the policy set's approver data for that rule and
  signed exactly this content with a key valid on the evaluation date; the rule is not unwaivable; and it
  matches no more resources than ``max_resources``. Otherwise it is refused: its findings stay blocking as
  ``waiver-refused``, with the reason;
- an active waiver marks matching findings ``waived`` (they stay visible in every report);
- an expired waiver no longer waives: its findings come back as ``waiver-expired``;
- a waiver expiring within 14 days, one that matches nothing and one that is refused are reported as notes;
- a malformed waiver file, and a waiver naming a rule the policy set does not have, are bad input (exit 2),
  never a silent pass: a typo in the rule id would otherwise waive nothing while reading as approved.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from phistack.approval import Approval, WaiverRefused, verify_approval
from phistack.approvers import Approvers, unwaivable_rules
from phistack.errors import InputError
from phistack.findings import Finding, Status
from runtime.configfile import load_yaml, validate

MAX_WAIVER_DAYS = 90
EXPIRY_WARNING_DAYS = 14


class WaiverSignature(BaseModel):
    """The approver's Ed25519 signature over the waiver's content (``phistack waiver sign``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alg: Literal["Ed25519"] = "Ed25519"
    key_id: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    value: str = Field(min_length=1)


class Waiver(BaseModel):
    """One waiver entry (every field but max_resources and signature required)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    rule: str = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
    stack: str = Field(min_length=1, description='a stack name or "*"')
    resource: str = Field(min_length=1, description="fnmatch pattern over the finding's urn")
    justification: str = Field(min_length=10)
    approver: str = Field(min_length=3)
    compensating_control: str = Field(min_length=10)
    expires: dt.date
    max_resources: int = Field(default=1, ge=1, description="how many resources it may cover at most")
    signature: WaiverSignature | None = None
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

    def signed_content(self) -> dict[str, Any]:
        """What the approver signs: every field but the signature itself."""
        return {**self.model_dump(exclude={"signature"}), "expires": self.expires.isoformat()}

    def to_json(self) -> dict[str, Any]:
        signature = self.signature.model_dump() if self.signature is not None else None
        return {**self.signed_content(), "signature": signature}

    @property
    def origin(self) -> str:
        """``FILE: waivers[i]`` for a waiver read by :func:`load_waivers`, else ``waiver ID``."""
        return self._origin or f"waiver {self.id}"


class _WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    waivers: list[Waiver] = Field(default_factory=list)


def load_waivers(path: Path, today: dt.date | None) -> list[Waiver]:
    """Read a waiver file; any malformed entry is an InputError naming the file and key path.

    ``today`` bounds the expiry (at most 90 days later); None skips that bound (tests signing fixtures)."""
    return parse_waivers(load_yaml(path, "waivers"), path, today)


def parse_waivers(raw: Any, path: Path, today: dt.date | None) -> list[Waiver]:
    """The waivers of ``raw``, the parsed YAML of the waiver file ``path`` (see :func:`load_waivers`)."""
    if raw is None:
        # Fail closed: an empty file is more likely truncated or mistyped than meant; none is `waivers: []`.
        raise InputError(f"{path}: empty waiver file; write `waivers: []` to declare that there are none")
    parsed = validate(_WaiverFile, raw, path)
    seen: set[str] = set()
    for index, waiver in enumerate(parsed.waivers):
        waiver._origin = f"{path}: waivers[{index}]"
        if waiver.id in seen:
            raise InputError(f"{path}: waivers[{index}].id: duplicate waiver id {waiver.id!r}")
        seen.add(waiver.id)
        if today is not None and waiver.expires > today + dt.timedelta(days=MAX_WAIVER_DAYS):
            raise InputError(
                f"{path}: waivers[{index}].expires: {waiver.expires} is more than {MAX_WAIVER_DAYS} days "
                f"after {today}; waivers must be renewed at least every {MAX_WAIVER_DAYS} days"
            )
    return parsed.waivers


@dataclass
class WaiverOutcome:
    notes: list[str]
    applied: list[dict[str, Any]]
    refused: list[dict[str, Any]] = field(default_factory=list)


def check_distinct_ids(waivers: list[Waiver]) -> None:
    """Two waivers with one id (in two files) are bad input: reports, records and notes name waivers by id."""
    first: dict[str, Waiver] = {}
    for waiver in waivers:
        if waiver.id in first:
            raise InputError(
                f"{waiver.origin}.id: waiver id {waiver.id!r} is already used by {first[waiver.id].origin}"
            )
        first[waiver.id] = waiver


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


def _applied(waiver: Waiver, approval: Approval) -> dict[str, Any]:
    return {
        **waiver.to_json(),
        "key_id": approval.key_id,
        "approver_role": approval.role,
        "signature_status": approval.signature_status,
    }


def _refused(waiver: Waiver, refusal: WaiverRefused) -> dict[str, Any]:
    return {
        **waiver.to_json(),
        "key_id": refusal.key_id,
        "signature_status": refusal.signature_status,
        "refusal": refusal.reason,
    }


def _judge(
    waivers: list[Waiver],
    findings: list[Finding],
    stack: str,
    today: dt.date,
    approvers: Approvers,
    unwaivable: frozenset[str],
) -> dict[int, Approval | WaiverRefused]:
    """Each waiver's approval, or why it is refused: signature and authority, then scope.

    Keyed by the waiver object, never by its id: a second file reusing a valid waiver's id must not borrow
    its approval."""
    verdicts: dict[int, Approval | WaiverRefused] = {}
    for waiver in waivers:
        try:
            approval = verify_approval(waiver, approvers, unwaivable, today)
        except WaiverRefused as refusal:
            verdicts[id(waiver)] = refusal
            continue
        covered = sorted({f.urn for f in findings if waiver.matches(f, stack)})
        if len(covered) > waiver.max_resources:
            # Refused whole, not trimmed: which resources it "meant" is exactly what nobody approved.
            verdicts[id(waiver)] = WaiverRefused(
                f"resource pattern {waiver.resource!r} matches {len(covered)} resources, more than its "
                f"max_resources {waiver.max_resources}",
                signature_status=approval.signature_status,
                key_id=approval.key_id,
            )
            continue
        verdicts[id(waiver)] = approval
    return verdicts


def apply_waivers(
    findings: list[Finding],
    waivers: list[Waiver],
    stack: str,
    today: dt.date,
    *,
    rules: Mapping[str, Mapping[str, Any]] | None = None,
    approvers: Approvers | None = None,
) -> WaiverOutcome:
    """Mark findings waived, waiver-expired or waiver-refused; return notes for people, and the waivers
    applied and refused.

    ``rules`` is the policy set's rule METADATA: a waiver naming any other rule is an InputError (see
    :func:`check_rules_exist`) before anything is waived, and rules marked ``custom.unwaivable`` refuse every
    waiver. ``approvers`` is who may approve (:mod:`phistack.approvers`); with none, every waiver is refused."""
    check_distinct_ids(waivers)
    if rules is not None:
        check_rules_exist(waivers, rules)
    unwaivable = unwaivable_rules(rules or {})
    relevant = [w for w in waivers if w.stack in ("*", stack)]
    verdicts = _judge(relevant, findings, stack, today, approvers or Approvers(), unwaivable)
    notes: list[str] = []
    applied: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    used: set[int] = set()
    for finding in findings:
        matching = [w for w in relevant if w.matches(finding, stack)]
        if not matching:
            continue
        valid = [w for w in matching if isinstance(verdicts[id(w)], Approval)]
        if not valid:
            chosen = max(matching, key=lambda w: w.expires)
            verdict = verdicts[id(chosen)]
            assert isinstance(verdict, WaiverRefused)
            finding.waiver = _refused(chosen, verdict)
            finding.status = Status.WAIVER_REFUSED
            continue
        active = [w for w in valid if w.expires >= today]
        chosen = max(active or valid, key=lambda w: w.expires)
        used.add(id(chosen))
        approval = verdicts[id(chosen)]
        assert isinstance(approval, Approval)
        finding.waiver = _applied(chosen, approval)
        finding.status = Status.WAIVED if active else Status.WAIVER_EXPIRED
    for waiver in relevant:
        verdict = verdicts[id(waiver)]
        if isinstance(verdict, WaiverRefused):
            notes.append(f"waiver {waiver.id} ({waiver.rule}) refused: {verdict.reason}; it waives nothing")
            refused.append(_refused(waiver, verdict))
            continue
        if id(waiver) not in used:
            notes.append(f"waiver {waiver.id} ({waiver.rule}) matches no finding in stack {stack!r}")
            continue
        if waiver.expires < today:
            notes.append(f"waiver {waiver.id} ({waiver.rule}) expired on {waiver.expires}: its findings count again")
        elif waiver.expires <= today + dt.timedelta(days=EXPIRY_WARNING_DAYS):
            notes.append(f"waiver {waiver.id} ({waiver.rule}) expires on {waiver.expires}: renew or remediate")
        applied.append(_applied(waiver, verdict))
    return WaiverOutcome(notes=notes, applied=applied, refused=refused)
