"""Who may approve waivers: the organisation's approvers, kept as policy data (``policies/data/approvers.json``).

Each approver has an identity (the ``approver`` a waiver names), a role, the rules they may waive (exact ids
such as ``PHI-TLS-003`` or categories such as ``PHI-TLS-*``) and one or more Ed25519 keys, each valid for a
period. The list lives with the policies, not with the stacks, so whoever may change the rules decides who
may waive them; with no list, no waiver applies. Malformed approver data is a policy error (exit 3).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from phistack.engine import PolicySet
from phistack.errors import PolicyError
from phistack.policydata import stated_key, validate_policy_data

DATA_NAME = "approvers"  # mounted at data.approvers, read from policies/data/approvers.{json,yaml}
_RULE = r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)+"
_CATEGORY = r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)*-\*"
_SCOPE_RE = re.compile(rf"^(?:{_RULE}|{_CATEGORY})$")


class ApproverKey(BaseModel):
    """One signing key of an approver and the dates it may sign on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    public_key: str = Field(min_length=1, description="PEM, or the 32 raw bytes in base64")
    valid_from: dt.date
    valid_until: dt.date
    _key: Ed25519PublicKey | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> ApproverKey:
        key = stated_key(self.public_key, self.key_id)
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        self._key = key
        return self

    @property
    def key(self) -> Ed25519PublicKey:
        assert self._key is not None  # set by the validator
        return self._key

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day <= self.valid_until


class Approver(BaseModel):
    """A person who may approve waivers of some rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    identity: str = Field(min_length=3)
    role: str = Field(min_length=1)
    may_waive: list[str] = Field(min_length=1, description="rule ids, or categories written PREFIX-*")
    keys: list[ApproverKey] = Field(min_length=1)

    @field_validator("may_waive")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        for entry in value:
            # A bare "*" would let one key waive every rule there will ever be: name the categories.
            if not _SCOPE_RE.match(entry):
                raise ValueError(f"{entry!r} is neither a rule id (PHI-TLS-003) nor a category (PHI-TLS-*)")
        return value

    def may_waive_rule(self, rule: str) -> bool:
        return any(rule == s or (s.endswith("*") and rule.startswith(s[:-1])) for s in self.may_waive)


class _ApproverData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = ""  # JSON has no comments: a line for whoever opens the file
    approvers: list[Approver] = Field(default_factory=list)


@dataclass(frozen=True)
class Approvers:
    """The approver list of a policy set."""

    entries: tuple[Approver, ...] = ()

    def key_of(self, identity: str, signer: str) -> tuple[Approver, ApproverKey] | None:
        """The approver named ``identity`` and their key with id ``signer``, if both exist."""
        for approver in self.entries:
            if approver.identity == identity:
                for key in approver.keys:
                    if key.key_id == signer:
                        return approver, key
        return None

    def owners_of(self, signer: str) -> list[str]:
        """Identities that hold the key ``signer`` (to say whose key signed a waiver naming someone else)."""
        return [a.identity for a in self.entries if any(k.key_id == signer for k in a.keys)]


def parse_approvers(document: Any, where: str) -> Approvers:
    """Validate approver data; ``where`` names it in the PolicyError (file or ``data.approvers``)."""
    if document is None:
        return Approvers()
    parsed = validate_policy_data(_ApproverData, document, where)
    seen: set[str] = set()
    for index, approver in enumerate(parsed.approvers):
        if approver.identity in seen:
            raise PolicyError(f"{where}: approvers[{index}].identity: {approver.identity!r} is listed twice")
        seen.add(approver.identity)
    return Approvers(tuple(parsed.approvers))


def load_approvers(policies: PolicySet) -> Approvers:
    """The approvers of ``policies`` (``data.approvers``); none when the policy set has no such data."""
    return parse_approvers(policies.data.get(DATA_NAME), f"{policies.root}/data/{DATA_NAME}")


def unwaivable_rules(rules: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """Rule ids whose METADATA says ``custom.unwaivable: true``: no waiver applies to them."""
    return frozenset(rule for rule, meta in rules.items() if (meta.get("custom") or {}).get("unwaivable") is True)
