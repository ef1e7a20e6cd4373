"""Plans from the Pulumi CLI's own documents: ``pulumi preview --json`` and ``pulumi stack export``.

preview: ``{"config": {...}, "steps": [{"op", "urn", "newState": {...}}], "changeSummary": {...}}`` —
the resources a deployment would leave behind are the ``newState`` of every step that does not
delete. export: ``{"version": 3, "deployment": {"resources": [...]}}``. Both carry resources as
``{urn, custom, type, inputs, parent, provider, dependencies, propertyDependencies}``, with unknowns
as Pulumi's UNKNOWN sentinel and secrets as signed maps; :mod:`phistack.plan.values` normalises them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from phistack.errors import InputError
from phistack.plan.document import PLAN_SCHEMA_VERSION, finalize_plan, read_json_file
from phistack.plan.values import normalize
from phistack.plan.view import Plan

# Step operations whose resource is gone after the deployment.
_REMOVING_OPS = {"delete", "delete-replaced", "discard", "discard-replaced", "remove-pending-replace"}


def _split_urn(urn: str, origin: str) -> tuple[str, str, str]:
    """``urn:pulumi:<stack>::<project>::<type chain>::<name>`` → (stack, project, name)."""
    if not isinstance(urn, str) or not urn.startswith("urn:pulumi:"):
        raise InputError(f"{origin}: not a Pulumi URN: {urn!r}")
    parts = urn[len("urn:pulumi:") :].split("::")
    if len(parts) < 4:
        raise InputError(f"{origin}: malformed URN: {urn!r}")
    return parts[0], parts[1], "::".join(parts[3:])


def _resource(state: Any, origin: str) -> dict[str, Any]:
    if not isinstance(state, dict) or "urn" not in state or "type" not in state:
        raise InputError(f"{origin}: expected a resource state with urn and type")
    _, _, name = _split_urn(state["urn"], origin)
    unknowns: list[str] = []
    inputs = normalize(state.get("inputs") or {}, "", unknowns)
    deps = state.get("propertyDependencies") or {}
    if not isinstance(deps, dict):
        raise InputError(f"{origin}.propertyDependencies: expected an object")
    return {
        "urn": state["urn"],
        "type": state["type"],
        "name": name,
        "custom": bool(state.get("custom", False)),
        "parent": state.get("parent") or None,
        "provider": state.get("provider") or None,
        "dependencies": list(state.get("dependencies") or []),
        "property_dependencies": {key: list(urns or []) for key, urns in deps.items()},
        "inputs": inputs if isinstance(inputs, dict) else {},
        "unknowns": unknowns,
    }


def _document(source: str, resources: list[dict[str, Any]], spec: Any, origin: str) -> Plan:
    if not resources:
        raise InputError(f"{origin}: no resources found")
    stack, project, _ = _split_urn(resources[0]["urn"], origin)
    return finalize_plan(
        {
            "schema_version": PLAN_SCHEMA_VERSION,
            "source": source,
            "project": project,
            "stack": stack,
            "spec": spec,
            "resources": resources,
        }
    )


def _stack_spec(resources: list[dict[str, Any]], outputs: dict[str, Any] | None) -> Any:
    if outputs and isinstance(outputs.get("spec"), dict):
        return normalize(outputs["spec"])
    return None


def plan_from_preview(path: Path) -> Plan:
    """Build the plan from the output of ``pulumi preview --json``."""
    doc = read_json_file(path, "preview JSON")
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), list):
        raise InputError(f"{path}: not a `pulumi preview --json` document (no steps list)")
    resources = []
    stack_outputs: dict[str, Any] | None = None
    for index, step in enumerate(doc["steps"]):
        origin = f"{path}: steps[{index}]"
        if not isinstance(step, dict) or "op" not in step:
            raise InputError(f"{origin}: expected a step with an op")
        if step["op"] in _REMOVING_OPS:
            continue
        state = step.get("newState")
        if state is None:
            raise InputError(f"{origin}.newState: missing for op {step['op']!r}")
        resources.append(_resource(state, f"{origin}.newState"))
        if state.get("type") == "pulumi:pulumi:Stack":
            stack_outputs = state.get("outputs")
    spec = _stack_spec(resources, stack_outputs)
    if spec is None and isinstance(doc.get("config"), dict):
        spec = {"config": normalize(doc["config"])}
    return _document("preview", resources, spec, str(path))


def plan_from_state(path: Path) -> Plan:
    """Build the plan from the output of ``pulumi stack export``."""
    doc = read_json_file(path, "stack export")
    deployment = doc.get("deployment") if isinstance(doc, dict) else None
    if not isinstance(deployment, dict) or not isinstance(deployment.get("resources"), list):
        raise InputError(f"{path}: not a `pulumi stack export` document (no deployment.resources)")
    if doc.get("version") not in (3,):
        raise InputError(f"{path}: version: unsupported stack export version {doc.get('version')!r} (expected 3)")
    resources = []
    stack_outputs: dict[str, Any] | None = None
    for index, state in enumerate(deployment["resources"]):
        origin = f"{path}: deployment.resources[{index}]"
        if isinstance(state, dict) and state.get("delete"):
            continue  # marked for deletion: not part of the stack any more
        resource = _resource(state, origin)
        resources.append(resource)
        if resource["type"] == "pulumi:pulumi:Stack":
            stack_outputs = state.get("outputs")
    return _document("state", resources, _stack_spec(resources, stack_outputs), str(path))
