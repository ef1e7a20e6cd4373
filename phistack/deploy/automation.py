"""The Pulumi Automation API, narrowed to what gated deployment needs: select a stack, preview, update.

What ``pulumi.automation`` 3.272 runs (``_local_workspace.py``, ``_stack.py``, ``_cmd.py``); every call but
``version`` is prefixed with ``--non-interactive`` and gets ``PULUMI_AUTOMATION_API=true``:

- ``pulumi version`` (the workspace checks the CLI is at least 3.1.0);
- ``stack select --stack S``, and on "no stack named ... found" ``stack init S``;
- ``preview [--policy-pack DIR] --exec-kind auto.local --json --event-log LOG --stack S``: LOG is
  ``tcp://127.0.0.1:PORT`` (a gRPC ``pulumirpc.Events`` server) for CLIs newer than 3.205, else a file of
  JSON lines; the API fails unless the engine sends a ``summaryEvent``;
- ``up --yes --skip-preview [--policy-pack DIR] --color never --exec-kind auto.local --stack S``, then
  ``stack output --json``, ``stack output --json --show-secrets`` and
  ``stack history --json --show-secrets --page-size 1 --page 1`` for the result.

Project settings are read from the project's own ``Pulumi.yaml``; they are not passed to the workspace,
because ``LocalWorkspace(project_settings=...)`` rewrites ``Pulumi.yaml`` (losing comments and layout).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation as auto
from pulumi.automation import errors as auto_errors

from phistack.deploy.pulumi_cli import DeployError


def _error_line(err: BaseException) -> str:
    """The most useful single line of a failed CLI call: its last ``error:`` line, else its last line."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line.lower()]
    chosen = (errors or lines or [type(err).__name__])[-1]
    for prefix in ("stderr:", "stdout:"):
        chosen = chosen.removeprefix(prefix).strip()
    return chosen


@dataclass(frozen=True)
class UpOutcome:
    """What ``pulumi up`` reported: the update's result and its resource changes."""

    result: str  # "succeeded" or "failed"
    update_version: int | None = None
    resource_changes: dict[str, int] = field(default_factory=dict)
    started_at: str | None = None
    ended_at: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "update_version": self.update_version,
            "resource_changes": dict(sorted(self.resource_changes.items())),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "error": self.error,
        }


class PulumiStack:
    """One stack of the project, selected (or created) through a LocalWorkspace on the project directory."""

    def __init__(self, project_root: Path, stack: str, env: dict[str, str]) -> None:
        self.name = stack
        try:
            self._stack = auto.create_or_select_stack(
                stack, work_dir=str(project_root), opts=auto.LocalWorkspaceOptions(env_vars=env)
            )
        except auto_errors.InvalidVersionError as err:
            raise DeployError(f"unsupported Pulumi CLI: {err}") from err
        except subprocess.CalledProcessError as err:
            raise DeployError(f"`pulumi version` failed (exit {err.returncode}): is the CLI installed?") from err
        except OSError as err:
            raise DeployError(f"cannot run the Pulumi CLI: {err.strerror or err}") from err
        except auto_errors.CommandError as err:
            raise DeployError(f"pulumi could not select or create stack {stack!r}: {_error_line(err)}") from err

    @property
    def cli_version(self) -> str:
        try:
            return str(self._stack.workspace.pulumi_version)
        except auto_errors.InvalidVersionError:
            return "unknown"

    def preview_json(self, policy_packs: Sequence[str] = ()) -> str:
        """Run ``pulumi preview --json`` and return its JSON document (the gate's input)."""
        try:
            result = self._stack.preview(json=True, policy_packs=list(policy_packs) or None)
        except auto_errors.CommandError as err:
            raise DeployError(f"pulumi preview of stack {self.name!r} failed: {_error_line(err)}") from err
        except RuntimeError as err:  # the engine sent no summary event: nothing trustworthy to gate
            raise DeployError(f"pulumi preview of stack {self.name!r} ended without a summary: {err}") from err
        except Exception as err:  # unreadable CLI output: refuse rather than gate something half-read
            what = f"{type(err).__name__}: {err}"
            raise DeployError(f"cannot read pulumi preview of stack {self.name!r}: {what}") from err
        return result.stdout

    def up(self, policy_packs: Sequence[str] = ()) -> UpOutcome:
        """Run ``pulumi up --yes --skip-preview`` (the gate already judged the preview); stream its output to stderr.

        A failed update is returned, not raised, so that the caller can record it.
        """

        def forward(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        try:
            result = self._stack.up(on_output=forward, color="never", policy_packs=list(policy_packs) or None)
        except auto_errors.CommandError as err:
            return UpOutcome(result="failed", error=_error_line(err))
        except Exception as err:  # the CLI's output could not be read: the update may have happened, so record it
            return UpOutcome(result="unknown", error=f"cannot read pulumi up's result: {type(err).__name__}: {err}")
        summary = result.summary
        return UpOutcome(
            result=str(summary.result),
            update_version=summary.version,
            resource_changes={str(k): int(v) for k, v in (summary.resource_changes or {}).items()},
            started_at=_iso(summary.start_time),
            ended_at=_iso(summary.end_time),
        )


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.isoformat(timespec="seconds")) + "Z"
