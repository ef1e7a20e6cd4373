"""Appraising attestation claims with the Rego policy in ``policies/attestation/``.

The policy package is ``phistack.attestation``; ``data.phistack.attestation.result`` is
``{"allow": bool, "reasons": [...]}``. Anything else — an undefined result, a malformed one, an
engine error — is refused: appraisal fails closed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phistack.engine import Evaluator, load_policy_set, make_evaluator
from phistack.errors import PolicyError
from runtime.attestation.claims import Claims, appraisal_input

QUERY = "data.phistack.attestation.result"
DEFAULT_POLICY_ROOT = Path(__file__).resolve().parents[2] / "policies" / "attestation"


@dataclass(frozen=True)
class Appraisal:
    """The policy's decision and, when denied, every reason."""

    allow: bool
    reasons: tuple[str, ...]
    input: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"allow": self.allow, "reasons": list(self.reasons)}


class Appraiser:
    """A loaded attestation policy on one engine."""

    def __init__(self, policy_root: Path = DEFAULT_POLICY_ROOT, *, engine: str = "regorus") -> None:
        self.policy_root = policy_root
        self.engine = engine
        self._evaluator: Evaluator = make_evaluator(engine, load_policy_set(policy_root))

    def evaluate(self, document: dict[str, Any]) -> Appraisal:
        """Evaluate a prepared input document (see :func:`runtime.attestation.appraisal_input`)."""
        value = self._evaluator.query(QUERY, document)
        if not isinstance(value, dict) or not isinstance(value.get("allow"), bool):
            raise PolicyError(f"attestation policy returned no decision ({QUERY} = {value!r})")
        reasons = value.get("reasons")
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise PolicyError(f"attestation policy returned malformed reasons: {reasons!r}")
        allow = value["allow"] and not reasons
        return Appraisal(allow, tuple(reasons), document)

    def appraise(self, claims: Claims | None, *, nonce: bytes, at_time: dt.datetime) -> Appraisal:
        """Appraise verified claims against the nonce the broker issued, at ``at_time``."""
        return self.evaluate(appraisal_input(claims, nonce=nonce, now=at_time))
