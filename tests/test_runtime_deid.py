"""Outside a TEE the runtime loads de-identified data only with its signed manifest, verified byte for byte.

The runner's services are doubles (tests/test_runtime_runner.py); the manifest, keys and dataset are real.
Every refusal is exit 1 with one line naming the reason, and is the job's last audit record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.ed25519 import write_keypair
from runtime.errors import InputError, VerificationError
from runtime.job import load_job
from tests.fixtures.jobs.workspace import make_workspace
from tests.support.cli import run_cli
from tests.test_runtime_runner import NOT_CONFIDENTIAL, MemoryAudit, _run, _services


def _job(tmp_path: Path) -> Path:
    return make_workspace(tmp_path, objects=1, records=4)


def _edit_job(job_path: Path, **changes: Any) -> None:
    spec = yaml.safe_load(job_path.read_text())
    spec["deidentification"].update(changes)
    job_path.write_text(yaml.safe_dump(spec, sort_keys=False))


def _refused(job_path: Path) -> tuple[str, MemoryAudit]:
    audit = MemoryAudit()

    def must_not_decrypt(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("decrypted data whose de-identification did not verify")

    with pytest.raises(VerificationError) as caught:
        _run(job_path, _services(audit, NOT_CONFIDENTIAL, decrypt=must_not_decrypt))
    message = caught.value.diagnostic()
    assert "\n" not in message and caught.value.exit_code == 1
    last = audit.records[-1]
    assert (last["action"], last["outcome"]) == ("job.start", "denied")
    assert last["details"]["reason"] == message
    return message, audit


def test_a_verified_dataset_runs_and_the_audit_names_it(tmp_path: Path) -> None:
    job_path = _job(tmp_path)
    audit = MemoryAudit()
    report, _ = _run(job_path, _services(audit, NOT_CONFIDENTIAL))
    assert report.classification == "deidentified" and report.objects
    start = next(r for r in audit.records if r["action"] == "job.start")
    dataset = start["details"]["deidentification"]
    manifest = json.loads((tmp_path / "deid-data.manifest.json").read_text())
    assert dataset["dataset_digest"] == manifest["payload"]["dataset_digest"]
    assert dataset["signer"] == manifest["signature"]["key_id"] and dataset["method"] == "safe-harbor"


def test_no_manifest_named_is_refused(tmp_path: Path) -> None:
    job_path = _job(tmp_path)
    spec = yaml.safe_load(job_path.read_text())
    del spec["deidentification"]
    job_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    message, _ = _refused(job_path)
    assert message.startswith("deidentified job 'image-cnn-deidentified' refused: this machine is not confidential")


def test_changed_data_is_refused(tmp_path: Path) -> None:
    job_path = _job(tmp_path)
    (tmp_path / "deid-data" / "record-0001.txt").write_text("a patient's name slipped back in\n")
    message, _ = _refused(job_path)
    assert message.endswith("record-0001.txt does not match its digest in the manifest")


def test_an_extra_file_is_refused(tmp_path: Path) -> None:
    job_path = _job(tmp_path)
    (tmp_path / "deid-data" / "unlisted.csv").write_text("mrn,name\n")
    message, _ = _refused(job_path)
    assert "unlisted.csv is not in the de-identification manifest" in message


def test_a_tampered_manifest_is_refused(tmp_path: Path) -> None:
    job_path = _job(tmp_path)
    path = tmp_path / "deid-data.manifest.json"
    document = json.loads(path.read_text())
    document["payload"]["counts"]["files"] = 2
    path.write_text(json.dumps(document))
    message, _ = _refused(job_path)
    assert "manifest signature does not match" in message


def test_an_untrusted_signer_is_refused(tmp_path: Path) -> None:
    job_path = _job(tmp_path)
    _private, public = write_keypair(tmp_path / "someone-else")
    _edit_job(job_path, trusted_keys=[public.name])
    message, _ = _refused(job_path)
    assert "which is not a trusted de-identification signer" in message


def test_a_missing_manifest_is_refused(tmp_path: Path) -> None:
    job_path = _job(tmp_path)
    (tmp_path / "deid-data.manifest.json").unlink()
    message, _ = _refused(job_path)
    assert "de-identification manifest not found" in message


def test_the_dataset_directory_can_be_named(tmp_path: Path) -> None:
    job_path = _job(tmp_path)
    (tmp_path / "deid-data").rename(tmp_path / "elsewhere")
    message, _ = _refused(job_path)
    assert "the de-identified dataset directory does not exist" in message
    _edit_job(job_path, directory="elsewhere")
    report, _ = _run(job_path, _services(MemoryAudit(), NOT_CONFIDENTIAL))
    assert report.objects


def test_only_deidentified_jobs_name_a_manifest(tmp_path: Path) -> None:
    job_path = make_workspace(
        tmp_path,
        classification="none",
        objects=1,
        overrides={"deidentification": {"manifest": "m.json", "trusted_keys": ["k.pub"]}},
    )
    with pytest.raises(InputError, match=r"only a job classified deidentified names a manifest .*deidentification"):
        load_job(job_path)


def test_refusal_through_the_cli(tmp_path: Path) -> None:
    """`phistack-runtime run` on this (non-confidential) machine: altered data is exit 1, one line, audited."""
    job_path = _job(tmp_path)
    (tmp_path / "deid-data" / "record-0001.txt").write_text("altered\n")
    proc = run_cli("run", str(job_path), module="runtime", cwd=tmp_path)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("phistack-runtime: error:")]
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1 and "does not match its digest in the manifest" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    last = json.loads((tmp_path / "audit" / "job.log").read_text().splitlines()[-1])
    assert (last["action"], last["outcome"]) == ("job.start", "denied")


def test_a_limited_data_set_is_refused_whoever_signed_it(tmp_path: Path) -> None:
    """Full (shifted) dates make a limited data set (45 CFR 164.514(e)), still PHI: a trusted signature over
    a manifest that says so proves no de-identification."""
    from runtime.deid.manifest import sign_manifest, write_manifest
    from runtime.ed25519 import load_private_key

    job_path = _job(tmp_path)
    path = tmp_path / "deid-data.manifest.json"
    payload = json.loads(path.read_text())["payload"]
    payload["method"]["kind"] = "limited-data-set"
    write_manifest(path, sign_manifest(payload, load_private_key(tmp_path / "deid-signer.key")))
    message, _ = _refused(job_path)
    assert message.endswith("the manifest records a limited-data-set, not de-identified data")
