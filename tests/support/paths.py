"""Paths the tests share."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
MINI_PROJECT = FIXTURES / "projects" / "mini"
STARTER_POLICIES = FIXTURES / "policies" / "starter"
SARIF_SCHEMA = FIXTURES / "schemas" / "sarif-schema-2.1.0.json"
NVIDIA_VECTORS = FIXTURES / "nvidia"
