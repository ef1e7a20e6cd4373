"""``phistack deid dicom``."""

from __future__ import annotations

from typing import Any


def register(actions: Any) -> None:
    """Add the ``dicom`` action to ``phistack deid``."""
