"""Build an evidence pack (gate every stack, assess controls) and write it as one directory, atomically."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from phistack.errors import InputError, PhistackError
from phistack.evidence.catalogue import Catalogue
from phistack.evidence.cloud import infrastructure
from phistack.evidence.cost import estimate
from phistack.evidence.facts import providers, workloads
from phistack.evidence.model import DatasetEvidence, MatrixRow, StackEvidence
from phistack.evidence.status import assess
from phistack.plan.offline import load_project, plan_stack
from phistack.plan.view import Plan
from phistack.session import GateSettings, decide
from phistack.workspace import relative

MARKER = ".phistack-evidence"  # lets a rerun replace its own earlier pack, and nothing else


@dataclass(frozen=True)
class PackSettings:
    """How every stack in one pack is gated (the same settings for each) and which controls it assesses."""

    gate: GateSettings
    catalogue: Catalogue


def build_stack(settings: PackSettings, stack: str) -> StackEvidence:
    """Plan ``stack`` offline, gate it and assess every control. Bad input raises InputError (exit 2)."""
    root = settings.gate.project_dir
    plan = plan_stack(root, stack)
    return evidence_for_plan(settings, plan, relative(load_project(root).stack_file(stack)))


def _agreements(settings: PackSettings) -> list[object]:
    """The BAA registry of the policy set the pack gates with (``data.baa.agreements``)."""
    registry = settings.gate.policies.data.get("baa")
    agreements = registry.get("agreements") if isinstance(registry, dict) else None
    return agreements if isinstance(agreements, list) else []


def evidence_for_plan(settings: PackSettings, plan: Plan, artifact: str) -> StackEvidence:
    """Gate a plan document (from any source) and assess every control."""
    stack = str(plan["stack"])
    decision = decide(settings.gate, plan)
    mapping = settings.catalogue.map_rules(decision.rules)
    controls = assess(decision, plan, settings.catalogue, mapping)
    return StackEvidence(
        stack=stack,
        project=str(plan.get("project", "")),
        artifact=artifact,
        plan=plan,
        decision=decision,
        controls=controls,
        other_findings=[f for f in decision.findings if f.id in mapping.unmapped],
        providers=providers(plan),
        workloads=workloads(plan),
        cloud=infrastructure(plan, _agreements(settings)),
        cost=estimate(plan, settings.gate.project_dir),
        in_scope=decision.scope.phi,
        generated_at=decision.evaluated_at,
        datasets=_datasets(settings.gate, plan),
    )


def _datasets(gate: GateSettings, plan: Plan) -> list[DatasetEvidence]:
    """Each dataset of the stack spec with its manifest verified as the gate did, and the workloads naming it."""
    named: dict[str, list[str]] = {}
    for resource in plan.of_type("phistack:workload:AttestedWorkload"):
        dataset = resource.inputs.get("dataset")
        if isinstance(dataset, str):
            named.setdefault(dataset, []).append(resource.name)
    facts = gate.deid_facts(plan)
    return [DatasetEvidence.from_fact(name, fact, sorted(named.get(name, []))) for name, fact in sorted(facts.items())]


def build_matrix(
    settings: PackSettings,
    stacks: list[str],
    known: Mapping[str, StackEvidence],
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[MatrixRow], dict[str, StackEvidence]]:
    """A matrix row per stack. A stack that cannot be planned or gated becomes an error row — the matrix
    still shows it, so a broken stack cannot silently drop out of the evidence."""
    rows: list[MatrixRow] = []
    built: dict[str, StackEvidence] = dict(known)
    for stack in stacks:
        if stack not in built:
            try:
                built[stack] = build_stack(settings, stack)
            except PhistackError as err:
                progress(f"warning: stack {stack} could not be evaluated: {err.diagnostic()}")
                rows.append(MatrixRow(stack=stack, error=err.diagnostic()))
                continue
            progress(f"{stack}: {built[stack].decision.verdict}")
        rows.append(built[stack].row())
    return rows, built


def check_target(target: Path) -> None:
    """Refuse a target that is a file, under a file or read-only, or a non-empty directory that is not a pack."""
    target = Path(os.path.abspath(target))
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{target}: cannot write the evidence pack: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"{target}: cannot write the evidence pack: {ancestor} is not writable")
    if target.exists() and not target.is_dir():
        raise InputError(f"{target}: cannot write the evidence pack: it exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise InputError(
            f"{target}: cannot write the evidence pack: the directory is not empty and holds no earlier pack"
        )


def write_pack(target: Path, files: Mapping[str, str | bytes], version: str) -> None:
    """Write ``files`` (relative path → content) as the directory ``target``, all or nothing.

    Everything goes into a temporary directory beside ``target`` and is renamed into place at the end,
    so a failure leaves no partial pack; an earlier pack at ``target`` is replaced only once the new one
    is complete. ``SHA256SUMS`` lists every file so an auditor can check the pack is unaltered.
    """
    target = Path(os.path.abspath(target))
    check_target(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    except OSError as err:
        raise InputError(f"{target}: cannot write the evidence pack: {err.strerror or err}") from err
    try:
        sums = []
        for name, content in sorted(files.items()):
            data = content.encode("utf-8") if isinstance(content, str) else content
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
        (staging / "SHA256SUMS").write_text("".join(sums), encoding="utf-8")
        (staging / MARKER).write_text(f"phistack {version}\n", encoding="utf-8")
        staging.chmod(0o755)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.replace(target, old / "pack")
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except OSError as err:
        raise InputError(f"{target}: cannot write the evidence pack: {err.strerror or err}") from err
    finally:
        with contextlib.suppress(FileNotFoundError):
            if staging.exists():
                shutil.rmtree(staging)
