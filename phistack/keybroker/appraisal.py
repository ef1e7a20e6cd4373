"""Appraising attestation claims with the Rego policy in ``policies/attestation/``.

The policy package is ``phistack.attestation``; ``data.phistack.attestation.result`` is
``{"allow": bool, "reasons": [...]}``. Anything else — an undefined result, a malformed one, an
engine error — is refused: appraisal fails closed.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phistack import shipped
from phistack.engine import Evaluator, load_policy_set, make_evaluator
from phistack.errors import PolicyError
from runtime.attestation.claims import Claims, appraisal_input

QUERY = "data.phistack.attestation.result"
DEFAULT_POLICY_ROOT = shipped.POLICIES / "attestation"  # the checkout's, or the copy an installed wheel carries


@dataclass(frozen=True)
class Appraisal:
    """The policy's decision and, when denied, every reason."""

    allow: bool
    reasons: tuple[str, ...]
    input: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"allow": self.allow, "reasons": list(self.reasons)}


def _without_frames(err: BaseException) -> BaseException:
    """``err`` with its tracebacks dropped: their frames hold the evaluator, which must not travel."""
    chained: BaseException | None = err
    for _ in range(8):
        if chained is None:
            break
        chained.__traceback__ = None
        chained = chained.__cause__ or chained.__context__
    return err


class Appraiser:
    """A loaded attestation policy on one engine, safe to call from any thread.

    The embedded engines are not shareable between threads: regorus' engine panics ("unsendable")
    when used *or dropped* on a thread other than its creator. So one owner thread creates the
    evaluator, runs every appraisal, and drops it when :meth:`close` is called. The evaluator is
    only ever a local of that thread, so no other thread — not the garbage collector at interpreter
    exit either — can be the one to drop it.
    """

    def __init__(self, policy_root: Path = DEFAULT_POLICY_ROOT, *, engine: str = "regorus") -> None:
        self.policy_root = policy_root
        self.engine = engine
        self._policies = load_policy_set(policy_root)
        self._tasks: queue.SimpleQueue[tuple[Callable[[Evaluator], Any], concurrent.futures.Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._own, name="appraiser", daemon=True)
        self._thread.start()
        self._run(lambda evaluator: None)  # compile now: a policy error surfaces at start-up

    def _own(self) -> None:
        evaluator: Evaluator | None = None
        while (item := self._tasks.get()) is not None:
            task, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                if evaluator is None:
                    evaluator = make_evaluator(self.engine, self._policies)
                future.set_result(task(evaluator))
            except BaseException as err:  # an engine panic (pyo3 raises BaseException) goes to the caller
                future.set_exception(_without_frames(err))
        del evaluator  # dropped here, on the thread that created it

    def _run(self, task: Callable[[Evaluator], Any]) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise PolicyError("attestation policy evaluator is closed")
            self._tasks.put((task, future))
        try:
            return future.result()
        except (KeyboardInterrupt, SystemExit, PolicyError):
            raise
        except BaseException as err:  # an engine panic: never a pass
            raise PolicyError(f"attestation policy evaluation failed: {err!r}") from err

    def close(self) -> None:
        """Drop the evaluator on its own thread (the engine requires it), then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._tasks.put(None)
        self._thread.join()

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
