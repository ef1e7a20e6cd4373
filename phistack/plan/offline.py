"""Offline planning: run the Pulumi program under the SDK's mock monitor and record what it declares.

No Pulumi CLI, no cloud credentials. The stack config is read from ``Pulumi.<stack>.yaml`` in the
project's ``stackConfigDir``; secure (encrypted) config values cannot be decrypted offline, so the
program sees a placeholder and the plan a secret marker. Every ``RegisterResource`` request is
recorded as the engine would see it: type, name, parent, provider, dependencies, property
dependencies and the serialized inputs, unknowns included.
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from phistack.errors import InputError, PhistackError
from phistack.plan.document import PLAN_SCHEMA_VERSION, finalize_plan
from phistack.plan.values import SECRET, normalize
from runtime.configfile import load_yaml

SECRET_PLACEHOLDER = "phistack-offline-secret-placeholder"
_STACK_TYPE = "pulumi:pulumi:Stack"
_ROOT_SENTINEL: Any = object()


@dataclass(frozen=True)
class Project:
    """A Pulumi project on disk: its name, program directory and stack config directory."""

    root: Path
    name: str
    main: Path
    config_dir: Path

    def stack_file(self, stack: str) -> Path:
        return self.config_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.config_dir.glob("Pulumi.*.yaml"))


def load_project(root: Path) -> Project:
    """Read ``Pulumi.yaml`` (name, main, stackConfigDir) from ``root``."""
    manifest = root / "Pulumi.yaml"
    if not manifest.is_file():
        raise InputError(f"{manifest}: no Pulumi project here (Pulumi.yaml not found)")
    doc = load_yaml(manifest, "the project file")
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise InputError(f"{manifest}: name: a project name is required")
    main = root / str(doc.get("main") or ".")
    config_dir = root / str(doc.get("stackConfigDir") or ".")
    return Project(root=root, name=doc["name"], main=main, config_dir=config_dir)


def read_stack_config(project: Project, stack: str) -> tuple[dict[str, str], list[str], dict[str, Any]]:
    """Return (config for the SDK, secret keys, the config as declared with secrets redacted)."""
    path = project.stack_file(stack)
    if not os.path.lexists(path):  # anything else there (a directory, a link loop) is for the reader to name
        known = ", ".join(project.stacks()) or "none"
        raise InputError(f"unknown stack {stack!r}: {path} not found (stacks: {known})")
    doc = load_yaml(path, "stack config") or {}
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    raw = doc.get("config") or {}
    if not isinstance(raw, dict):
        raise InputError(f"{path}: config: expected a mapping")
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    declared: dict[str, Any] = {}
    for key, value in raw.items():
        full_key = str(key) if ":" in str(key) else f"{project.name}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[full_key] = SECRET_PLACEHOLDER
            secret_keys.append(full_key)
            declared[full_key] = dict(SECRET)
            continue
        config[full_key] = value if isinstance(value, str) else json.dumps(value)
        declared[full_key] = value
    return config, secret_keys, declared


@dataclass
class _Recorder:
    """What the mock monitor saw, in registration order."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    stack_outputs: dict[str, Any] = field(default_factory=dict)
    stack_urn: str = ""


def _make_monitor(recorder: _Recorder) -> Any:
    from pulumi.runtime.mocks import MockMonitor, Mocks

    class _EchoMocks(Mocks):
        """Every resource's outputs echo its inputs; ids are derived from names (deterministic)."""

        def new_resource(self, args: Any) -> tuple[str | None, dict[str, Any]]:
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
            return {}, None

    class _RecordingMonitor(MockMonitor):
        def RegisterResource(self, request: Any) -> Any:
            urn = self.make_urn(request.parent, request.type, request.name)
            if request.type == _STACK_TYPE:
                recorder.stack_urn = urn
            recorder.resources.append(
                {
                    "urn": urn,
                    "type": request.type,
                    "name": request.name,
                    "custom": bool(request.custom),
                    "parent": request.parent or None,
                    "provider": request.provider or None,
                    "dependencies": list(request.dependencies),
                    "property_dependencies": {
                        key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                    },
                    "raw_inputs": json_format.MessageToDict(request.object),
                }
            )
            return super().RegisterResource(request)

        def RegisterResourceOutputs(self, request: Any) -> Any:
            if request.urn == recorder.stack_urn:
                recorder.stack_outputs = json_format.MessageToDict(request.outputs)
            return super().RegisterResourceOutputs(request)

    return _RecordingMonitor(_EchoMocks())


@contextlib.contextmanager
def _program_environment(project: Project) -> Iterator[None]:
    """Put the project root and program directory on sys.path, as the Pulumi language host does."""
    added = [str(project.root), str(project.main)]
    saved_path = list(sys.path)
    sys.path[:0] = added
    try:
        yield
    finally:
        sys.path[:] = saved_path


def _run_main(program: Path) -> None:
    runpy.run_path(str(program), run_name="__main__")


def run_program(project: Project, stack: str) -> _Recorder:
    """Run the project's program for ``stack`` under the mock monitor; return what it registered."""
    import pulumi
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_in_stack
    from pulumi.runtime.sync_await import _sync_await

    config, secret_keys, _ = read_stack_config(project, stack)
    program = project.main / "__main__.py"
    if not program.is_file():
        raise InputError(f"{program}: Pulumi program not found")
    recorder = _Recorder()
    monitor = _make_monitor(recorder)
    # set_mocks registers a root stack of its own (for unit tests); make it look set so it doesn't,
    # and let run_in_stack create the one root, as `pulumi up` does.
    settings.ROOT.set(_ROOT_SENTINEL)
    pulumi.runtime.set_mocks(monitor.mocks, project=project.name, stack=stack, preview=True, monitor=monitor)
    settings.ROOT.set(None)
    pulumi.runtime.set_all_config(config, secret_keys)
    with _program_environment(project):
        try:
            _sync_await(run_in_stack(lambda: _run_main(program)))
        except PhistackError:
            raise
        except Exception as err:  # the user's program failed: say where, not a traceback
            raise InputError(f"{program}: stack {stack!r} failed: {type(err).__name__}: {err}") from err
        finally:
            settings.ROOT.set(None)
    return recorder


def plan_stack(project_root: Path, stack: str) -> dict[str, Any]:
    """Plan ``stack`` offline and return the validated ``phistack.plan/v1`` document."""
    project = load_project(project_root)
    _, _, declared = read_stack_config(project, stack)
    recorder = run_program(project, stack)
    resources = []
    for entry in recorder.resources:
        unknowns: list[str] = []
        inputs = normalize(entry.pop("raw_inputs"), "", unknowns)
        resources.append({**entry, "inputs": inputs, "unknowns": unknowns})
    spec_output = recorder.stack_outputs.get("spec")
    spec = normalize(spec_output) if isinstance(spec_output, dict) else {"config": declared}
    document = {
        "schema_version": PLAN_SCHEMA_VERSION,
        "source": "mock",
        "project": project.name,
        "stack": stack,
        "spec": spec,
        "resources": resources,
    }
    return finalize_plan(document)
