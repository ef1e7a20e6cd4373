"""A stand-in for the Pulumi CLI, for tests only: it replays fixture outputs and logs every invocation.

The real CLI cannot be installed where the tests run, so ``phistack preview`` / ``phistack up`` are tested
against this program, put first on PATH as ``pulumi`` by :func:`install_standin`. It answers exactly the
subcommands that ``pulumi.automation`` 3.272 runs (see ``phistack/deploy/automation.py``), in the documented
output formats:

- ``version``; ``login``; ``whoami``; ``config set-all`` (accepted, no effect);
- ``stack select --stack S`` / ``stack init S`` against a ``file://`` backend (``PULUMI_BACKEND_URL``): the
  stack's checkpoint lives in ``<backend>/.pulumi/stacks/<project>/<stack>.json`` as with the real CLI;
- ``preview [--json] [--event-log LOG]``: prints ``<fixtures>/<stack>/preview.json`` (the shape of
  ``pulumi preview --json``) and sends engine events (prelude, resourcePre per step, summary, cancel) to LOG,
  a ``tcp://`` gRPC ``pulumirpc.Events`` server or a file of JSON lines;
- ``up --yes [--skip-preview] [--event-log LOG]``: prints the update display, writes the previewed
  resources as the stack's deployment and appends to its history;
- ``stack output --json [--show-secrets]``, ``stack history --json``, ``stack export``.

Anything else fails with exit 2 and says the stand-in does not implement it, so a test notices when
phistack starts calling something new. Environment:

- ``PULUMI_STANDIN_FIXTURES``: directory of ``<stack>/preview.json`` fixtures (required for preview/up);
- ``PULUMI_STANDIN_LOG``: append one JSON line per invocation (argv, cwd, backend, passphrase present);
- ``PULUMI_STANDIN_VERSION``: the version to report (default 3.272.0; 3.205.0 or older selects the
  file-based event log in the Automation API);
- ``PULUMI_STANDIN_FAIL``: comma-separated subcommands to fail (e.g. ``up``), as a failing update would.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import sys
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

DEFAULT_VERSION = "3.272.0"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SIG_KEY = "4dabf18193072939515e22adb298388d"
_HISTORY_TIME = "%Y-%m-%dT%H:%M:%S.000Z"  # `pulumi stack history --json` times, as the Automation API parses them

# Flags that take a value (everything else starting with "-" is a switch).
_VALUE_FLAGS = {
    "--color",
    "--cwd",
    "-C",
    "--stack",
    "-s",
    "--event-log",
    "--exec-kind",
    "--policy-pack",
    "--policy-pack-config",
    "--page-size",
    "--page",
    "--secrets-provider",
    "--message",
    "-m",
    "--parallel",
    "-p",
    "--target",
    "--replace",
    "--exclude",
    "--config-file",
    "--client",
    "--tracing",
    "--verbose",
    "-v",
    "--save-plan",
    "--plan",
    "--import-file",
    "--json-file",
}


class StandinError(Exception):
    """A failure the stand-in reports the way the CLI does: ``error: ...`` on stderr, exit 255."""

    def __init__(self, message: str, code: int = 255) -> None:
        super().__init__(message)
        self.code = code


def _fail(message: str, code: int = 255) -> NoReturn:
    raise StandinError(message, code)


class Args:
    """The command line split into positionals, flag values (repeatable) and switches."""

    def __init__(self, argv: list[str]) -> None:
        self.positionals: list[str] = []
        self.values: dict[str, list[str]] = {}
        self.switches: set[str] = set()
        tokens = iter(argv)
        for token in tokens:
            if token == "--":
                self.positionals.extend(tokens)
                break
            if token.startswith("-") and token != "-":
                name, has_value, value = token.partition("=")
                if has_value:
                    self.values.setdefault(name, []).append(value)
                elif name in _VALUE_FLAGS:
                    self.values.setdefault(name, []).append(next(tokens, ""))
                else:
                    self.switches.add(name)
            else:
                self.positionals.append(token)

    def value(self, *names: str) -> str | None:
        for name in names:
            if self.values.get(name):
                return self.values[name][-1]
        return None

    def has(self, name: str) -> bool:
        return name in self.switches or self.values.get(name, ["false"])[-1] not in ("false", "0")


def _log(argv: list[str]) -> None:
    path = os.environ.get("PULUMI_STANDIN_LOG")
    if not path:
        return
    entry = {
        "argv": argv,
        "cwd": os.getcwd(),
        "backend": os.environ.get("PULUMI_BACKEND_URL"),
        "passphrase": "PULUMI_CONFIG_PASSPHRASE" in os.environ or "PULUMI_CONFIG_PASSPHRASE_FILE" in os.environ,
        "automation_api": os.environ.get("PULUMI_AUTOMATION_API") == "true",
    }
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# --- backend -------------------------------------------------------------------------------------------


def _project_name() -> str:
    manifest = Path.cwd() / "Pulumi.yaml"
    if not manifest.is_file():
        _fail(f"no Pulumi.yaml project file found (searching upwards from {Path.cwd()})")
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.startswith("name:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    _fail(f"{manifest}: project is missing a 'name' attribute")


def _backend_root() -> Path:
    url = os.environ.get("PULUMI_BACKEND_URL")
    if not url:
        _fail("PULUMI_BACKEND_URL is not set: the stand-in only supports explicit file:// backends")
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != "file":
        _fail(f"the stand-in only supports file:// backends, not {url!r}")
    root = Path(urllib.parse.unquote(parsed.path))
    if not root.is_dir():
        _fail(f"could not log in to the file backend: {root} does not exist")
    return root


def _stack_file(stack: str) -> Path:
    return _backend_root() / ".pulumi" / "stacks" / _project_name() / f"{stack}.json"


def _history_file(stack: str) -> Path:
    return _backend_root() / ".pulumi" / "history" / _project_name() / stack / "standin-history.json"


def _stack_name(args: Args, position: int | None = None) -> str:
    name = args.value("--stack", "-s")
    if name is None and position is not None and len(args.positionals) > position:
        name = args.positionals[position]
    if not name:
        _fail("no stack selected; please use `pulumi stack select` to choose one")
    return name.split("/")[-1]


def _load_checkpoint(stack: str) -> dict[str, Any]:
    path = _stack_file(stack)
    if not path.is_file():
        _fail(f"no stack named '{stack}' found")
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _save_checkpoint(stack: str, checkpoint: dict[str, Any]) -> None:
    path = _stack_file(stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(checkpoint, indent=4) + "\n", encoding="utf-8")


def _require_passphrase() -> None:
    if "PULUMI_CONFIG_PASSPHRASE" not in os.environ and "PULUMI_CONFIG_PASSPHRASE_FILE" not in os.environ:
        _fail(
            'constructing secrets manager of type "passphrase": unable to find either `PULUMI_CONFIG_PASSPHRASE` '
            "or `PULUMI_CONFIG_PASSPHRASE_FILE` when trying to access the Passphrase Secrets Provider"
        )


# --- fixtures and events -------------------------------------------------------------------------------


def _preview_fixture(stack: str) -> dict[str, Any]:
    root = os.environ.get("PULUMI_STANDIN_FIXTURES")
    if not root:
        _fail("PULUMI_STANDIN_FIXTURES is not set", code=2)
    path = Path(root) / stack / "preview.json"
    if not path.is_file():
        _fail(f"the stand-in has no preview fixture for stack {stack!r} ({path})", code=2)
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _events(doc: dict[str, Any], *, planning: bool) -> list[dict[str, Any]]:
    """Engine events in the shape of ``--event-log``: prelude, one resourcePre per step, summary, cancel."""
    stamp = int(time.time())
    bodies: list[dict[str, Any]] = [{"preludeEvent": {"config": doc.get("config", {})}}]
    for step in doc.get("steps", []):
        state = step.get("newState") or step.get("oldState") or {}
        metadata = {
            "op": step["op"],
            "urn": step["urn"],
            "type": state.get("type", ""),
            "provider": step.get("provider", ""),
            "new": step.get("newState"),
            "old": step.get("oldState"),
        }
        bodies.append({"resourcePreEvent": {"metadata": metadata, "planning": planning}})
    bodies.append(
        {
            "summaryEvent": {
                "maybeCorrupt": False,
                "durationSeconds": 1,
                "resourceChanges": doc.get("changeSummary", {}),
                "PolicyPacks": {},
            }
        }
    )
    bodies.append({"cancelEvent": {}})
    return [{"sequence": index, "timestamp": stamp, **body} for index, body in enumerate(bodies)]


def _encode_event_request(event: str) -> bytes:
    """``pulumirpc.EventRequest{string event = 1}`` in protobuf wire format (no generated code needed)."""
    data = event.encode("utf-8")
    length, prefix = len(data), bytearray([0x0A])
    while True:
        byte = length & 0x7F
        length >>= 7
        prefix.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes(prefix) + data


def _send_events(target: str | None, events: Iterable[dict[str, Any]]) -> None:
    if not target:
        return
    lines = [json.dumps(event) for event in events]
    if target.startswith("tcp://"):
        import grpc  # only the gRPC event log needs it

        with grpc.insecure_channel(target[len("tcp://") :]) as channel:
            stream = channel.stream_unary(
                "/pulumirpc.Events/StreamEvents",
                request_serializer=_encode_event_request,
                response_deserializer=bytes,  # google.protobuf.Empty: nothing to decode
            )
            stream(iter(lines), timeout=30)
        return
    with open(target, "a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + "\n")


# --- display -------------------------------------------------------------------------------------------

_SYMBOLS = {"create": "+", "update": "~", "delete": "-", "replace": "+-", "same": " "}
_PAST = {"create": "created", "update": "updated", "delete": "deleted", "replace": "replaced", "same": ""}


def _display_rows(doc: dict[str, Any], past: bool) -> Iterator[str]:
    yield f"     {'Type':<40} {'Name':<14} {'Status' if past else 'Plan'}"
    for step in doc.get("steps", []):
        state = step.get("newState") or step.get("oldState") or {}
        name = step["urn"].split("::")[-1]
        op = step["op"]
        yield f" {_SYMBOLS.get(op, '?'):<3} {state.get('type', ''):<40} {name:<14} {_PAST.get(op, op) if past else op}"


def _summary_lines(doc: dict[str, Any], past: bool) -> Iterator[str]:
    yield "Resources:"
    for op, count in sorted(doc.get("changeSummary", {}).items()):
        verb = _PAST.get(op, op) if past else f"to {op}"
        yield f"    {_SYMBOLS.get(op, '?')} {count} {verb}"


def _mask(value: Any, show_secrets: bool) -> Any:
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return value.get("plaintext", "<secret>") if show_secrets else "[secret]"
        return {key: _mask(item, show_secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, show_secrets) for item in value]
    return value


# --- commands ------------------------------------------------------------------------------------------


def cmd_version(args: Args) -> None:
    print(f"v{os.environ.get('PULUMI_STANDIN_VERSION', DEFAULT_VERSION)}")


def cmd_login(args: Args) -> None:
    url = args.positionals[1] if len(args.positionals) > 1 else os.environ.get("PULUMI_BACKEND_URL", "")
    print(f"Logged in to standin as standin ({url})")


def cmd_whoami(args: Args) -> None:
    print("standin")


def cmd_config_set_all(args: Args) -> None:
    _load_checkpoint(_stack_name(args))


def cmd_stack_select(args: Args) -> None:
    _load_checkpoint(_stack_name(args, position=2))


def cmd_stack_init(args: Args) -> None:
    stack = _stack_name(args, position=2)
    if _stack_file(stack).is_file():
        _fail(f"stack '{stack}' already exists")
    _require_passphrase()
    _save_checkpoint(stack, {"version": 3, "checkpoint": {"stack": stack, "latest": None}})
    print(f"Created stack '{stack}'")


def _latest_resources(stack: str) -> list[dict[str, Any]]:
    latest = _load_checkpoint(stack)["checkpoint"].get("latest") or {}
    resources: list[dict[str, Any]] = latest.get("resources") or []
    return resources


def cmd_stack_output(args: Args) -> None:
    stack = _stack_name(args)
    outputs: dict[str, Any] = {}
    for resource in _latest_resources(stack):
        if resource.get("type") == "pulumi:pulumi:Stack":
            outputs = resource.get("outputs") or {}
    print(json.dumps(_mask(outputs, args.has("--show-secrets")), indent=4))


def cmd_stack_history(args: Args) -> None:
    stack = _stack_name(args)
    _load_checkpoint(stack)
    path = _history_file(stack)
    history = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    history.reverse()  # newest first, as the CLI lists it
    size = args.value("--page-size")
    if size:
        page = int(args.value("--page") or "1")
        history = history[(page - 1) * int(size) : page * int(size)]
    print(json.dumps(history, indent=4))


def cmd_stack_export(args: Args) -> None:
    stack = _stack_name(args)
    latest = _load_checkpoint(stack)["checkpoint"].get("latest") or {"manifest": {}, "resources": []}
    print(json.dumps({"version": 3, "deployment": latest}, indent=4))


def cmd_preview(args: Args) -> None:
    stack = _stack_name(args)
    _load_checkpoint(stack)
    _require_passphrase()
    doc = _preview_fixture(stack)
    if args.has("--json"):
        print(json.dumps(doc, indent=4))
    else:
        print(f"Previewing update ({stack}):")
        print("\n".join(_display_rows(doc, past=False)))
        print()
        print("\n".join(_summary_lines(doc, past=False)))
    _send_events(args.value("--event-log"), _events(doc, planning=True))


def _append_history(stack: str, entry: dict[str, Any]) -> int:
    path = _history_file(stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    history = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    entry["version"] = len(history) + 1
    history.append(entry)
    path.write_text(json.dumps(history, indent=4) + "\n", encoding="utf-8")
    return int(entry["version"])


def cmd_up(args: Args) -> None:
    stack = _stack_name(args)
    checkpoint = _load_checkpoint(stack)
    if not (args.has("--yes") or args.has("-y") or args.has("--skip-preview")):
        _fail("--yes or --skip-preview must be passed in to proceed when running in non-interactive mode")
    _require_passphrase()
    doc = _preview_fixture(stack)
    started = _now()
    print(f"Updating ({stack}):")
    print("\n".join(_display_rows(doc, past=True)))
    config = {key: {"value": value, "secret": value == "[secret]"} for key, value in doc.get("config", {}).items()}
    history = {
        "kind": "update",
        "startTime": started.strftime(_HISTORY_TIME),
        "message": "",
        "environment": {"exec.kind": args.value("--exec-kind") or "cli"},
        "config": config,
    }
    if "up" in os.environ.get("PULUMI_STANDIN_FAIL", "").split(","):
        history.update(result="failed", endTime=_now().strftime(_HISTORY_TIME), resourceChanges={})
        _append_history(stack, history)
        _send_events(args.value("--event-log"), _events({"config": doc.get("config", {})}, planning=False))
        _fail("update failed (the stand-in was told to fail `up`)")
    resources = []
    for step in doc.get("steps", []):
        state = step.get("newState")
        if step["op"] in ("delete", "delete-replaced", "discard") or not state:
            continue
        resource = {**state, "outputs": state.get("outputs") or state.get("inputs") or {}}
        if resource.get("custom"):
            resource["id"] = f"{step['urn'].split('::')[-1]}-standin-id"
        resources.append(resource)
    checkpoint["checkpoint"]["latest"] = {
        "manifest": {"time": started.isoformat(), "magic": "standin", "version": f"v{DEFAULT_VERSION}"},
        "resources": resources,
    }
    _save_checkpoint(stack, checkpoint)
    history.update(
        result="succeeded", endTime=_now().strftime(_HISTORY_TIME), resourceChanges=doc.get("changeSummary", {})
    )
    _append_history(stack, history)
    outputs: dict[str, Any] = next((r["outputs"] for r in resources if r.get("type") == "pulumi:pulumi:Stack"), {})
    if outputs:
        print("\nOutputs:")
        for key, value in sorted(outputs.items()):
            print(f"    {key}: {json.dumps(_mask(value, False))}")
    print()
    print("\n".join(_summary_lines(doc, past=True)))
    print("\nDuration: 1s")
    _send_events(args.value("--event-log"), _events(doc, planning=False))


_COMMANDS = {
    ("version",): cmd_version,
    ("login",): cmd_login,
    ("whoami",): cmd_whoami,
    ("config", "set-all"): cmd_config_set_all,
    ("stack", "select"): cmd_stack_select,
    ("stack", "init"): cmd_stack_init,
    ("stack", "output"): cmd_stack_output,
    ("stack", "history"): cmd_stack_history,
    ("stack", "export"): cmd_stack_export,
    ("preview",): cmd_preview,
    ("up",): cmd_up,
}


def main(argv: list[str]) -> int:
    _log(argv)
    args = Args(argv)
    cwd = args.value("--cwd", "-C")
    if cwd:
        os.chdir(cwd)
    for words, handler in sorted(_COMMANDS.items(), key=lambda item: -len(item[0])):
        if tuple(args.positionals[: len(words)]) == words:
            try:
                handler(args)
            except StandinError as err:
                print(f"error: {err}", file=sys.stderr)
                return err.code
            return 0
    print(f"error: the pulumi stand-in does not implement `pulumi {' '.join(argv)}`", file=sys.stderr)
    return 2


def install_standin(bin_dir: Path) -> Path:
    """Write an executable ``pulumi`` launcher for this stand-in into ``bin_dir``; return its path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    launcher = bin_dir / "pulumi"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n', encoding="utf-8")
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return launcher


def read_log(path: Path) -> list[list[str]]:
    """The argv of every logged invocation, in order."""
    if not path.is_file():
        return []
    return [json.loads(line)["argv"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
