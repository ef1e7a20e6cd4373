"""Offline planning: run the Pulumi program under the SDK's mock monitor and record what it declares.

No Pulumi CLI, no cloud credentials. The stack config is read from ``Pulumi.<stack>.yaml`` in the
project's ``stackConfigDir``; secure (encrypted) config values cannot be decrypted offline, so the
program sees a placeholder and the plan a secret marker. Every ``RegisterResource`` request is
recorded as the engine would see it: type, name, parent, provider, dependencies, property
dependencies and the serialized inputs, unknowns included.
"""

from __future__ import annotations

import contextlib
import gc
import json
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
from phistack.plan.view import Plan
from phistack.stackconfig import StackSettings, read_stack_settings, stack_file, stack_names, stack_path
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
        """Where the settings file of ``stack`` is, whether or not it exists."""
        return stack_path(self.config_dir, stack)

    def stacks(self) -> list[str]:
        """The project's stacks, sorted."""
        return stack_names(self.config_dir)


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


@dataclass(frozen=True)
class StackConfig:
    """A stack's config as the planner needs it, read once from ``Pulumi.<stack>.yaml``."""

    values: dict[str, str]
    """Every key in full (``project:key``), as the SDK takes it: text, structured values as JSON."""
    secret_keys: list[str]
    """The keys configured as secrets (their values are placeholders offline)."""
    declared: dict[str, Any]
    """The config as declared, secrets redacted: the plan's spec when the program exports none."""


def read_stack_config(project: Project, stack: str, settings: StackSettings | None = None) -> StackConfig:
    """``stack``'s config, from its settings file as already read or read here; an unknown stack or a malformed
    file is an :class:`InputError`."""
    raw = (settings or read_stack_settings(stack_file(project.config_dir, stack))).config
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
    return StackConfig(config, secret_keys, declared)


@dataclass
class _Recorder:
    """What the mock monitor saw, in registration order."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    stack_outputs: dict[str, Any] = field(default_factory=dict)
    stack_urn: str = ""


def _make_monitor(recorder: _Recorder) -> Any:
    from pulumi.runtime.mocks import MockMonitor, Mocks

    from phistack.plan.mock_outputs import mock_call, mock_resource

    class _EchoMocks(Mocks):
        """Cloud resources get the outputs their API computes; others echo their inputs (ids from names)."""

        def new_resource(self, args: Any) -> tuple[str | None, dict[str, Any]]:
            return mock_resource(args.typ, args.name, dict(args.inputs))

        def call(self, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
            return mock_call(args.token, dict(args.args)), []

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


async def _run_to_completion(program: Path) -> None:
    """Run ``program``, then wait until every output and RPC it started has finished, each task watched once.

    The SDK's own wait after a program (``stack.wait_for_rpcs``) calls ``asyncio.wait(..., FIRST_COMPLETED)`` over
    every pending output again after each completion: a done-callback per pending output per round, so its cost
    grows with outputs × rounds, faster than the stack. Waiting here for all of them at once (and again
    for any their completion started) costs one callback per task and leaves the SDK's wait nothing to do. At the
    first failure this returns, and the SDK's wait reports it as it always has.
    """
    import asyncio

    from pulumi.runtime.settings import SETTINGS, _get_rpc_manager

    _run_main(program)
    rpc_manager = _get_rpc_manager()
    while True:
        with SETTINGS.lock:
            pending = [output for output in SETTINGS.outputs if not output.done()]
        pending += [rpc for rpc in rpc_manager.rpcs if isinstance(rpc, asyncio.Future) and not rpc.done()]
        if not pending:
            return
        done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
        if any(not task.cancelled() and task.exception() is not None for task in done):
            return


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the program runs, and resume it as it was afterwards.

    The outputs, futures and tasks of every resource stay in use until the program ends, and the heap grows with
    them, so the collector keeps rescanning all of them in full collections that free little: over a quarter of
    the planning time of a 1,000-workload stack. The first collection after the run frees what it left behind.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_program(project: Project, stack: str, config: StackConfig | None = None) -> _Recorder:
    """Run the project's program for ``stack`` (with ``config``, read from its file when not given) under the
    mock monitor; return what it registered."""
    import pulumi
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_in_stack
    from pulumi.runtime.sync_await import _sync_await

    if config is None:
        config = read_stack_config(project, stack)
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
    pulumi.runtime.set_all_config(config.values, config.secret_keys)
    # The SDK tracks outputs and RPCs in process-wide settings that set_mocks does not reset; a failed output of
    # an earlier plan in this process would fail this one. Start empty, as the SDK's own mocks.test does.
    with settings.SETTINGS.lock:
        settings.SETTINGS.outputs.clear()
    settings._get_rpc_manager().clear()
    with _program_environment(project), _collector_paused():
        try:
            _sync_await(run_in_stack(lambda: _run_to_completion(program)))
        except PhistackError:
            raise
        except Exception as err:  # the user's program failed: say where, not a traceback
            raise InputError(f"{program}: stack {stack!r} failed: {type(err).__name__}: {err}") from err
        finally:
            settings.ROOT.set(None)
    return recorder


def plan_stack(project: Path | Project, stack: str) -> Plan:
    """Plan ``stack`` of ``project`` (a loaded one, or its root) offline and return the validated
    ``phistack.plan/v1`` document. The project file and the stack's config are each read once."""
    if not isinstance(project, Project):
        project = load_project(project)
    config = read_stack_config(project, stack)
    recorder = run_program(project, stack, config)
    resources = []
    for entry in recorder.resources:
        unknowns: list[str] = []
        inputs = normalize(entry.pop("raw_inputs"), "", unknowns)
        resources.append({**entry, "inputs": inputs, "unknowns": unknowns})
    spec_output = recorder.stack_outputs.get("spec")
    spec = normalize(spec_output) if isinstance(spec_output, dict) else {"config": config.declared}
    document = {
        "schema_version": PLAN_SCHEMA_VERSION,
        "source": "mock",
        "project": project.name,
        "stack": stack,
        "spec": spec,
        "resources": resources,
    }
    return finalize_plan(document)
