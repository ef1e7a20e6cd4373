"""Waivers as a real approver makes them: test-only approver keys, a policy set that lists them, signed files.

The keys and approver data in tests/fixtures/waivers/ are for tests only (their private keys are committed).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from phistack.commands.waiver import sign_file
from phistack.engine import PolicySet
from phistack.signing import load_private_key
from tests.support.paths import FIXTURES

WAIVER_FIXTURES = FIXTURES / "waivers"
TEST_APPROVERS = WAIVER_FIXTURES / "approvers.json"
CISO_KEY = WAIVER_FIXTURES / "ciso.key"  # ciso@example-hospital.org: may waive FIX-* and PHI-*
RETIRED_KEY = WAIVER_FIXTURES / "ciso-retired.key"  # the same approver's key, valid only during 2025
NETSEC_KEY = WAIVER_FIXTURES / "netsec.key"  # netsec@example-hospital.org: PHI-TLS-* and FIX-ADV-001 only
CISO = "ciso@example-hospital.org"
NETSEC = "netsec@example-hospital.org"


def with_test_approvers(policies: PolicySet) -> PolicySet:
    """``policies`` with the test approvers as ``data.approvers`` (in memory, for unit tests)."""
    data = {**policies.data, "approvers": json.loads(TEST_APPROVERS.read_text())}
    return dataclasses.replace(policies, data=data)


def policy_copy_with_test_approvers(source: Path, base: Path) -> Path:
    """A copy of the policy directory ``source`` under ``base`` whose data lists the test approvers."""
    target = base / f"{source.name}-with-test-approvers"
    if not target.exists():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".*"))
        (target / "data").mkdir(exist_ok=True)
        shutil.copyfile(TEST_APPROVERS, target / "data" / "approvers.json")
    return target


def sign_waivers(path: Path, key: Path = CISO_KEY, *, ids: list[str] | None = None) -> Path:
    """Sign the waivers in ``path`` in place, as ``phistack waiver sign`` does; return ``path``."""
    # No bound on expiry here: fixtures carry fixed dates, and the gate checks them against its --now.
    sign_file(path, load_private_key(key), ids, None)
    return path


def write_signed(path: Path, text: str, key: Path = CISO_KEY) -> Path:
    """Write a waiver file and sign every entry in it."""
    path.write_text(text)
    return sign_waivers(path, key)
