"""Appraising attestation claims with the Rego policy in ``policies/attestation/``.

The policy package is ``phistack.attestation``; ``data.phistack.attestation.result`` is
``{"allow": bool, "reasons": [...]}``. Anything else — an undefined result, a malformed one, an
engine error — is refused: appraisal fails closed.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
from collections.abc import Callable
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
    """A loaded attestation policy on one engine, safe to call from any thread.

    The embedded engines are not shareable between threads (regorus' engine panics when used from
    a thread other than its creator), so one worker thread owns the evaluator and every appraisal
    runs there.
    """

    def __init__(self, policy_root: Path = DEFAULT_POLICY_ROOT, *, engine: str = "regorus") -> None:
        self.policy_root = policy_root
        self.engine = engine
        self._policies = load_policy_set(policy_root)
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="appraiser")
        self._evaluator: Evaluator | None = None
        self._run(lambda evaluator: None)  # compile now: a policy error surfaces at start-up

    def _run(self, task: Callable[[Evaluator], Any]) -> Any:
        def on_owner_thread() -> Any:
            if self._evaluator is None:
                self._evaluator = make_evaluator(self.engine, self._policies)
            return task(self._evaluator)

        try:
            return self._executor.submit(on_owner_thread).result()
        except (KeyboardInterrupt, SystemExit, PolicyError):
            raise
        except BaseException as err:  # an engine panic (pyo3 raises BaseException): never a pass
            raise PolicyError(f"attestation policy evaluation failed: {err!r}") from err

    def close(self) -> None:
        """Drop the evaluator on its own thread (the engine requires it), then stop the thread."""

        def drop() -> None:
            self._evaluator = None

        self._executor.submit(drop).result()
        self._executor.shutdown(wait=True)

    def evaluate(self, document: dict[str, Any]) -> Appraisal:
        """Evaluate a prepared input document (see :func:`runtime.attestation.appraisal_input`)."""
        value = self._run(lambda evaluator: evaluator.query(QUERY, document))
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
