"""Sign the demonstration manifest of the synthetic dataset ``chest-xray-demo/`` (``make_manifest.py``).

Writes ``chest-xray-demo.manifest.json`` beside the dataset, signed with the demonstration key
``demo-signer.key``: the manifest the medical-imaging reference stack names so that its workload counts as
de-identified. The files in ``chest-xray-demo/`` are synthetic text, not data of any person. The creation
time is fixed and Ed25519 signatures are deterministic, so rerunning the script gives the same bytes.

Run from the repository root: ``.venv/bin/python examples/deid/make_manifest.py``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # run as a script from a checkout

from runtime.deid.manifest import build_payload, file_sha256, sign_manifest, write_manifest  # noqa: E402
from runtime.ed25519 import load_private_key  # noqa: E402

DATASET = "chest-xray-demo"
CREATED = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def main() -> None:
    directory = HERE / DATASET
    outputs = [
        {"path": p.relative_to(directory).as_posix(), "sha256": file_sha256(p), "input_sha256": file_sha256(p)}
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    ]
    payload = build_payload(
        dataset=DATASET,
        method={"kind": "safe-harbor", "profile": "demonstration", "note": "synthetic files, nothing removed"},
        tool_version="demo",
        outputs=outputs,
        quarantined=[],
        rejected=[],
        counts={"files": len(outputs), "quarantined": 0, "rejected": 0},
        created_at=CREATED,
    )
    target = HERE / f"{DATASET}.manifest.json"
    write_manifest(target, sign_manifest(payload, load_private_key(HERE / "demo-signer.key")))
    print(f"wrote {target.relative_to(HERE.parent.parent)}")


if __name__ == "__main__":
    main()
