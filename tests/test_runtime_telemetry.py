"""NVML telemetry: figures when a GPU answers, "unavailable" with the reason when not."""

from __future__ import annotations

import types

from runtime import telemetry
from runtime.telemetry import GpuTelemetry


class _NvmlError(Exception):
    pass


def _fake_nvml(*, init_fails: bool = False) -> types.SimpleNamespace:
    calls: dict[str, int] = {"shutdown": 0}

    def init() -> None:
        if init_fails:
            raise _NvmlError("NVML Shared Library Not Found")

    def shutdown() -> None:
        calls["shutdown"] += 1

    return types.SimpleNamespace(
        calls=calls,
        nvmlInit=init,
        nvmlShutdown=shutdown,
        nvmlDeviceGetHandleByIndex=lambda i: f"gpu{i}",
        nvmlDeviceGetName=lambda h: b"NVIDIA H100 80GB HBM3",
        nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(total=80 << 30, used=3 << 30),
        nvmlDeviceGetUtilizationRates=lambda h: types.SimpleNamespace(gpu=87, memory=40),
        nvmlSystemGetConfComputeState=lambda: types.SimpleNamespace(ccFeature=1, devToolsMode=0),
    )


def test_absent_nvml_is_recorded_as_unavailable(monkeypatch) -> None:
    monkeypatch.setattr(telemetry, "_load_nvml", lambda: None)
    with GpuTelemetry() as sampler:
        pass
    assert sampler.summary() == {"available": False, "reason": "NVML unavailable: nvidia-ml-py is not installed"}


def test_nvml_without_a_driver_is_recorded_with_the_reason() -> None:
    with GpuTelemetry(nvml=_fake_nvml(init_fails=True)) as sampler:
        pass
    summary = sampler.summary()
    assert summary["available"] is False and "NVML Shared Library Not Found" in summary["reason"]


def test_real_bindings_on_this_machine_never_raise() -> None:
    # On a machine without a driver this is "unavailable"; on a GPU machine, figures. Either way no error.
    with GpuTelemetry(interval=0.01) as sampler:
        pass
    assert isinstance(sampler.summary()["available"], bool)


def test_samples_utilisation_and_memory() -> None:
    fake = _fake_nvml()
    with GpuTelemetry(interval=0.001, nvml=fake) as sampler:
        pass
    summary = sampler.summary()
    assert summary["available"] is True
    assert summary["gpu"] == "NVIDIA H100 80GB HBM3"
    assert summary["utilization_gpu_pct"] == {"mean": 87.0, "max": 87}
    assert summary["memory_used_bytes"] == {"max": 3 << 30}
    assert summary["memory_total_bytes"] == 80 << 30
    assert summary["cc_state"] == {"cc_feature": "on", "devtools_mode": "off"}
    assert summary["samples"] >= 2 and fake.calls["shutdown"] == 1
