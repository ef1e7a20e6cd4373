"""Where the files phistack ships with are: the policy library, its control matrix (docs/POLICIES.md) and the
reference project (Pulumi.yaml, the stack configs and the price catalogue).

A checkout keeps them beside the ``phistack`` package. An installed wheel has no checkout around it, so the
build copies them into the package, under ``phistack/_shipped/``, in the checkout's layout (build_hooks.py).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_BUNDLED = _PACKAGE / "_shipped"

ROOT = _BUNDLED if _BUNDLED.is_dir() else _PACKAGE.parent
"""The directory laid out like the checkout: ``policies/``, ``docs/POLICIES.md``, ``Pulumi.yaml``, ``stacks/``."""

POLICIES = ROOT / "policies"
"""The policy library phistack ships with."""
