"""``phistack cost`` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _phistack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phistack", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_cost_table() -> None:
    result = _phistack("cost", "genomics")
    assert result.returncode == 0, result.stderr
    assert "H100 SXM" in result.stdout
    assert result.stdout.splitlines()[-1].split() == ["total", "8", "17.60", "12,848.00"]


def test_cost_json() -> None:
    result = _phistack("cost", "medical-imaging", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["hourly"], doc["monthly"], doc["pools"][0]["gpu_model"]) == (0.18, 131.4, "RTX 4090")


def test_cost_unknown_stack_exits_2() -> None:
    result = _phistack("cost", "nope")
    assert result.returncode == 2
    assert "unknown stack 'nope'" in result.stderr and "genomics" in result.stderr
