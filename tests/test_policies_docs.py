"""docs/POLICIES.md is generated from the rules' METADATA and must be kept in sync."""

from __future__ import annotations

from pathlib import Path

from phistack.engine import load_policy_set
from phistack.policydocs import BEGIN, END, build, check_file, render
from tests.support.paths import REPO

DOC = REPO / "docs" / "POLICIES.md"
POLICIES = REPO / "policies"


def test_policies_md_is_in_sync() -> None:
    assert check_file(POLICIES, DOC), "docs/POLICIES.md is stale: run `phistack policy docs`"


def test_matrix_names_every_rule_and_citation() -> None:
    text = render(POLICIES)
    for rule_id, meta in load_policy_set(POLICIES).rules_metadata().items():
        assert f"### {rule_id}" in text
        for citation in meta["custom"]["citations"]:
            assert citation["cfr"] in text


def test_hand_written_tail_survives(tmp_path: Path) -> None:
    out = tmp_path / "POLICIES.md"
    out.write_text(f"{BEGIN}\nSTALE-LINE\n{END}\n\n## Requests to modules\n\n- keep me\n")
    text = build(POLICIES, out)
    assert text.startswith(BEGIN) and "STALE-LINE" not in text
    assert text.endswith("## Requests to modules\n\n- keep me\n")
