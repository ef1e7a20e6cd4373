"""The evidence pack shows each de-identified dataset with its manifest verification: name, valid or invalid with
the reason, method, signer, dataset digest, counts and the workloads that name it (HTML, Markdown, JSON)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.paths import REPO

NOW = ["--now", "2026-06-01T12:00:00Z"]
MANIFEST = Path("examples/deid/chest-xray-demo.manifest.json")


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name in ("stacks", "policies", "examples/deid"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    return root


def _pack(project: Path, out: Path) -> tuple[dict, str, str]:
    proc = run_cli("evidence", "medical-imaging", "--project", str(project), *NOW, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    evidence = json.loads((out / "evidence.json").read_text())
    return evidence, (out / "evidence.md").read_text(), (out / "index.html").read_text()


def test_a_verified_and_a_tampered_manifest_in_the_pack(tmp_path: Path) -> None:
    project = _project(tmp_path)
    manifest = json.loads((project / MANIFEST).read_text())
    evidence, markdown, html = _pack(project, tmp_path / "valid")
    (dataset,) = evidence["datasets"]
    assert dataset == {
        "name": "chest-xray-demo",
        "manifest": str(MANIFEST),
        "valid": True,
        "reason": "",
        "method": "safe-harbor",
        "signer": manifest["signature"]["key_id"],
        "signer_name": "phistack demonstration signer (replace before use)",
        "dataset_digest": manifest["payload"]["dataset_digest"],
        "counts": {"files": 2, "quarantined": 0, "rejected": 0},
        "workloads": ["imaging-train"],
    }
    assert evidence["decision"] == "allowed" and evidence["in_hipaa_scope"] is False
    assert "| chest-xray-demo | examples/deid/chest-xray-demo.manifest.json | valid | safe-harbor |" in markdown
    assert 'data-dataset="chest-xray-demo"' in html and '<span class="ok">valid</span>' in html

    text = (project / MANIFEST).read_text()
    (project / MANIFEST).write_text(text.replace('"files": 2', '"files": 3'))
    evidence, markdown, html = _pack(project, tmp_path / "tampered")
    (dataset,) = evidence["datasets"]
    reason = "manifest signature does not match: the manifest was altered or forged"
    assert dataset["valid"] is False and dataset["reason"] == reason
    assert evidence["decision"] == "denied" and evidence["in_hipaa_scope"] is True
    assert f"**invalid**: {reason}" in markdown
    assert f'<span class="problem">invalid</span><span class="reason">{reason}</span>' in html


def test_a_stack_without_datasets_says_so(tmp_path: Path) -> None:
    out = tmp_path / "pack"
    proc = run_cli("evidence", "genomics", *NOW, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "evidence.json").read_text())["datasets"] == []
    assert "No de-identified dataset declared." in (out / "evidence.md").read_text()
