"""The section catalogue (phistack/evidence/controls.yaml, ``sections``): every CFR section an evidence page can
show — one a control lists or one any rule of the HIPAA library cites — has a heading, so no page shows a bare
section number."""

from __future__ import annotations

from pathlib import Path

import pytest

from phistack.engine import load_policy_set
from phistack.errors import InputError
from phistack.evidence.catalogue import load_catalogue, normalize_cfr, rule_citations
from phistack.evidence.cloud import cloud_pools, infrastructure
from tests.support.cloud_plans import GKE_KEY, aks_cluster, aks_pool, gke_cluster, gke_pool, plan_of
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


# --- the Cloud infrastructure section -------------------------------------------------------------------


def test_cloud_section_lists_each_pool_with_its_keys_and_baa() -> None:
    plan = plan_of(gke_cluster(), gke_pool(), aks_cluster(), aks_pool())
    rows = {row.pool: row for row in infrastructure(plan, load_policy_set(REPO / "policies").data["baa"]["agreements"])}
    assert set(rows) == {"h100-cc", "system", "h100cc"}
    gke = rows["h100-cc"]
    assert (gke.cloud, gke.location, gke.machine_type, gke.gpu) == (
        "gcp",
        "us-central1 (us-central1-a)",
        "a3-highgpu-1g",
        "1 × H100",
    )
    assert gke.confidential == "TDX confidential VM, GPU in CC mode (confidentialNodes)"
    assert (gke.boot_disk_key, gke.secrets_key) == (GKE_KEY + "disk", GKE_KEY + "secrets")
    assert gke.baa.startswith("BAA-GCP-2026-03 (google-cloud")
    aks = rows["h100cc"]
    assert (aks.gpu, aks.confidential) == ("1 × H100 NVL", "SEV-SNP confidential VM, GPU in CC mode (VM size)")
    assert (aks.disk_encryption_set, aks.secrets_key) == ("des-1", "https://kv.vault.azure.net/keys/secrets/1")
    assert aks.baa.startswith("BAA-AZURE-2026-03 (microsoft-azure")
    assert (rows["system"].gpu, rows["system"].confidential) == ("none", "not confidential (VM size)")


@pytest.mark.parametrize(
    ("pool", "mode"),
    [
        (gke_pool(tee=None), "not confidential (confidentialNodes off)"),
        (gke_pool(tee="SEV_SNP"), "confidentialNodes asks for SEV_SNP, which a3-highgpu-1g does not offer"),
        (gke_pool(machine="a2-highgpu-1g"), "confidentialNodes asks for TDX, which a2-highgpu-1g does not offer"),
        (gke_pool(machine="a3-highgpu-8g"), "confidentialNodes asks for TDX, which a3-highgpu-8g does not offer"),
        (gke_pool(machine="a9-madeup-1g"), "unknown machine type 'a9-madeup-1g': not trusted"),
        (aks_pool(size="Standard_NC40ads_H100_v5"), "not confidential (VM size)"),
    ],
)
def test_a_weakened_pool_is_not_reported_confidential(pool: dict, mode: str) -> None:
    (row,) = [r for r in infrastructure(plan_of(pool), []) if r.pool == pool["name"]]
    assert row.confidential == mode
    assert row.baa == "none on file"


def test_an_inline_pool_also_declared_as_an_agent_pool_is_listed_once() -> None:
    duplicate = {"name": "h100cc", "vmSize": "Standard_NCC40ads_H100_v5", "count": 4}
    pools = [(p.cluster, p.name) for p in cloud_pools(plan_of(aks_cluster(extra_profiles=[duplicate]), aks_pool()))]
    assert sorted(pools) == [("aks-phi", "h100cc"), ("aks-phi", "system")]


def test_azure_sizes_are_matched_whatever_their_case() -> None:
    (row,) = infrastructure(plan_of(aks_pool(size="standard_ncc40ads_h100_v5")), [])
    assert row.gpu == "1 × H100 NVL"
