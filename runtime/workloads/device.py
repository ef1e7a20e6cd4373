"""Device selection: the GPU when present and allowed, otherwise the CPU; and a name for reports."""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path

import torch

from runtime.errors import InputError


def select_device(
    preference: str = "auto", *, cuda_available: Callable[[], bool] = torch.cuda.is_available
) -> torch.device:
    """``auto`` takes ``cuda`` when a CUDA device is visible, else ``cpu``; ``cuda`` without one is
    an error (the job asked for a GPU and must not silently run elsewhere)."""
    if preference == "cpu":
        return torch.device("cpu")
    if preference not in ("auto", "cuda"):
        raise InputError(f"unknown device preference {preference!r} (auto, cpu, cuda) (device)")
    if cuda_available():
        return torch.device("cuda", torch.cuda.current_device() if torch.cuda.is_initialized() else 0)
    if preference == "cuda":
        raise InputError("device 'cuda' requested but no CUDA device is available (device)")
    return torch.device("cpu")


def cpu_model_name() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def device_name(device: torch.device) -> str:
    """A human name for ``device``: the GPU's product name or the CPU model."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_model_name()
