"""Preview, gate, deploy: the gate judges the real ``pulumi preview`` and ``up`` runs only when it allows.

The preview document is converted with :func:`phistack.plan.pulumi_import.plan_from_preview` into the same
Plan document the offline planner writes, so the CLI gate, CI and CrossGuard evaluate one thing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phistack.commands._options import add_gate_options, add_report_options
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
from phistack.gate import evaluate
from phistack.plan.offline import load_project, read_stack_config
from phistack.plan.pulumi_import import plan_from_preview
from phistack.workspace import parse_now, policies_for, project_root, relative, waivers_for


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``phistack preview`` and ``phistack up``."""
    parser.add_argument("stack", help="stack name (stacks/Pulumi.STACK.yaml)")
    add_report_options(parser)
    add_gate_options(parser)
    parser.add_argument(
        "--backend",
        metavar="URL",
        help="Pulumi state backend (default: file://PROJECT/.state, the project's state folder)",
    )
    parser.add_argument(
        "--policy-pack",
        metavar="DIR",
        action="append",
        default=[],
        help="also run this CrossGuard policy pack inside Pulumi (e.g. policies/pack); repeatable",
    )


@dataclass(frozen=True)
class GateRequest:
    """What to gate, and how: built from the command line."""

    stack: str
    project: Path
    policies: str | None = None
    waivers: list[str] | None = None
    engine: str = "regorus"
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    backend: str | None = None
    policy_packs: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> GateRequest:
        return cls(
            stack=args.stack,
            project=project_root(args.project),
            policies=args.policies,
            waivers=args.waivers,
            engine=args.engine,
            now=parse_now(args.now),
            backend=args.backend,
            policy_packs=tuple(args.policy_pack or ()),
        )


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


def gated_preview(request: GateRequest) -> GatedPreview:
    """Run ``pulumi preview --json`` on the stack and evaluate the policies against it."""
    require_cli()  # before anything else: without the CLI there is nothing to preview
    project = load_project(request.project)
    settings_name = request.stack.split("/")[-1]  # "org/project/stack" keeps its settings in Pulumi.stack.yaml
    read_stack_config(project, settings_name)  # unknown stack or invalid YAML: exit 2 before touching state
    policies = policies_for(request.policies, request.project)  # a broken policy set is exit 3 whatever the stack
    backend = request.backend or default_backend(request.project)
    env = cli_env(backend, project.stack_file(settings_name))
    prepare_backend(backend)
    stack = PulumiStack(request.project, request.stack, env)
    preview_text = stack.preview_json(request.policy_packs)
    with tempfile.TemporaryDirectory(prefix="phistack-preview-") as tmp:
        path = Path(tmp) / f"pulumi-preview-{settings_name}.json"
        path.write_text(preview_text, encoding="utf-8")
        plan = plan_from_preview(path)
    if plan["stack"] != settings_name:
        raise DeployError(f"pulumi previewed stack {plan['stack']!r}, not {settings_name!r}: refusing to gate it")
    waivers = waivers_for(request.waivers, policies, request.project, plan["stack"], request.now.date())
    decision = evaluate(plan, policies, engine=request.engine, now=request.now, waivers=waivers)
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


def deploy(gated: GatedPreview, request: GateRequest) -> Deployment:
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
