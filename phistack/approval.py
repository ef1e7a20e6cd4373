"""Signed approvals: a waiver counts only when an authorised approver signed exactly what it says.

The approver signs, with Ed25519 (keys as in :mod:`phistack.signing`), the canonical JSON of the waiver's
content: schema, id, rule, stack, resource, justification, compensating control, expiry, approver and
max_resources. :func:`verify_approval` accepts a waiver or raises :class:`WaiverRefused` with the reason;
a refused waiver never waives, and its findings stay open with that reason in every report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from phistack.approvers import Approver, Approvers
from phistack.errors import VerificationError
from phistack.signing import check_signature, sign

if TYPE_CHECKING:
    import datetime as dt

    from phistack.waivers import Waiver

# What a waiver signature says: no other signed document of phistack can be passed off as one.
APPROVAL_SCHEMA = "phistack.waiver-approval/v1"


class SignatureStatus:
    """How a waiver's signature stands, as reports and records show it."""

    VERIFIED = "verified"  # signed by a listed key of the approver it names, valid on the evaluation date
    UNSIGNED = "unsigned"
    INVALID = "invalid"  # unknown key, another approver's key, altered content or a key out of its dates


class WaiverRefused(VerificationError):
    """A waiver that does not waive; ``reason`` says why in one line."""

    def __init__(self, reason: str, *, signature_status: str, key_id: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.signature_status = signature_status
        self.key_id = key_id


@dataclass(frozen=True)
class Approval:
    """A verified approval: who approved, in which role, with which key."""

    approver: str
    role: str
    key_id: str
    signature_status: str = SignatureStatus.VERIFIED


def approval_payload(content: Mapping[str, Any]) -> dict[str, Any]:
    return {"schema": APPROVAL_SCHEMA, **content}


def sign_waiver(waiver: Waiver, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The ``signature`` entry for ``waiver``: ``{alg, key_id, value}``."""
    return sign(key, approval_payload(waiver.signed_content()))


def _check_signature(waiver: Waiver, approvers: Approvers, today: dt.date) -> tuple[Approval, Approver]:
    """The signature alone: present, by a listed key of the named approver, valid today, over this content."""
    signature = waiver.signature
    if signature is None:
        raise WaiverRefused(
            f"unsigned: {waiver.approver} has not signed it (phistack waiver sign)",
            signature_status=SignatureStatus.UNSIGNED,
            key_id=None,
        )
    signer = signature.key_id

    def invalid(reason: str) -> WaiverRefused:
        return WaiverRefused(reason, signature_status=SignatureStatus.INVALID, key_id=signer)

    found = approvers.key_of(waiver.approver, signer)
    if found is None:
        owners = approvers.owners_of(signer)
        if owners:
            reason = f"signed with a key of {', '.join(owners)}, not of {waiver.approver}, the approver it names"
        elif not approvers.entries:
            reason = f"the policy set lists no approvers, so no key (here {signer}) may approve waivers"
        else:
            reason = f"signed with key {signer}, which is not a key of an authorised approver"
        raise invalid(reason)
    approver, approver_key = found
    try:
        check_signature(approver_key.key, signature.value, approval_payload(waiver.signed_content()))
    except VerificationError:
        raise invalid(
            f"the signature of {waiver.approver} does not match the waiver: it was edited after signing, or forged"
        ) from None
    if not approver_key.valid_on(today):
        raise invalid(
            f"{waiver.approver}'s key {signer} is valid from {approver_key.valid_from} to "
            f"{approver_key.valid_until}, not on {today}"
        )
    return Approval(approver=approver.identity, role=approver.role, key_id=signer), approver


def verify_approval(
    waiver: Waiver, approvers: Approvers, unwaivable: frozenset[str] | set[str], today: dt.date
) -> Approval:
    """Accept ``waiver`` or raise WaiverRefused: unwaivable rule, signature, then the approver's authority.

    Scope (``max_resources``) depends on the findings and is checked where waivers are applied."""
    if waiver.rule in unwaivable:
        status, signer = SignatureStatus.UNSIGNED, None
        if waiver.signature is not None:
            signer = waiver.signature.key_id
            try:
                status = _check_signature(waiver, approvers, today)[0].signature_status
            except WaiverRefused as err:
                status = err.signature_status
        raise WaiverRefused(
            f"{waiver.rule} is unwaivable: no one may waive it, whoever signs (METADATA custom.unwaivable)",
            signature_status=status,
            key_id=signer,
        )
    approval, approver = _check_signature(waiver, approvers, today)
    if not approver.may_waive_rule(waiver.rule):
        raise WaiverRefused(
            f"{waiver.approver} ({approver.role}) may waive {', '.join(approver.may_waive)}, not {waiver.rule}",
            signature_status=SignatureStatus.VERIFIED,
            key_id=approval.key_id,
        )
    return approval
