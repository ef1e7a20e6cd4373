"""The section catalogue (phistack/evidence/controls.yaml, ``sections``): every CFR section an evidence page can
show — one a control lists or one any rule of the HIPAA library cites — has a heading, so no page shows a bare
section number."""

from __future__ import annotations

from pathlib import Path

import pytest

from phistack.engine import load_policy_set
from phistack.errors import InputError
from phistack.evidence.catalogue import load_catalogue, normalize_cfr, rule_citations
from tests.support.paths import REPO, STARTER_POLICIES


@pytest.mark.parametrize("root", [REPO / "policies", STARTER_POLICIES], ids=["hipaa", "starter"])
def test_every_section_a_rule_cites_has_a_title(root: Path) -> None:
    catalogue = load_catalogue()
    rules = load_policy_set(root).rules_metadata()
    cited = {
        normalize_cfr(citation["cfr"]): rule_id for rule_id, meta in rules.items() for citation in rule_citations(meta)
    }
    assert cited, "the policy set cites no section: the check would prove nothing"
    untitled = {section: rule for section, rule in cited.items() if catalogue.section(section) is None}
    assert untitled == {}, f"sections cited without a title in controls.yaml (section: a rule citing it): {untitled}"


def test_every_section_a_control_lists_has_a_title() -> None:
    catalogue = load_catalogue()
    for control in catalogue.controls:
        for section in control.cfr:
            titled = catalogue.section(section)
            assert titled is not None and titled.title.strip(), (control.id, section)


def test_a_section_is_found_however_it_is_written() -> None:
    catalogue = load_catalogue()
    for spelling in ("45 CFR 164.312(e)(2)(i)", "45 CFR § 164.312(e)(2)(i)", "164.312(e)(2)(i)"):
        section = catalogue.section(spelling)
        assert section is not None and (section.title, section.type) == ("Integrity controls", "addressable")
    assert catalogue.section("45 CFR 164.312(e)(2)(iii)") is None


def test_a_control_listing_an_untitled_section_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "controls.yaml"
    path.write_text(
        "controls:\n  - {id: a, title: A, cfr: ['164.312(b)', '164.312(e)(2)(i)']}\n"
        "sections:\n  '164.312(b)': {title: Audit controls}\n"
    )
    with pytest.raises(InputError, match=r"controls\[0\]\.cfr: section 164\.312\(e\)\(2\)\(i\) has no title"):
        load_catalogue(path)
    path.write_text(
        "controls:\n  - {id: a, title: A}\n"
        "sections:\n  '164.312(b)': {title: Audit controls}\n  '45 CFR 164.312(b)': {title: Audit}\n"
    )
    with pytest.raises(InputError, match="listed twice"):
        load_catalogue(path)
