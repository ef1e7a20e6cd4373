"""Workload plugins: the interface (:mod:`.base`), the registry (:mod:`.registry`) and the built-ins."""

from runtime.workloads import image_cnn, text_bow  # noqa: F401  (registers the built-ins)
from runtime.workloads.base import Prediction, Record, Workload, batched
from runtime.workloads.registry import get, names, register

__all__ = ["Prediction", "Record", "Workload", "batched", "get", "names", "register"]
