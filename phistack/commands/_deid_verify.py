"""``phistack deid verify``."""

from __future__ import annotations

from typing import Any


def register(actions: Any) -> None:
    """Add the ``verify`` action to ``phistack deid``."""
