"""Runs one job: attest → obtain the KEK → decrypt inputs in memory → run the workload →
encrypt outputs, recording every step in the audit log.

Plaintext never touches the disk: inputs are decrypted into memory, results are encrypted before
they are written (atomically). A job that is not in development mode needs a confidential machine
and a key the broker released after appraising its evidence; without them it is refused before any
data is read, and the refusal is in the audit log.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from runtime import distributed
from runtime.classification import Classification
from runtime.deid.dataset import verify_job_dataset
from runtime.errors import InputError, PhistackError, VerificationError
from runtime.fileio import write_atomic
from runtime.job import InputObject, JobSpec, OutputObject
from runtime.services import AttestationOutcome, AuditSink, Services
from runtime.telemetry import GpuTelemetry
from runtime.workloads import batched, registry
from runtime.workloads.base import Workload
from runtime.workloads.device import device_name, select_device

if TYPE_CHECKING:
    from runtime.crypto.kek import Kek

NONCE_BYTES = 32
DEVELOPMENT_WARNING = (
    "DEVELOPMENT MODE: no attestation required, no key broker, a local file: key-encryption key; "
    "for non-PHI data only, never for production"
)


@dataclass
class ObjectResult:
    """What happened to one input object (goes into the report; never data)."""

    object_id: str
    output_object_id: str
    output_path: str
    records: int
    batches: int
    seconds: float
    rank: int


@dataclass
class RunReport:
    """The job's outcome, printed as JSON by ``phistack-runtime run``."""

    job: str
    workload: str
    classification: str
    development: bool
    device: str
    device_name: str
    world_size: int
    attestation: dict[str, Any]
    objects: list[ObjectResult] = field(default_factory=list)
    telemetry: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = dict(self.__dict__)
        out["objects"] = [o.__dict__ for o in self.objects]
        return out


def audit_path_for(path: Path, ctx: distributed.DistContext) -> Path:
    """One log per rank when distributed: a hash chain has one writer."""
    if not ctx.distributed:
        return path
    return path.with_name(f"{path.stem}.rank{ctx.rank}{path.suffix}")


class _Audited:
    """Appends audit records for one job with a fixed actor and remembers if the end was recorded."""

    def __init__(self, log: AuditSink, actor: str, job: str) -> None:
        self.log = log
        self.actor = actor
        self.job = job
        self.ended = False

    def record(self, action: str, outcome: str, details: dict[str, Any], obj: str | None = None) -> None:
        self.log.append(self.actor, action, obj or f"job:{self.job}", outcome, {"job": self.job, **details})


