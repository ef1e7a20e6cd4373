"""Preview, gate, deploy: the gate judges the real ``pulumi preview`` and ``up`` runs only when it allows.

The preview document is converted with :func:`phistack.plan.pulumi_import.plan_from_preview` into the same
Plan document the offline planner writes, so the CLI gate, CI and CrossGuard evaluate one thing.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phistack.deploy.automation import PulumiStack, UpOutcome
from phistack.deploy.pulumi_cli import (
    DeployError,
    cli_env,
    default_backend,
    display_backend,
    prepare_backend,
    require_cli,
    state_dir,
)
from phistack.deploy.records import build_record, preview_digest, write_record
from phistack.findings import Decision
from phistack.plan.offline import load_project, read_stack_config
from phistack.plan.pulumi_import import plan_from_preview
from phistack.session import GateSettings, decide
from phistack.stackconfig import read_stack_settings, stack_file
from phistack.workspace import relative


@dataclass(frozen=True)
class DeployRequest:
    """Which stack to preview (and deploy), gated how, against which Pulumi backend."""

    stack: str
    settings: GateSettings
    backend: str | None = None
    policy_packs: tuple[str, ...] = ()

    @property
    def project(self) -> Path:
        return self.settings.project_dir


@dataclass
class GatedPreview:
    """The gate's decision on a real preview, and the stack it was taken from."""

    decision: Decision
    plan: dict[str, Any]
    preview_text: str
    artifact: str  # the stack's config file, where a reviewer would fix a finding
    project_name: str
    backend: str
    stack: PulumiStack


def gated_preview(request: DeployRequest) -> GatedPreview:
    """Run ``pulumi preview --json`` on the stack and evaluate the policies against it."""
    require_cli()  # before anything else: without the CLI there is nothing to preview
    project = load_project(request.project)
    settings_name = request.stack.split("/")[-1]  # "org/project/stack" keeps its settings in Pulumi.stack.yaml
    # Unknown stack or invalid config: exit 2 before touching state. The file is read once, here.
    stack_settings = read_stack_settings(stack_file(project.config_dir, settings_name))
    read_stack_config(project, settings_name, stack_settings)
    backend = request.backend or default_backend(request.project)
    env = cli_env(backend, stack_settings)
    prepare_backend(backend)
    stack = PulumiStack(request.project, request.stack, env)
    preview_text = stack.preview_json(request.policy_packs)
    with tempfile.TemporaryDirectory(prefix="phistack-preview-") as tmp:
        path = Path(tmp) / f"pulumi-preview-{settings_name}.json"
        path.write_text(preview_text, encoding="utf-8")
        plan = plan_from_preview(path)
    if plan["stack"] != settings_name:
        raise DeployError(f"pulumi previewed stack {plan['stack']!r}, not {settings_name!r}: refusing to gate it")
    decision = decide(request.settings, plan)
    return GatedPreview(
        decision=decision,
        plan=plan,
        preview_text=preview_text,
        artifact=relative(project.stack_file(settings_name)),
        project_name=project.name,
        backend=backend,
        stack=stack,
    )


@dataclass
class Deployment:
    """The outcome of ``pulumi up`` after the gate allowed it, and where its record is."""

    outcome: UpOutcome
    record: Path


def deploy(gated: GatedPreview, request: DeployRequest) -> Deployment:
    """Run ``pulumi up`` for an allowed preview and store the decision record; never called when denied."""
    if not gated.decision.allowed:
        raise AssertionError("deploy() called with a denied decision")  # callers check; this guards the invariant
    outcome = gated.stack.up(request.policy_packs)
    recorded_at = dt.datetime.now(dt.UTC)
    record = build_record(
        decision=gated.decision,
        project=gated.project_name,
        preview_sha256=preview_digest(gated.preview_text),
        backend=display_backend(gated.backend),
        cli_version=gated.stack.cli_version,
        deployment=outcome.to_json(),
        recorded_at=recorded_at,
    )
    path = write_record(state_dir(request.project), record, recorded_at)
    return Deployment(outcome=outcome, record=path)
