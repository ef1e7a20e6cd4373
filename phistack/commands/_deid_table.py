"""``phistack deid table``."""

from __future__ import annotations

from typing import Any


def register(actions: Any) -> None:
    """Add the ``table`` action to ``phistack deid``."""
