"""Who may sign de-identification manifests: policy data (``policies/data/deid_signers.json``).

Each signer has an Ed25519 public key, a name, and the de-identification methods it may vouch for
(``method.kind`` of a manifest). The list lives with the rules, like the waiver approvers, so a stack
cannot name its own signer. Malformed signer data is a policy error (exit 3) naming the key path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from phistack.engine import PolicySet
from phistack.policydata import stated_key, validate_policy_data
from runtime.deid.manifest import DEIDENTIFYING_METHODS

DATA_NAME = "deid_signers"  # mounted at data.deid_signers, read from policies/data/deid_signers.json
# The manifest method kinds a signer may be trusted for; dicom-annex-e names DICOM PS3.15 Annex E runs.
SIGNER_METHODS = tuple(sorted(DEIDENTIFYING_METHODS))


class Signer(BaseModel):
    """One trusted de-identification signer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    public_key: str = Field(min_length=1, description="PEM, or the 32 raw bytes in base64")
    name: str = Field(min_length=1)
    methods: list[str] = Field(min_length=1)
    _key: Ed25519PublicKey | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> Signer:
        self._key = stated_key(self.public_key, self.key_id)
        unknown = [m for m in self.methods if m not in SIGNER_METHODS]
        if unknown:
            raise ValueError(f"methods: {unknown[0]!r} is not one of {', '.join(SIGNER_METHODS)}")
        return self

    @property
    def key(self) -> Ed25519PublicKey:
        assert self._key is not None  # set by the validator
        return self._key


class _SignerData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = ""  # JSON has no comments: a line for whoever opens the file
    signers: list[Signer] = Field(default_factory=list)

    @field_validator("signers")
    @classmethod
    def _distinct(cls, value: list[Signer]) -> list[Signer]:
        ids = [s.key_id for s in value]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"{twice[0]} is listed twice")
        return value


@dataclass(frozen=True)
class Signers:
    """The trusted signers of a policy set, by key id."""

    entries: tuple[Signer, ...] = ()

    def by_key_id(self) -> dict[str, Signer]:
        return {s.key_id: s for s in self.entries}

    def keys(self) -> dict[str, Ed25519PublicKey]:
        """``{key_id: public key}``, what :func:`runtime.deid.manifest.verify_manifest` trusts."""
        return {s.key_id: s.key for s in self.entries}


def parse_signers(document: Any, where: str) -> Signers:
    """Validate signer data; ``where`` names it in the PolicyError (the key path of the first problem)."""
    parsed = validate_policy_data(_SignerData, document if document is not None else {}, where)
    return Signers(tuple(parsed.signers))


def load_signers(policies: PolicySet) -> Signers:
    """The signers of ``policies`` (``data.deid_signers``); none when the policy set has no such data."""
    return parse_signers(policies.data.get(DATA_NAME), f"{policies.root}/data/{DATA_NAME}")
