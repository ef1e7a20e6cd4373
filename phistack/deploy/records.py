"""Decision records: what the gate decided for a deployment, kept beside the deployment's state.

``.state/decisions/<stack>/<UTC timestamp>.json`` holds the decision (findings, waivers applied), the
digests of the plan and of the policy set it was evaluated with, the digest of the preview document,
and the outcome of ``pulumi up``: enough to trace what was deployed to the exact rules that allowed it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from phistack.findings import Decision
from runtime.fileio import write_atomic

RECORD_SCHEMA_VERSION = "phistack.deploy-record/v1"


def preview_digest(preview_text: str) -> str:
    """sha256 of the preview document exactly as the CLI printed it."""
    return "sha256:" + hashlib.sha256(preview_text.encode("utf-8")).hexdigest()


def build_record(
    *,
    decision: Decision,
    project: str,
    preview_sha256: str,
    backend: str,
    cli_version: str,
    deployment: dict[str, Any],
    recorded_at: dt.datetime,
) -> dict[str, Any]:
    """The record as a JSON object (keys sorted when written)."""
    return {
        "schema_version": RECORD_SCHEMA_VERSION,
        "project": project,
        "stack": decision.stack,
        "recorded_at": recorded_at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "plan_digest": decision.plan_digest,
        "policy_digest": decision.policy_digest,
        "preview_digest": preview_sha256,
        "decision": decision.to_json(),
        "deployment": {"backend": backend, "pulumi_version": cli_version, **deployment},
    }


def write_record(state_dir: Path, record: dict[str, Any], recorded_at: dt.datetime) -> Path:
    """Write ``record`` atomically under ``state_dir/decisions/<stack>/``; never overwrite an earlier one."""
    folder = state_dir / "decisions" / record["stack"]
    folder.mkdir(parents=True, exist_ok=True)
    stamp = recorded_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{stamp}.json"
    counter = 1
    while path.exists():  # two deployments within one second keep both records, listed in order by name
        path = folder / f"{stamp}_{counter:02d}.json"  # "_" sorts after ".", so the first record stays first
        counter += 1
    write_atomic(path, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path
