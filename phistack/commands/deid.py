"""``phistack deid``: de-identify data before it leaves the hospital, and prove it with a signed manifest."""

from __future__ import annotations

from typing import Any

from phistack.commands import SUMMARIES, _deid_dicom, _deid_expert, _deid_table, _deid_verify
from phistack.commands._keygen import add_ed25519_keygen


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "deid",
        help=SUMMARIES["deid"],
        description=(
            "De-identify DICOM files (PS3.15 Annex E) or structured extracts (HIPAA Safe Harbor, "
            "45 CFR 164.514(b)(2)) into a new directory, and sign a manifest of what was done that the gate "
            "and the runtime check. Exit codes: 0 done, 1 a verification failed, 2 usage or bad input."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_ed25519_keygen(
        actions,
        help="write the organisation's de-identification signing key pair PREFIX.key (0600) and PREFIX.pub",
        use="`phistack deid dicom|table --key PREFIX.key` signs manifests with it; list PREFIX.pub's key id in "
        "policies/data/deid_signers.json so the gate trusts them.",
    )
    _deid_dicom.register(actions)
    _deid_table.register(actions)
    _deid_expert.register(actions)
    _deid_verify.register(actions)
