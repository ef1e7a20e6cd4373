"""The runner with its services swapped for doubles: the order of the steps, what is refused, and
what lands in the audit log. The real crypto (file KEK) is used; attestation and the broker are faked."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from runtime.errors import InputError, VerificationError
from runtime.job import AuditConfig, load_job
from runtime.runner import JobRunner
from runtime.services import AttestationOutcome, Services, decrypt_object, open_development_kek
from tests.fixtures.jobs.workspace import TENANT, make_workspace

torch.set_num_threads(1)

NOT_CONFIDENTIAL = AttestationOutcome(False, "no-nvml", "NVML could not start (no NVIDIA driver or GPU)")
CONFIDENTIAL = AttestationOutcome(True, "ok", "all GPUs are in confidential-computing mode")


class MemoryAudit:
    """Collects records in a list (the real log is exercised end to end in tests/e2e)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.closed = False

    def append(self, actor: str, action: str, object: str, outcome: str, details: dict | None = None) -> None:
        self.records.append({"actor": actor, "action": action, "object": object, "outcome": outcome,
                             "details": details or {}})

    def close(self) -> None:
        self.closed = True

    def actions(self) -> list[tuple[str, str]]:
        return [(r["action"], r["outcome"]) for r in self.records]


def _services(audit: MemoryAudit, outcome: AttestationOutcome, **overrides: Any) -> Services:
    def open_audit(path: Path, config: AuditConfig) -> MemoryAudit:
        return audit

    return Services(attest=lambda nonce: outcome, open_audit=open_audit, **overrides)


def _run(job_path: Path, services: Services) -> tuple[Any, str]:
    stderr = io.StringIO()
    report = JobRunner(load_job(job_path), services=services, stderr=stderr).run()
    return report, stderr.getvalue()


def test_development_job_runs_and_audits_every_step(tmp_path: Path) -> None:
    job_path = make_workspace(tmp_path, objects=2, records=6, batch_size=4)
    audit = MemoryAudit()
    report, stderr = _run(job_path, _services(audit, NOT_CONFIDENTIAL))

    assert "WARNING: DEVELOPMENT MODE" in stderr
    assert audit.actions() == [
        ("mode.development", "success"),
        ("attestation.result", "failure"),
        ("job.start", "success"),
        ("data.access", "success"),  # the key
        ("data.access", "success"),  # decrypt object 0
        ("inference.request", "success"),
        ("data.access", "success"),  # encrypt-write object 0
        ("data.access", "success"),
        ("inference.request", "success"),
        ("data.access", "success"),
        ("job.end", "success"),
    ]
    assert audit.closed
    assert audit.records[1]["details"]["required"] is False
    inference = audit.records[5]["details"]
    assert inference["records"] == 6 and inference["batches"] == 2 and inference["batch_size"] == 4
    assert audit.records[-1]["details"]["telemetry"]["available"] is False
    assert [o.records for o in report.objects] == [6, 6] and report.device == "cpu"

    # The outputs are ciphertext bound to their object id and the input's tenant.
    kek, _ = open_development_kek(f"file:{tmp_path / 'dev.kek'}")
    sealed = (tmp_path / "out" / "image-cnn-batch-000.results.enc").read_bytes()
    assert b"predictions" not in sealed
    document = json.loads(decrypt_object(kek, sealed, object_id="image-cnn-batch-000.results", tenant=TENANT))
    assert len(document["predictions"]) == 6 and document["labels"] == ["normal", "opacity", "effusion"]


