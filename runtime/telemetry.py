"""Per-job GPU telemetry through NVML (``nvidia-ml-py``): utilisation and memory, sampled while the
job runs and summarised into the job's audit record.

NVML is optional: on a machine without an NVIDIA driver the summary says ``available: false`` with
the reason, so an auditor can tell "no GPU" from "telemetry lost".
"""

from __future__ import annotations

import contextlib
import threading
import types
from typing import Any

_CC_FEATURE = {0: "off", 1: "on"}
_CC_DEVTOOLS = {0: "off", 1: "on"}


def _load_nvml() -> types.ModuleType | None:
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


def cc_state(nvml: Any) -> dict[str, str]:
    """The system's confidential-computing state as NVML reports it (needs an initialised NVML)."""
    try:
        state = nvml.nvmlSystemGetConfComputeState()
    except Exception as err:  # older drivers or GPUs without CC support
        return {"error": str(err) or type(err).__name__}
    return {
        "cc_feature": _CC_FEATURE.get(int(state.ccFeature), str(state.ccFeature)),
        "devtools_mode": _CC_DEVTOOLS.get(int(state.devToolsMode), str(state.devToolsMode)),
    }


class GpuTelemetry:
    """Context manager: samples one GPU every ``interval`` seconds between enter and exit.

    ``nvml`` may be injected (tests pass a fake); by default ``pynvml`` is imported if installed.
    """

    def __init__(self, device_index: int = 0, interval: float = 0.5, nvml: Any | None = None) -> None:
        self.device_index = device_index
        self.interval = interval
        self._nvml: Any = nvml if nvml is not None else _load_nvml()
        self._handle: Any = None
        self._reason: str | None = None
        self._static: dict[str, Any] = {}
        self._util: list[int] = []
        self._mem_used: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        """Whether NVML answered for the device."""
        return self._handle is not None

    def __enter__(self) -> GpuTelemetry:
        nvml = self._nvml
        if nvml is None:
            self._reason = "NVML unavailable: nvidia-ml-py is not installed"
            return self
        try:
            nvml.nvmlInit()
        except Exception as err:
            self._reason = f"NVML unavailable: {err}"
            return self
        try:
            self._handle = nvml.nvmlDeviceGetHandleByIndex(self.device_index)
            name = nvml.nvmlDeviceGetName(self._handle)
            self._static = {
                "gpu": name.decode() if isinstance(name, bytes) else str(name),
                "memory_total_bytes": int(nvml.nvmlDeviceGetMemoryInfo(self._handle).total),
                "cc_state": cc_state(nvml),
            }
        except Exception as err:
            self._handle = None
            self._reason = f"NVML has no GPU {self.device_index}: {err}"
            self._shutdown()
            return self
        self._sample()
        self._thread = threading.Thread(target=self._loop, name="nvml-telemetry", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._sample()
        if self._handle is not None:
            self._shutdown()

    def _shutdown(self) -> None:
        # Nothing useful to do on failure: the summary already holds what was sampled.
        with contextlib.suppress(Exception):
            self._nvml.nvmlShutdown()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        try:
            util = self._nvml.nvmlDeviceGetUtilizationRates(self._handle)
            mem = self._nvml.nvmlDeviceGetMemoryInfo(self._handle)
        except Exception:
            return  # a missed sample is not worth failing a clinical job over
        self._util.append(int(util.gpu))
        self._mem_used.append(int(mem.used))

    def summary(self) -> dict[str, Any]:
        """What goes into the audit record: either the figures or why there are none."""
        if not self.available:
            return {"available": False, "reason": self._reason or "telemetry was not started"}
        out: dict[str, Any] = {"available": True, **self._static, "samples": len(self._util)}
        if self._util:
            out["utilization_gpu_pct"] = {
                "mean": round(sum(self._util) / len(self._util), 1),
                "max": max(self._util),
            }
            out["memory_used_bytes"] = {"max": max(self._mem_used)}
        return out
