"""``phistack-runtime run`` as a user runs it (a subprocess of ``python -m runtime``, the container's
entrypoint): a PHI job on this machine is refused with the reason and the refusal is audited; a
non-PHI development job decrypts, infers, encrypts, and leaves an audit log that verifies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runtime.services import decrypt_object, open_development_kek
from tests.fixtures.jobs.workspace import TENANT, make_workspace

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=180
    )


def _records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _verify(log: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _cli("phistack", "audit", "verify", str(log), *extra)


def test_phi_job_is_refused_on_a_machine_that_is_not_confidential(tmp_path: Path) -> None:
    job = make_workspace(tmp_path, workload="text-bow", classification="phi", development=False)
    result = _cli("runtime", "run", str(job))

    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("phistack-runtime:")]
    assert len(lines) == 1
    assert lines[0].startswith("phistack-runtime: error: phi job 'text-bow-phi' refused:")
    assert "needs a passing attestation appraisal" in lines[0] and "not confidential" in lines[0]
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()

    records = _records(tmp_path / "audit" / "job.log")
    refusal = [r for r in records if r["action"] == "job.start"]
    assert [r["outcome"] for r in refusal] == ["denied"]
    assert refusal[0]["details"]["reason"] in lines[0]
    attestation = next(r for r in records if r["action"] == "attestation.result")
    assert attestation["outcome"] == "failure" and attestation["details"]["required"] is True
    assert not any(r["action"] in ("data.access", "inference.request") for r in records)
    verified = _verify(tmp_path / "audit" / "job.log")
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.mark.parametrize("workload", ["image-cnn", "text-bow"])
def test_development_job_end_to_end(tmp_path: Path, workload: str) -> None:
    keygen = _cli("phistack", "audit", "keygen", "-o", str(tmp_path / "audit-signing"))
    assert keygen.returncode == 0, keygen.stderr
    job = make_workspace(
        tmp_path,
        workload=workload,
        objects=2,
        records=5,
        batch_size=2,
        overrides={"audit": {"path": "audit/job.log", "signing_key": "audit-signing.key"}},
    )
    result = _cli("runtime", "run", str(job))
    assert result.returncode == 0, result.stderr
    assert "WARNING: DEVELOPMENT MODE" in result.stderr

    report = json.loads(result.stdout)
    assert report["development"] is True and report["device"] == "cpu"
    assert report["telemetry"]["available"] is False and report["telemetry"]["reason"]
    assert [o["records"] for o in report["objects"]] == [5, 5]
    assert [o["batches"] for o in report["objects"]] == [3, 3]

    spec = yaml.safe_load(job.read_text())
    kek, _ = open_development_kek(f"file:{tmp_path / 'dev.kek'}")
    for output in spec["outputs"]:
        sealed = (tmp_path / output["path"]).read_bytes()
        assert b'"predictions"' not in sealed  # ciphertext on disk, never plaintext
        document = json.loads(decrypt_object(kek, sealed, object_id=output["object_id"], tenant=TENANT))
        assert document["workload"] == workload and len(document["predictions"]) == 5
        assert document["model_sha256"] == spec["model"]["sha256"]

    log = tmp_path / "audit" / "job.log"
    actions = [(r["action"], r["outcome"]) for r in _records(log)]
    assert actions[-1] == ("audit.checkpoint", "success")  # the log's closing checkpoint, recorded in the chain
    actions = [action for action in actions if not action[0].startswith("audit.")]
    assert actions[0] == ("mode.development", "success")
    assert ("job.start", "success") in actions and actions[-1] == ("job.end", "success")
    assert actions.count(("inference.request", "success")) == 2
    verified = _verify(log, "--key", str(tmp_path / "audit-signing.pub"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "checkpoints: 1 verified" in verified.stdout

    # The verification is real: altering one record makes it fail.
    text = log.read_text()
    log.write_text(text.replace('"records":5', '"records":6', 1))
    assert _verify(log).returncode == 1


def test_tampered_model_refused_through_the_cli(tmp_path: Path) -> None:
    job = make_workspace(tmp_path, objects=1)
    model = tmp_path / "model.pt"
    data = bytearray(model.read_bytes())
    data[100] ^= 0xFF
    model.write_bytes(bytes(data))
    result = _cli("runtime", "run", str(job))
    assert result.returncode == 1
    assert "model file digest mismatch" in result.stderr
    last = _records(tmp_path / "audit" / "job.log")[-1]
    assert (last["action"], last["outcome"]) == ("job.end", "failure")