@pytest.mark.parametrize("classification", ["phi", "genetic"])
def test_phi_job_is_refused_without_a_passing_appraisal(tmp_path: Path, classification: str) -> None:
    job_path = make_workspace(tmp_path, classification=classification, development=False)
    audit = MemoryAudit()

    def must_not_decrypt(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("decrypted data on a machine that failed attestation")

    services = _services(audit, NOT_CONFIDENTIAL, decrypt=must_not_decrypt)
    with pytest.raises(VerificationError) as caught:
        _run(job_path, services)
    message = caught.value.diagnostic()
    assert f"{classification} job" in message and "not confidential" in message and "(no-nvml)" in message
    assert caught.value.exit_code == 1
    assert audit.actions() == [("attestation.result", "failure"), ("job.start", "denied")]
    assert audit.records[0]["details"]["required"] is True
    assert audit.records[1]["details"]["reason"] == message
    assert not (tmp_path / "out").exists()


def test_phi_job_runs_with_attestation_and_a_released_key(tmp_path: Path) -> None:
    job_path = make_workspace(tmp_path, workload="text-bow", classification="phi", development=False, objects=1)
    audit = MemoryAudit()
    seen: dict[str, Any] = {}

    def broker(config: Any, outcome: AttestationOutcome, nonce: bytes) -> Any:
        seen.update(url=config.url, outcome=outcome, nonce=nonce)
        kek, _ = open_development_kek(f"file:{tmp_path / 'dev.kek'}")  # stands in for the released key
        return kek

    report, stderr = _run(job_path, _services(audit, CONFIDENTIAL, obtain_broker_kek=broker))
    assert "DEVELOPMENT" not in stderr
    assert seen["outcome"] is CONFIDENTIAL and len(seen["nonce"]) == 32
    assert ("mode.development", "success") not in audit.actions()
    assert audit.actions()[:4] == [
        ("attestation.result", "success"),
        ("job.start", "success"),
        ("data.access", "success"),
        ("data.access", "success"),
    ]
    assert audit.records[2]["details"]["source"] == "key broker"
    assert report.objects[0].records == 6


def test_broker_refusal_is_audited(tmp_path: Path) -> None:
    job_path = make_workspace(tmp_path, classification="phi", development=False, objects=1)
    audit = MemoryAudit()

    def refuse(*args: object) -> Any:
        raise VerificationError("key broker refused: driver version not allow-listed")

    with pytest.raises(VerificationError, match="not allow-listed"):
        _run(job_path, _services(audit, CONFIDENTIAL, obtain_broker_kek=refuse))
    assert audit.actions()[-2:] == [("data.access", "denied"), ("job.end", "failure")]


def test_default_broker_seam_refuses_a_machine_that_is_not_confidential(tmp_path: Path) -> None:
    # The real client, given this machine's real (non-confidential) collection result, refuses
    # before any connection is attempted.
    import os

    from runtime.services import collect_attestation, obtain_broker_kek

    job = load_job(make_workspace(tmp_path, classification="phi", development=False, objects=1))
    assert job.key_broker is not None
    nonce = os.urandom(32)
    outcome = collect_attestation(nonce)
    if outcome.confidential:
        pytest.skip("this machine is confidential")
    with pytest.raises(VerificationError, match="not confidential"):
        obtain_broker_kek(job.key_broker, outcome, nonce)


def test_tampered_ciphertext_fails_the_job_and_is_audited(tmp_path: Path) -> None:
    job_path = make_workspace(tmp_path, objects=1)
    target = tmp_path / "image-cnn-batch-000.enc"
    data = bytearray(target.read_bytes())
    data[-40] ^= 0x01
    target.write_bytes(bytes(data))
    audit = MemoryAudit()
    with pytest.raises(VerificationError):
        _run(job_path, _services(audit, NOT_CONFIDENTIAL))
    assert audit.actions()[-2:] == [("data.access", "failure"), ("job.end", "failure")]
    assert audit.records[-2]["object"] == "image-cnn-batch-000"
    assert not (tmp_path / "out" / "image-cnn-batch-000.results.enc").exists()


def test_wrong_tenant_is_refused(tmp_path: Path) -> None:
    job_path = make_workspace(tmp_path, objects=1)
    job_path.write_text(job_path.read_text().replace(f"tenant: {TENANT}", "tenant: another-hospital"))
    with pytest.raises(VerificationError):
        _run(job_path, _services(MemoryAudit(), NOT_CONFIDENTIAL))


def test_tampered_model_fails_the_job_and_is_audited(tmp_path: Path) -> None:
    job_path = make_workspace(tmp_path, objects=1)
    model = tmp_path / "model.pt"
    model.write_bytes(model.read_bytes() + b"\0")
    audit = MemoryAudit()
    with pytest.raises(VerificationError, match="digest mismatch"):
        _run(job_path, _services(audit, NOT_CONFIDENTIAL))
    assert audit.actions()[-1] == ("job.end", "failure")
    assert "digest mismatch" in audit.records[-1]["details"]["reason"]


def test_missing_input_is_an_input_error(tmp_path: Path) -> None:
    job_path = make_workspace(tmp_path, objects=1)
    (tmp_path / "image-cnn-batch-000.enc").unlink()
    audit = MemoryAudit()
    with pytest.raises(InputError, match="cannot read input"):
        _run(job_path, _services(audit, NOT_CONFIDENTIAL))
    assert audit.actions()[-2:] == [("data.access", "failure"), ("job.end", "failure")]
