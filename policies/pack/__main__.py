"""The phistack HIPAA gate as a Pulumi CrossGuard policy pack.

``pulumi preview --policy-pack policies/pack`` (or ``pulumi up --policy-pack policies/pack``) runs this
program; it serves two stack validation policies built by :mod:`phistack.deploy.crossguard`, which
evaluate the project's Rego (``policies/``) against the stack: mandatory findings are mandatory
violations, advisory and waived findings are advisory ones, and unknown values block.

Settings (environment variables, read when the pack starts):
- ``PHISTACK_POLICIES``: the policy directory (default: ``policies/``, this pack's parent);
- ``PHISTACK_PROJECT``: the project root, for ``stacks/waivers/<stack>.yaml`` (default: the repository root);
- ``PHISTACK_ENGINE``: the Rego engine, ``regorus`` (default) or ``regopy``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACK_DIR.parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # a plain checkout works without installing phistack

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from phistack.deploy.crossguard import CrossGuardGate  # noqa: E402

gate = CrossGuardGate(
    Path(os.environ.get("PHISTACK_POLICIES") or PACK_DIR.parent),
    Path(os.environ.get("PHISTACK_PROJECT") or REPO_ROOT),
    engine=os.environ.get("PHISTACK_ENGINE") or "regorus",
)

PolicyPack(
    name="phistack-hipaa",
    description="phistack HIPAA gate: the Rego policies of phistack, evaluated by CrossGuard.",
    policies=gate.policies(),
    enforcement_level=EnforcementLevel.ADVISORY,  # each policy sets its own level
)
