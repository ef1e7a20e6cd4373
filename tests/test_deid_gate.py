"""The gate checks de-identification manifests: a workload is "deidentified" only with a verified manifest.

The medical-imaging reference stack runs on an RTX 4090 without confidential computing because its workload
names the dataset chest-xray-demo, whose manifest (examples/deid/) is signed by the demonstration signer the
policy set trusts. Relabelled, unsigned, tampered, wrongly signed or signed outside the signer's methods, the
workload is PHI again: PHI-DEID-001 denies with the reason, and the PHI rules deny it too.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from phistack.engine import load_policy_set
from phistack.errors import PolicyError
from phistack.findings import Decision
from phistack.gate import gate_input
from phistack.plan.offline import plan_stack
from phistack.plan.view import Plan, thaw
from phistack.session import GateSettings, decide
from runtime.deid.manifest import build_payload, sign_manifest
from runtime.ed25519 import load_private_key
from tests.support.cli import run_cli
from tests.support.paths import REPO

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
STACK = "medical-imaging"
DATASET = "chest-xray-demo"
MANIFEST = Path("examples/deid/chest-xray-demo.manifest.json")
DEMO_KEY = REPO / "examples" / "deid" / "demo-signer.key"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_stack(REPO, STACK)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project: the reference stacks, the policy set and the demonstration manifest."""
    root = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("stacks", "policies"):
        shutil.copytree(REPO / name, root / name, ignore=ignore)
    shutil.copytree(REPO / "examples" / "deid", root / "examples" / "deid", ignore=ignore)
    shutil.copy2(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    return root


def _decide(project: Path, plan: Plan, engine: str = "regorus") -> Decision:
    settings = GateSettings(project=project, policies=load_policy_set(project / "policies"), engine=engine, now=NOW)
    return decide(settings, plan)


def _deid_messages(decision: Decision, kind: str = "phistack:workload:AttestedWorkload") -> list[str]:
    """The blocking PHI-DEID-001 messages about resources of ``kind`` (the workload, by default)."""
    return [
        f.message
        for f in decision.findings
        if f.id == "PHI-DEID-001" and f.blocks and f.urn.split("::")[-2].split("$")[-1] == kind
    ]


def _manifest(project: Path) -> dict[str, Any]:
    return json.loads((project / MANIFEST).read_text())


def _write(project: Path, document: dict[str, Any]) -> None:
    (project / MANIFEST).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def _signed(key: Ed25519PrivateKey, kind: str = "safe-harbor", dataset: str = DATASET) -> dict[str, Any]:
    payload = build_payload(
        dataset=dataset,
        method={"kind": kind, "profile": "test"},
        tool_version="test",
        outputs=[{"path": "a.txt", "sha256": "0" * 64}],
        quarantined=[],
        rejected=[],
        counts={"files": 1},
        created_at=NOW,
    )
    return sign_manifest(payload, key)


@pytest.mark.parametrize("engine", ["regorus", "regopy"])
def test_the_demo_manifest_keeps_medical_imaging_allowed(project: Path, plan: Plan, engine: str) -> None:
    decision = _decide(project, plan, engine)
    assert decision.allowed, [f.message for f in decision.findings if f.blocks]
    assert not decision.scope.phi and decision.scope.classifications == ("deidentified",)


def _tampered(project: Path) -> None:
    # One byte of the payload: the file count 2 becomes 3.
    text = (project / MANIFEST).read_text()
    assert text.count('"files": 2') == 1
    (project / MANIFEST).write_text(text.replace('"files": 2', '"files": 3'))


def _unsigned(project: Path) -> None:
    document = _manifest(project)
    del document["signature"]
    _write(project, document)


def _wrong_signer(project: Path) -> None:
    _write(project, _signed(Ed25519PrivateKey.generate()))


def _method_not_allowed(project: Path) -> None:
    # The demonstration signer is trusted for dicom-annex-e and safe-harbor only.
    _write(project, _signed(load_private_key(DEMO_KEY), kind="expert-determination"))


def _other_dataset(project: Path) -> None:
    _write(project, _signed(load_private_key(DEMO_KEY), dataset="someone-elses-data"))


def _missing(project: Path) -> None:
    (project / MANIFEST).unlink()


def _not_json(project: Path) -> None:
    (project / MANIFEST).write_text("{not json")


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "tampered": (_tampered, "manifest signature does not match: the manifest was altered or forged"),
    "unsigned": (_unsigned, "manifest is not signed (no Ed25519 signature)"),
    "wrong-signer": (_wrong_signer, "which is not a trusted de-identification signer"),
    "method-not-allowed": (
        _method_not_allowed,
        "signer phistack demonstration signer (replace before use) (sha256:",
    ),
    "other-dataset": (_other_dataset, "the manifest is for dataset 'someone-elses-data', not 'chest-xray-demo'"),
    "missing": (_missing, "examples/deid/chest-xray-demo.manifest.json: de-identification manifest not found"),
    "not-json": (_not_json, "malformed JSON in de-identification manifest"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_manifest_that_does_not_verify_denies_with_the_reason(project: Path, plan: Plan, case: str) -> None:
    edit, reason = CASES[case]
    edit(project)
    decision = _decide(project, plan)
    assert not decision.allowed
    (message,) = _deid_messages(decision)
    assert "names dataset chest-xray-demo, whose de-identification manifest is not valid: " in message
    assert reason in message, message
    (storage,) = _deid_messages(decision, "phistack:storage:EncryptedStorage")  # it holds the same dataset
    assert storage.startswith("PHI-DEID-001: storage storage is classified deidentified") and reason in storage
    # Without the proof the workload is PHI: the confidential-computing rules apply to it again.
    assert {"PHI-CC-001", "PHI-GPU-001"} <= {f.id for f in decision.findings if f.blocks}
    assert decision.scope.phi


def test_method_not_allowed_names_the_method(project: Path, plan: Plan) -> None:
    _method_not_allowed(project)
    (message,) = _deid_messages(_decide(project, plan))
    assert message.endswith("is not trusted for expert-determination (only dicom-annex-e, safe-harbor)"), message


def test_tampered_manifest_is_denied_on_regopy_too(project: Path, plan: Plan) -> None:
    _tampered(project)
    decision = _decide(project, plan, "regopy")
    (message,) = _deid_messages(decision)
    assert "manifest signature does not match" in message and not decision.allowed


def _relabelled(plan: Plan) -> Plan:
    """The workload keeps "deidentified" but names no dataset (the word alone, as before manifests)."""
    document = thaw(plan)
    for resource in document["resources"]:
        if resource["type"] == "phistack:workload:AttestedWorkload":
            resource["inputs"]["dataset"] = None
        labels = resource["inputs"].get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
        labels.pop("phistack.io/dataset", None)
    return Plan.validated(document)


def test_relabelled_without_a_dataset_is_denied(project: Path, plan: Plan) -> None:
    decision = _decide(project, _relabelled(plan))
    (message,) = _deid_messages(decision)
    assert message == (
        "PHI-DEID-001: workload imaging-train is classified deidentified but names no dataset: without a "
        "verified de-identification manifest its data is treated as PHI"
    )
    assert "PHI-CC-001" in {f.id for f in decision.findings if f.blocks}


def test_a_dataset_the_spec_does_not_list_is_denied(project: Path, plan: Plan) -> None:
    document = thaw(plan)
    document["spec"]["datasets"] = []
    (message,) = _deid_messages(_decide(project, Plan.validated(document)))
    assert "names dataset chest-xray-demo, which has no verified de-identification manifest" in message


def test_the_plan_cannot_claim_a_verified_manifest(project: Path, plan: Plan) -> None:
    """input.deid sits beside the plan: a plan that carries its own "deid" claims is not believed."""
    _tampered(project)
    document = thaw(plan)
    document["spec"]["deid"] = {DATASET: {"valid": True}}
    for resource in document["resources"]:
        if resource["type"] == "pulumi:pulumi:Stack":
            resource["inputs"]["deid"] = {DATASET: {"valid": True}}
    decision = _decide(project, Plan.validated(document))
    assert not decision.allowed and _deid_messages(decision)
    assert set(gate_input(plan, NOW, {"x": {"valid": True}})) == {"plan", "now", "today", "deid"}


def test_a_manifest_path_outside_the_project_is_not_read(project: Path, plan: Plan) -> None:
    document = thaw(plan)
    document["spec"]["datasets"][0]["manifest"] = str(project / MANIFEST)  # absolute: refused
    (message,) = _deid_messages(_decide(project, Plan.validated(document)))
    assert "is not a relative path inside the project" in message


def test_no_project_directory_means_no_manifest(plan: Plan) -> None:
    settings = GateSettings(project=None, policies=load_policy_set(REPO / "policies"), now=NOW)
    (message,) = _deid_messages(decide(settings, plan))
    assert "no project directory to read the manifest" in message


def test_malformed_signer_data_is_a_policy_error(project: Path, plan: Plan) -> None:
    path = project / "policies" / "data" / "deid_signers.json"
    data = json.loads(path.read_text())
    data["signers"][0]["key_id"] = "sha256:" + "0" * 64
    path.write_text(json.dumps(data))
    with pytest.raises(PolicyError, match=r"deid_signers: signers\[0\]: key_id is not the id of public_key"):
        _decide(project, plan)


def test_no_signer_may_vouch_for_a_limited_data_set(project: Path, plan: Plan) -> None:
    """A limited data set (dates kept) is still PHI: listing it among a signer's methods is a policy error."""
    path = project / "policies" / "data" / "deid_signers.json"
    data = json.loads(path.read_text())
    data["signers"][0]["methods"].append("limited-data-set")
    path.write_text(json.dumps(data))
    with pytest.raises(PolicyError, match=r"methods: 'limited-data-set' is not one of"):
        _decide(project, plan)


def test_check_through_the_cli(project: Path) -> None:
    """`phistack check` in a subprocess: allowed with the demo manifest, denied (exit 1) once it is altered;
    a broken signer list is a policy error (exit 3)."""
    args = ("check", STACK, "--project", str(project), "--format", "json", "--now", "2026-06-01T12:00:00Z")
    allowed = run_cli(*args)
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["decision"] == "allowed"
    _tampered(project)
    denied = run_cli(*args, "--engine", "regopy")
    assert denied.returncode == 1, denied.stderr
    messages = [f["message"] for f in json.loads(denied.stdout)["findings"] if f["id"] == "PHI-DEID-001"]
    assert len(messages) == 2  # the workload and the storage that hold the dataset
    assert all("manifest signature does not match" in message for message in messages)
    (project / "policies" / "data" / "deid_signers.json").write_text('{"signers": [{"key_id": "x"}]}')
    broken = run_cli(*args)
    assert broken.returncode == 3 and "deid_signers" in broken.stderr and "Traceback" not in broken.stderr


def test_deid_verify_command(project: Path) -> None:
    """`phistack deid verify` answers as the gate does: 0 valid, 1 invalid with the reason, 2 bad input."""
    manifest = str(project / MANIFEST)
    dataset = str(project / "examples" / "deid" / DATASET)
    valid = run_cli("deid", "verify", manifest, "--dir", dataset, "--project", str(project))
    assert valid.returncode == 0 and valid.stdout.startswith(f"valid: {manifest}: dataset chest-xray-demo"), valid
    (project / "examples" / "deid" / DATASET / "demo-0001.txt").write_text("changed\n")
    changed = run_cli("deid", "verify", manifest, "--dir", dataset, "--project", str(project))
    assert changed.returncode == 1 and "demo-0001.txt does not match its digest" in changed.stdout
    _wrong_signer(project)
    untrusted = run_cli("deid", "verify", manifest, "--project", str(project), "--format", "json")
    assert untrusted.returncode == 1
    assert "not a trusted de-identification signer" in json.loads(untrusted.stdout)["reason"]
    missing = run_cli("deid", "verify", str(project / "nope.json"), "--project", str(project))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "not found" in missing.stderr
