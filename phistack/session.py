"""The gate session: the settings every gate command shares, and the one way from a plan to a decision.

``check``, ``demo``, ``preview``/``up``, ``evidence`` and the CrossGuard pack all gate plans the same way:
one policy set, engine, clock and choice of waiver files (:class:`GateSettings`), and :func:`decide`, which
loads the waivers of the plan's stack and evaluates. Commands only turn their arguments into settings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phistack.engine import PolicySet
from phistack.errors import InputError
from phistack.findings import Decision
from phistack.gate import evaluate
from phistack.plan.view import Plan
from phistack.workspace import NO_WAIVERS, waiver_files
from runtime.configfile import load_yaml

if TYPE_CHECKING:
    from phistack.waivers import Waiver


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class GateSettings:
    """How plans are gated: the same for every plan of one command run."""

    project: Path | None
    """The Pulumi project whose ``stacks/waivers/STACK.yaml`` files apply (None: only the policy set's)."""
    policies: PolicySet
    engine: str = "regorus"
    engine_options: Mapping[str, Any] = field(default_factory=dict)
    """Engine-specific settings, e.g. ``{"opa_url": ...}`` for the ``opa-server`` engine."""
    now: dt.datetime = field(default_factory=_utc_now)
    """The evaluation time: waiver expiry and the rules' notion of today."""
    waiver_files: tuple[Path, ...] | None = None
    """The waiver files for every plan; None: the policy set's ``waivers.yaml`` and the stack's own file."""

    @property
    def project_dir(self) -> Path:
        """The project directory, for commands that plan stacks or read the project's files."""
        if self.project is None:
            raise InputError("no Pulumi project: name one with --project")  # only the CrossGuard pack has none
        return self.project

    def at(self, now: dt.datetime) -> GateSettings:
        """The same settings evaluated at ``now`` (the CrossGuard pack reads its clock per decision)."""
        return replace(self, now=now)

    def deid_facts(self, plan: Plan) -> dict[str, dict[str, Any]]:
        """``input.deid``: each dataset of the plan's stack spec with its manifest verified against the policy
        set's trusted signers, read from the project (malformed signer data raises PolicyError, exit 3)."""
        if not (plan.spec or {}).get("datasets"):
            return {}  # nothing to verify: the signer list and the manifest verifier are not even loaded
        from phistack.deid.facts import dataset_facts
        from phistack.deid.signers import load_signers

        return dataset_facts(plan.spec, self.project, load_signers(self.policies))

    def waivers(self, stack: str) -> list[Waiver]:
        """The waivers that may apply to ``stack``, read and validated (bad input raises InputError)."""
        if self.waiver_files is not None:
            paths = list(self.waiver_files)
        else:
            paths = waiver_files(self.policies.root, self.project, stack)
        documents = [(path, load_yaml(path, "waivers")) for path in paths]
        if all(raw == NO_WAIVERS for _, raw in documents):
            return []  # the waiver models (pydantic, signatures) are loaded only when there is a waiver to read
        from phistack.waivers import parse_waivers

        today = self.now.date()
        return [waiver for path, raw in documents for waiver in parse_waivers(raw, path, today)]


def decide(settings: GateSettings, plan: Plan) -> Decision:
    """The gate's decision on ``plan``, with the plan's de-identification manifests verified. Bad waivers
    raise InputError (exit 2); policy or engine failures raise PolicyError (exit 3)."""
    return evaluate(
        plan,
        settings.policies,
        engine=settings.engine,
        now=settings.now,
        waivers=settings.waivers(plan.stack),
        engine_options=dict(settings.engine_options),
        deid=settings.deid_facts(plan),
    )
