"""``phistack render`` as a user runs it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import yaml

from phistack.plan.offline import plan_stack
from phistack.plan.view import thaw
from phistack.render import validate_manifest

ROOT = Path(__file__).resolve().parents[2]


def _phistack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phistack", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def test_render_writes_valid_manifests(tmp_path: Path) -> None:
    out = tmp_path / "manifests"
    result = _phistack("render", "clinical-nlp", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote 30 manifests of clinical-nlp" in result.stderr
    index = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert sorted(index["resources"]) == sorted(p.name for p in out.glob("*.yaml") if p.name != "kustomization.yaml")
    for path in out.glob("*.yaml"):
        if path.name != "kustomization.yaml":
            # The files on disk, re-read: core kinds strict against Kubernetes, CRDs against their schemas.
            validate_manifest(yaml.safe_load(path.read_text()))


def test_render_reports_the_secret_it_does_not_write(tmp_path: Path) -> None:
    result = _phistack("render", "clinical-decision-support", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "not rendered" in result.stderr and "cds-tls-secret" in result.stderr


def test_unknown_stack_exits_2_listing_stacks(tmp_path: Path) -> None:
    result = _phistack("render", "no-such-stack", "-o", str(tmp_path / "x"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "unknown stack 'no-such-stack'" in result.stderr and "clinical-nlp" in result.stderr
    assert not (tmp_path / "x").exists()


def test_bad_stack_config_exits_2_with_file_and_key_path(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (project / "stacks" / "__main__.py").write_text((ROOT / "stacks" / "__main__.py").read_text())
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.genomics.yaml").read_text())
    doc["config"]["phistack:workloads"][0]["gpus"] = "eight"
    text = yaml.safe_dump(doc)
    (project / "stacks" / "Pulumi.genomics.yaml").write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.strip() == "gpus: eight")
    result = _phistack("render", "genomics", "-o", str(tmp_path / "out"), "--project", str(project))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(
        f"phistack: error: stacks/Pulumi.genomics.yaml:{line}: phistack:workloads[0].gpus:"
    ), result.stderr
    assert "Traceback" not in result.stderr


def test_an_invalid_object_is_refused_in_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    plan = thaw(plan_stack(ROOT, "clinical-nlp"))
    good = next(r for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment")
    # A second Deployment, rendered after the good one (so its kind's validator is cached), is wrong.
    bad = copy.deepcopy(good)
    bad["urn"] += "-zz"
    bad["inputs"]["metadata"]["name"] += "-zz"
    bad["inputs"]["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    plan["resources"].append(bad)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    out = tmp_path / "out"
    result = _phistack("render", "--plan", str(plan_file), "-o", str(out))
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"{bad['urn']}: invalid manifest: Deployment: spec.template.spec.containers[0]:" in result.stderr
    assert "'securityContex' was unexpected" in result.stderr
    assert not out.exists()
