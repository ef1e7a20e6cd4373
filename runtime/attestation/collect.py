"""Collecting attestation evidence on this machine: GPUs through NVML, the CPU TEE through configfs-tsm.

``collect_evidence(nonce)`` returns a :class:`CollectionResult`. Environments that are not
confidential (no NVML bindings, no driver, no GPU, CC off, devtools mode, a simulated CC
environment) yield ``confidential=False`` with a stable reason code — never an exception.
The NVML module and the configfs root are injectable so every branch is testable without a GPU.
"""

from __future__ import annotations

import contextlib
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from runtime.attestation.evidence import CollectionResult, GpuEvidence
from runtime.attestation.spdm import NONCE_LENGTH
from runtime.attestation.tsm import DEFAULT_TSM_ROOT, collect_cpu_report

# NVML device architectures (nvml.h NVML_DEVICE_ARCH_*) that support confidential computing.
_ARCHITECTURES = {9: "HOPPER", 10: "BLACKWELL"}


def _load_nvml() -> ModuleType | str:
    try:
        return importlib.import_module("pynvml")
    except ImportError as err:
        return f"the NVML bindings (nvidia-ml-py) are not installed: {err}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _cc_state(nvml: Any) -> dict[str, Any]:
    """Read the system CC state (environment, CC feature, devtools mode) in words."""
    state = nvml.nvmlSystemGetConfComputeState()
    described = {
        "environment": {0: "unavailable", 1: "simulated", 2: "production"}.get(state.environment, state.environment),
        "cc_feature": "on" if state.ccFeature == nvml.NVML_CC_SYSTEM_FEATURE_ENABLED else "off",
        "devtools": "on" if state.devToolsMode == nvml.NVML_CC_SYSTEM_DEVTOOLS_MODE_ON else "off",
    }
    return described


def _not_confidential(nonce: bytes, code: str, reason: str, **extra: Any) -> CollectionResult:
    return CollectionResult(confidential=False, nonce=nonce, reason_code=code, reason=reason, **extra)


def collect_gpu_evidence(nonce: bytes, *, nvml: ModuleType | Any | None = None) -> CollectionResult:
    """Collect every GPU's report bound to ``nonce`` and its certificate chain, or say why not."""
    if len(nonce) != NONCE_LENGTH:
        raise ValueError(f"nonce must be {NONCE_LENGTH} bytes")
    module = nvml if nvml is not None else _load_nvml()
    if isinstance(module, str):
        return _not_confidential(nonce, "no-nvml", module)
    error_type: type[BaseException] = getattr(module, "NVMLError", Exception)
    try:
        module.nvmlInit()
    except error_type as err:
        return _not_confidential(nonce, "no-nvml", f"NVML could not start (no NVIDIA driver or GPU): {err}")
    try:
        return _collect_initialised(nonce, module, error_type)
    finally:
        # Shutting down a half-initialised library has nothing left to report.
        with contextlib.suppress(error_type):
            module.nvmlShutdown()


def _collect_initialised(nonce: bytes, nvml: Any, error_type: type[BaseException]) -> CollectionResult:
    try:
        count = nvml.nvmlDeviceGetCount()
    except error_type as err:
        return _not_confidential(nonce, "no-gpu", f"NVML cannot enumerate GPUs: {err}")
    if count == 0:
        return _not_confidential(nonce, "no-gpu", "no NVIDIA GPU is visible")
    try:
        state = _cc_state(nvml)
    except error_type as err:
        return _not_confidential(
            nonce, "cc-unsupported", f"the driver or GPU does not support confidential computing: {err}"
        )
    if state["cc_feature"] != "on":
        return _not_confidential(nonce, "cc-off", "confidential-computing mode is off", cc_state=state)
    if state["devtools"] == "on":
        return _not_confidential(
            nonce,
            "cc-devtools",
            "CC devtools mode is on: GPU memory is open to debugging tools",
            cc_state=state,
        )
    if state["environment"] != "production":
        return _not_confidential(
            nonce,
            "cc-not-production",
            f"CC environment is {state['environment']}, not production",
            cc_state=state,
        )
    gpus: list[GpuEvidence] = []
    for index in range(count):
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            report = nvml.nvmlDeviceGetConfComputeGpuAttestationReport(handle, nonce)
            certificate = nvml.nvmlDeviceGetConfComputeGpuCertificate(handle)
            arch = _ARCHITECTURES.get(nvml.nvmlDeviceGetArchitecture(handle), "UNKNOWN")
            uuid = _text(nvml.nvmlDeviceGetUUID(handle))
        except error_type as err:
            return _not_confidential(
                nonce,
                "evidence-failed",
                f"GPU {index}: reading attestation evidence failed: {err}",
                cc_state=state,
            )
        raw = bytes(report.attestationReport[: report.attestationReportSize])
        chain = bytes(certificate.attestationCertChain[: certificate.attestationCertChainSize])
        if not raw or not chain:
            return _not_confidential(
                nonce,
                "evidence-failed",
                f"GPU {index}: NVML returned an empty report or chain",
                cc_state=state,
            )
        gpus.append(GpuEvidence(raw, chain, arch, uuid))
    return CollectionResult(confidential=True, nonce=nonce, gpus=tuple(gpus), cc_state=state)


def collect_evidence(
    nonce: bytes,
    *,
    nvml: ModuleType | Any | None = None,
    tsm_root: Path = DEFAULT_TSM_ROOT,
    require_cpu_tee: bool = False,
) -> CollectionResult:
    """GPU evidence plus, where configfs-tsm is present, a CPU TEE report bound to the same nonce."""
    result = collect_gpu_evidence(nonce, nvml=nvml)
    cpu, note = collect_cpu_report(nonce, root=tsm_root)
    fields = {**result.__dict__, "cpu_tee": cpu, "cpu_tee_note": note}
    if result.confidential and require_cpu_tee and cpu is None:
        fields.update(confidential=False, reason_code="no-cpu-tee", reason=note)
    return CollectionResult(**fields)