class JobRunner:
    """Runs a validated :class:`JobSpec`. ``services`` supplies attestation, keys, crypto and audit."""

    def __init__(
        self,
        job: JobSpec,
        *,
        services: Services | None = None,
        ctx: distributed.DistContext | None = None,
        stderr: Any = None,
    ) -> None:
        self.job = job
        self.services = services or Services()
        self.ctx = ctx or distributed.context_from_env()
        self.stderr = stderr or sys.stderr
        self.actor = f"phistack-runtime@{socket.gethostname()}" + (
            f"/rank{self.ctx.rank}" if self.ctx.distributed else ""
        )

    def run(self) -> RunReport:
        """Run the job; raises a :class:`PhistackError` (after auditing it) when it is refused or fails."""
        job = self.job
        log = self.services.open_audit(audit_path_for(job.audit.path, self.ctx), job.audit)
        audit = _Audited(log, self.actor, job.name)
        try:
            return self._run(audit)
        except PhistackError as err:
            if not audit.ended:
                audit.record("job.end", "failure", {"reason": err.diagnostic()})
            raise
        except Exception as err:
            # Not a user error, but the audit trail must still show that the job did not finish.
            audit.record("job.end", "failure", {"reason": f"internal error: {type(err).__name__}: {err}"})
            raise
        finally:
            log.close()

    def _run(self, audit: _Audited) -> RunReport:
        job = self.job
        started = time.perf_counter()
        if job.development:
            print(f"phistack-runtime: WARNING: {DEVELOPMENT_WARNING}", file=self.stderr)
            audit.record(
                "mode.development",
                "success",
                {"warning": DEVELOPMENT_WARNING, "classification": job.classification.value},
            )

        nonce = os.urandom(NONCE_BYTES)
        outcome = self.services.attest(nonce)
        audit.record(
            "attestation.result",
            "success" if outcome.confidential else "failure",
            {**outcome.summary(), "required": not job.development},
        )
        if not job.development and not outcome.confidential:
            reason = (
                f"{job.classification.value} job {job.name!r} refused: it needs a passing attestation "
                f"appraisal, and this machine is not confidential: {outcome.reason} ({outcome.reason_code})"
            )
            details = {"reason": reason, "classification": job.classification.value}
            audit.record("job.start", "denied", details)
            audit.ended = True
            raise VerificationError(reason)
        dataset = self._check_deidentified(audit, outcome)

        device = select_device(job.device)
        report = RunReport(
            job=job.name,
            workload=job.workload,
            classification=job.classification.value,
            development=job.development,
            device=str(device),
            device_name=device_name(device),
            world_size=self.ctx.world_size,
            attestation=outcome.summary(),
        )
        audit.record(
            "job.start",
            "success",
            {
                "workload": job.workload,
                "classification": job.classification.value,
                "development": job.development,
                "model_sha256": job.model.sha256,
                "device": report.device,
                "device_name": report.device_name,
                "inputs": len(job.inputs),
                "rank": self.ctx.rank,
                "world_size": self.ctx.world_size,
                **({"deidentification": dataset} if dataset is not None else {}),
            },
        )

        kek = self._obtain_kek(audit, outcome, nonce)
        try:
            workload = registry.get(job.workload)(device)
            workload.load(job.model.path, job.model.sha256)
            with (
                distributed.process_group(self.ctx, device) as ctx,
                GpuTelemetry(_nvml_index(device)) as telemetry,
            ):
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                pairs = distributed.shard(list(zip(job.inputs, job.outputs, strict=True)), ctx)
                local = [self._process(audit, workload, kek, src, dst).__dict__ for src, dst in pairs]
                everything = distributed.unshard(ctx, distributed.gather(ctx, local))
                distributed.barrier(ctx)
            report.objects = [ObjectResult(**item) for item in everything]
            report.telemetry = telemetry.summary()
            if device.type == "cuda":
                report.telemetry["torch_max_memory_allocated_bytes"] = torch.cuda.max_memory_allocated(device)
        finally:
            kek.close()
        report.seconds = round(time.perf_counter() - started, 4)
        audit.record(
            "job.end",
            "success",
            {
                "seconds": report.seconds,
                "objects": len([o for o in report.objects if o.rank == self.ctx.rank]),
                "records": sum(o.records for o in report.objects if o.rank == self.ctx.rank),
                "telemetry": report.telemetry,
            },
        )
        audit.ended = True
        return report

    def _check_deidentified(self, audit: _Audited, outcome: AttestationOutcome) -> dict[str, Any] | None:
        """Outside a TEE, deidentified data is loaded only when its signed manifest verifies against the
        job's trusted keys and the dataset's bytes match it; otherwise the job is refused and audited."""
        job = self.job
        if job.classification is not Classification.DEIDENTIFIED:
            return None
        if outcome.confidential and job.deidentification is None:
            return None  # inside a TEE the data is protected as PHI would be; a named manifest is still checked
        try:
            if job.deidentification is None:
                raise VerificationError(
                    "this machine is not confidential, so the job must name the dataset's signed "
                    "de-identification manifest and its trusted signers (deidentification: manifest, trusted_keys)"
                )
            return verify_job_dataset(job.deidentification)
        except VerificationError as err:
            reason = f"deidentified job {job.name!r} refused: {err}"
            audit.record("job.start", "denied", {"reason": reason, "classification": job.classification.value})
            audit.ended = True
            raise VerificationError(reason) from None

    def _obtain_kek(self, audit: _Audited, outcome: AttestationOutcome, nonce: bytes) -> Kek:
        job = self.job
        try:
            if job.development:
                assert job.kek_uri is not None  # the job spec guarantees it
                kek, notes = self.services.open_development_kek(job.kek_uri)
                source = {"source": "development file KEK", "kek_uri": job.kek_uri, "warnings": notes}
            else:
                assert job.key_broker is not None
                kek = self.services.obtain_broker_kek(job.key_broker, outcome, nonce)
                source = {"source": "key broker", "broker": job.key_broker.url}
        except PhistackError as err:
            details = {"operation": "obtain-key", "reason": err.diagnostic()}
            audit.record("data.access", "denied", details, "key")
            raise
        audit.record("data.access", "success", {"operation": "obtain-key", **source}, f"kek:{kek.kek_id}")
        return kek

    def _process(
        self, audit: _Audited, workload: Workload, kek: Kek, src: InputObject, dst: OutputObject
    ) -> ObjectResult:
        """Decrypt one input in memory, run the workload over it in batches, encrypt the results."""
        base = {"tenant": src.tenant}
        try:
            ciphertext = src.path.read_bytes()
        except OSError as err:
            reason = f"cannot read input: {err.strerror or err} ({src.path})"
            details = {**base, "operation": "decrypt", "reason": reason}
            audit.record("data.access", "failure", details, src.object_id)
            raise InputError(reason) from err
        try:
            plaintext = self.services.decrypt(kek, ciphertext, object_id=src.object_id, tenant=src.tenant)
        except PhistackError as err:
            details = {**base, "operation": "decrypt", "reason": err.diagnostic()}
            audit.record("data.access", "failure", details, src.object_id)
            raise
        audit.record(
            "data.access",
            "success",
            {**base, "operation": "decrypt", "bytes": len(plaintext), "path": str(src.path)},
            src.object_id,
        )

        records = workload.decode(plaintext, source=f"{src.object_id} from {src.path}")
        del plaintext  # the records hold what is needed; drop the decrypted buffer early
        started = time.perf_counter()
        batches = list(batched(records, self.job.batch_size))
        predictions = workload.run(batches)
        seconds = round(time.perf_counter() - started, 4)
        audit.record(
            "inference.request",
            "success",
            {
                **base,
                **workload.describe(),
                "records": len(records),
                "batches": len(batches),
                "batch_size": self.job.batch_size,
                "seconds": seconds,
            },
            src.object_id,
        )

        results = workload.encode(predictions)
        sealed = self.services.encrypt(kek, results, object_id=dst.object_id, tenant=src.tenant)
        dst.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(dst.path, sealed, mode=0o600)
        audit.record(
            "data.access",
            "success",
            {
                **base,
                "operation": "encrypt-write",
                "path": str(dst.path),
                "bytes": len(sealed),
                "ciphertext_sha256": hashlib.sha256(sealed).hexdigest(),
                "source_object": src.object_id,
            },
            dst.object_id,
        )
        return ObjectResult(
            object_id=src.object_id,
            output_object_id=dst.object_id,
            output_path=str(dst.path),
            records=len(records),
            batches=len(batches),
            seconds=seconds,
            rank=self.ctx.rank,
        )


def _nvml_index(device: torch.device) -> int:
    # NVML counts every GPU; torch counts the visible ones. They agree unless CUDA_VISIBLE_DEVICES
    # reorders them, which the container does not do.
    return device.index or 0 if device.type == "cuda" else 0


def run_job(job: JobSpec, *, services: Services | None = None) -> RunReport:
    """Run ``job`` in this process (rank and world size come from torchrun's environment, if any)."""
    return JobRunner(job, services=services).run()
