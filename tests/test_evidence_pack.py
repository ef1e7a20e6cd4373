"""`phistack evidence` end to end through the CLI: what a pack holds, waivers with approver and expiry, model
provenance, the matrix, self-contained HTML, and bad input (one line, exit 2, no partial directory)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from phistack.errors import InputError
from phistack.evidence import render
from phistack.evidence.catalogue import load_catalogue
from phistack.evidence.model import MatrixRow
from phistack.evidence.pack import MARKER, write_pack
from phistack.plan.document import dump_plan
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.paths import FIXTURES, MINI_PROJECT, REPO, STARTER_POLICIES
from tests.support.waivers import policy_copy_with_test_approvers, write_signed
from tests.test_evidence_plans import EVALUATION, MANIFEST, MODEL, WAIVERS, clinical_plan

MINI = ["--project", str(MINI_PROJECT), "--policies", str(STARTER_POLICIES)]
NOW = ["--now", "2026-11-27T12:00:00Z"]
HIPAA = ["--policies", str(REPO / "policies")]


@pytest.fixture(scope="module")
def hipaa(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The HIPAA policy library with the test-only approvers, so signed test waivers apply."""
    return ["--policies", str(policy_copy_with_test_approvers(REPO / "policies", tmp_path_factory.mktemp("hipaa")))]


def _sums_ok(pack: Path) -> None:
    for line in (pack / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((pack / name).read_bytes()).hexdigest() == digest, name


def _self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    # No stylesheet, image or font is fetched from anywhere: every URL in the page is a relative link.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html, re.IGNORECASE)
    assert "@import" not in html and "url(" not in html


@pytest.fixture(scope="module")
def waived_pack(tmp_path_factory: pytest.TempPathFactory, hipaa: list[str]) -> Path:
    """A denied PHI stack (no BAA) whose runc workload's pod security is waived, with a medical-device model to
    trace; a second waiver, of unwaivable PHI-CC-001, is refused."""
    base = tmp_path_factory.mktemp("waived")
    plan = base / "plan.json"
    plan.write_text(dump_plan(clinical_plan("sepsis-pilot", baa=False, runtime_class="runc")))
    refused = WAIVERS.split("\n", 1)[1].replace("WVR-2026-031", "WVR-2026-032").replace("PHI-POD-001", "PHI-CC-001")
    waivers = write_signed(base / "waivers.yaml", WAIVERS + refused)
    out = base / "pack"
    proc = run_cli("evidence", "--plan", str(plan), *hipaa, *NOW, "--waivers", str(waivers), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "wrote evidence pack for stack sepsis-pilot" in proc.stderr
    return out


def test_pack_holds_pages_decision_plan_and_checksums(waived_pack: Path) -> None:
    names = sorted(p.name for p in waived_pack.iterdir())
    assert names == sorted(
        [MARKER, "SHA256SUMS", "decision.json", "evidence.json", "evidence.md", "index.html", "plan.json"]
    )
    _sums_ok(waived_pack)
    decision = json.loads((waived_pack / "decision.json").read_text())
    assert decision["schema_version"] == "phistack.decision/v1" and decision["decision"] == "denied"
    plan_digest = "sha256:" + hashlib.sha256((waived_pack / "plan.json").read_bytes()).hexdigest()
    assert decision["plan_digest"] == plan_digest  # the page traces to the exact plan it was built from
    assert plan_digest in (waived_pack / "index.html").read_text()


def test_controls_in_the_pack_follow_the_decision(waived_pack: Path) -> None:
    evidence = json.loads((waived_pack / "evidence.json").read_text())
    statuses = {c["control"]: c["status"] for c in evidence["controls"]}
    assert statuses["baa"] == "not-met"
    assert statuses["encryption-in-use"] == "not-met"  # runc: PHI-CC-001 cannot be waived
    html = (waived_pack / "index.html").read_text()
    assert 'id="control-baa" data-control="baa" data-status="not-met"' in html
    assert "PHI-BAA-001" in html


def test_waivers_are_listed_with_approver_and_expiry(waived_pack: Path) -> None:
    html = (waived_pack / "index.html").read_text()
    row = re.search(r'<tr data-waiver="WVR-2026-031">.*?</tr>', html, re.DOTALL)
    assert row is not None
    for text in ("PHI-POD-001", "ciso@example-hospital.org", "verified", "sha256:", "2026-12-20", "single-tenant"):
        assert text in row.group(0)
    markdown = (waived_pack / "evidence.md").read_text()
    assert (
        "| WVR-2026-031 | `PHI-POD-001` | ciso@example-hospital.org (Chief Information Security Officer) | `sha256:"
        in markdown
    )
    assert "| verified | 2026-12-20 | active |" in markdown
    entry, _ = json.loads((waived_pack / "evidence.json").read_text())["waivers"]
    assert (entry["approver"], entry["expires"], entry["state"], entry["signature_status"]) == (
        "ciso@example-hospital.org",
        "2026-12-20",
        "active",
        "verified",
    )
    assert entry["key_id"].startswith("sha256:") and entry["refusal"] == ""
    assert entry["findings"], "the waiver lists the findings it covers"


def test_refused_waivers_are_listed_with_the_reason(waived_pack: Path) -> None:
    _, refused = json.loads((waived_pack / "evidence.json").read_text())["waivers"]
    assert (refused["id"], refused["state"]) == ("WVR-2026-032", "refused")
    assert refused["refusal"].startswith("PHI-CC-001 is unwaivable: no one may waive it")
    html = (waived_pack / "index.html").read_text()
    row = re.search(r'<tr data-waiver="WVR-2026-032">.*?</tr>', html, re.DOTALL)
    assert row is not None and "refused" in row.group(0) and "PHI-CC-001 is unwaivable" in row.group(0)
    assert '<span class="pill s-not-met">waiver refused</span>' in html
    markdown = (waived_pack / "evidence.md").read_text()
    assert "| refused: PHI-CC-001 is unwaivable" in markdown
    decision = json.loads((waived_pack / "decision.json").read_text())
    assert [w["id"] for w in decision["waivers_refused"]] == ["WVR-2026-032"]
    assert [w["id"] for w in decision["waivers_applied"]] == ["WVR-2026-031"]


def test_model_provenance_is_shown_for_medical_device_workloads(waived_pack: Path) -> None:
    html = (waived_pack / "index.html").read_text()
    row = re.search(r'<tr data-workload="sepsis-risk">.*?</tr>', html, re.DOTALL)
    assert row is not None
    assert f'title="{MODEL}"' in row.group(0) and f'title="{MANIFEST}"' in row.group(0)
    assert EVALUATION in row.group(0) and "complete" in row.group(0)
    markdown = (waived_pack / "evidence.md").read_text()
    assert f"`{MODEL}`" in markdown and EVALUATION in markdown


def test_gpu_inventory_and_provider_are_shown(waived_pack: Path) -> None:
    html = (waived_pack / "index.html").read_text()
    assert "A100 80GB" in html and "helix-gpu" in html and "secure-cloud" in html
    assert json.loads((waived_pack / "evidence.json").read_text())["gpu_cost"]["total_gpus"] == 4


def test_pages_are_self_contained(waived_pack: Path) -> None:
    _self_contained((waived_pack / "index.html").read_text())


def test_incomplete_provenance_is_flagged(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    partial = {"model_digest": MODEL, "training_data_manifest_digest": "latest", "evaluation_report": ""}
    plan.write_text(dump_plan(clinical_plan("device", provenance=partial)))
    out = tmp_path / "pack"
    proc = run_cli("evidence", "--plan", str(plan), *HIPAA, *NOW, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    html = (out / "index.html").read_text()
    assert "incomplete" in html
    assert "training-data manifest digest is not a sha256 digest; no evaluation report reference" in html


# --- coverage: what the rules understood ---------------------------------------------------------------


@pytest.fixture(scope="module")
def unknown_types_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pack of a real `pulumi preview --json` of AWS types no rule understands."""
    base = tmp_path_factory.mktemp("unknown-types")
    plan = base / "plan.json"
    preview = FIXTURES / "pulumi" / "aws-unknown-types.preview.json"
    assert run_cli("plan", "--from-preview", str(preview), "-o", str(plan)).returncode == 0
    out = base / "pack"
    proc = run_cli("evidence", "--plan", str(plan), *HIPAA, *NOW, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


NOTHING = "NOTHING IN SCOPE: none of the 5 resources is of a type any rule judges"
AWS_TYPES = ("aws:ec2/instance:Instance", "aws:ec2/securityGroup:SecurityGroup", "aws:s3/bucketV2:BucketV2")


def test_pack_of_unknown_types_says_nothing_in_scope_on_every_page(unknown_types_pack: Path) -> None:
    html = (unknown_types_pack / "index.html").read_text()
    assert '<span class="verdict nothing-in-scope" id="nothing-in-scope">NOTHING IN SCOPE</span>' in html
    block = re.search(r'<div id="coverage"[^>]*>.*?</div>', html, re.DOTALL)
    assert block is not None
    assert 'data-resources="5" data-in-scope="2" data-nothing-in-scope="true"' in block.group(0)
    assert NOTHING in block.group(0)
    for type_ in AWS_TYPES:
        assert f"<code>{type_}</code> — 1 resource" in block.group(0)
    markdown = (unknown_types_pack / "evidence.md").read_text()
    assert markdown.startswith("# HIPAA evidence: dev — ALLOWED — NOTHING IN SCOPE")
    assert f"> ⚠️ **{NOTHING}" in markdown and "- `aws:s3/bucketV2:BucketV2` — 1 resource" in markdown
    evidence = json.loads((unknown_types_pack / "evidence.json").read_text())
    assert evidence["coverage"]["nothing_in_scope"] is True and evidence["coverage"]["statement"].startswith(NOTHING)
    assert evidence["coverage"]["unknown_types"] == list(AWS_TYPES)
    decision = json.loads((unknown_types_pack / "decision.json").read_text())
    assert decision["coverage"]["nothing_in_scope"] is True and decision["decision"] == "allowed"


def test_no_control_is_met_when_nothing_is_in_scope(unknown_types_pack: Path) -> None:
    """Rules that found nothing in a plan they cannot read show nothing: no control reads "met"."""
    controls = json.loads((unknown_types_pack / "evidence.json").read_text())["controls"]
    assert controls and all(c["status"] != "met" for c in controls)
    assert any(c["reason"] == "no resource in the plan is of a type any rule judges" for c in controls)
    assert 'data-status="met"' not in (unknown_types_pack / "index.html").read_text()


def test_pack_of_a_compliant_plan_states_its_coverage(waived_pack: Path) -> None:
    evidence = json.loads((waived_pack / "evidence.json").read_text())
    coverage = evidence["coverage"]
    assert coverage["nothing_in_scope"] is False and coverage["resources"] == len(
        json.loads((waived_pack / "plan.json").read_text())["resources"]
    )
    assert 'data-nothing-in-scope="false"' in (waived_pack / "index.html").read_text()
    assert 'id="nothing-in-scope"' not in (waived_pack / "index.html").read_text()


# --- one stack with the matrix, and every stack -------------------------------------------------------


@pytest.fixture(scope="module")
def all_pack(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("all") / "pack"
    proc = run_cli("evidence", "--all", *MINI, *NOW, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc.stderr


def test_all_mode_writes_a_page_per_stack_and_the_matrix(all_pack: tuple[Path, str]) -> None:
    out, stderr = all_pack
    assert sorted(p.name for p in (out / "stacks").iterdir()) == ["dev", "runc", "unknown"]
    for stack in ("dev", "runc", "unknown"):
        for name in ("index.html", "evidence.md", "evidence.json", "decision.json", "plan.json"):
            assert (out / "stacks" / stack / name).is_file()
    assert (out / "index.html").read_text() == (out / "matrix.html").read_text()
    _sums_ok(out)
    # The two stacks that cannot be planned stay visible as error rows; the run says so.
    assert "warning: stack broken could not be evaluated" in stderr
    assert "wrote evidence pack for 3 of 5 stacks" in stderr


def test_matrix_has_a_row_per_stack_with_a_status_per_control(all_pack: tuple[Path, str]) -> None:
    out, _ = all_pack
    html = (out / "matrix.html").read_text()
    _self_contained(html)
    assert re.findall(r'<tr data-stack="([^"]+)"', html) == ["broken", "dev", "failing", "runc", "unknown"]
    assert '<a href="stacks/runc/index.html">runc</a>' in html
    runc = re.search(r'<tr data-stack="runc".*?</tr>', html, re.DOTALL)
    assert runc is not None
    # FIX-CC-001 cites 164.312(a)(2)(iv): the runc stack fails encryption at rest; the namespace rule passes.
    assert 'data-control="encryption-at-rest" data-status="not-met"' in runc.group(0)
    assert 'data-control="access-control" data-status="met"' in runc.group(0)
    assert 'data-control="baa" data-status="not-assessed"' in runc.group(0)
    broken = re.search(r'<tr data-stack="broken".*?</tr>', html, re.DOTALL)
    assert broken is not None and "s-error" in broken.group(0) and "invalid YAML" in broken.group(0)
    for label in ("Met", "Not met", "Waived", "N/A", "Not assessed"):
        assert f"</span> {label}</span>" in html  # the legend spells out every state in words
    markdown = (out / "matrix.md").read_text()
    assert "| runc | denied | ✗ Not met |" in markdown
    assert "nothing in scope" not in html  # the mini stacks each hold types the starter rules read


def test_stack_pages_in_all_mode_link_to_the_shared_matrix(all_pack: tuple[Path, str]) -> None:
    out, _ = all_pack
    page = (out / "stacks" / "dev" / "index.html").read_text()
    assert 'href="../../matrix.html"' in page and '<a href="../runc/index.html">runc</a>' in page
    assert '<tr data-stack="dev" class="current">' in page


def test_single_stack_pack_embeds_the_matrix(tmp_path: Path) -> None:
    out = tmp_path / "dev-pack"
    proc = run_cli("evidence", "dev", *MINI, *NOW, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    page = (out / "index.html").read_text()
    assert page.count('<table class="matrix"') == 1
    assert re.findall(r'<tr data-stack="([^"]+)"', page) == ["broken", "dev", "failing", "runc", "unknown"]
    assert (out / "matrix.html").is_file() and (out / "matrix.md").is_file()
    assert "FIX-ADV-001" in page  # a finding of a rule no control claims is still shown


# --- bad input ----------------------------------------------------------------------------------------


def test_unknown_stack_is_one_line_exit_2_and_no_directory(tmp_path: Path) -> None:
    out = tmp_path / "pack"
    proc = run_cli("evidence", "nosuch", *MINI, "-o", str(out))
    assert_one_line_error(proc, 2, "unknown stack 'nosuch'")
    assert list(tmp_path.iterdir()) == []


def test_waiver_for_a_rule_that_does_not_exist_is_one_line_exit_2_and_no_pack(tmp_path: Path, hipaa) -> None:
    """An evidence pack must not present a waiver that waives nothing (a typo in its rule id) as approved."""
    plan = tmp_path / "plan.json"
    plan.write_text(dump_plan(clinical_plan("sepsis-pilot", runtime_class="runc")))
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS.replace("rule: PHI-POD-001", "rule: PHI-POD-01"))
    out = tmp_path / "pack"
    proc = run_cli("evidence", "--plan", str(plan), *hipaa, *NOW, "--waivers", str(waivers), "-o", str(out))
    assert_one_line_error(
        proc, 2, f"{waivers}: waivers[0].rule: waiver WVR-2026-031 names rule PHI-POD-01, which does not exist"
    )
    assert not out.exists()


def test_unwritable_output_is_one_line_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = run_cli("evidence", "dev", *MINI, "--no-matrix", "-o", str(blocker / "pack"))
    assert_one_line_error(proc, 2, "cannot write the evidence pack", "is not a directory")
    proc = run_cli("evidence", "dev", *MINI, "--no-matrix", "-o", str(blocker))
    assert_one_line_error(proc, 2, "exists and is not a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_refuses_a_non_empty_directory_that_is_not_a_pack(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    proc = run_cli("evidence", "dev", *MINI, "--no-matrix", "-o", str(tmp_path))
    assert_one_line_error(proc, 2, "not empty and holds no earlier pack")
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_rerun_replaces_an_earlier_pack(tmp_path: Path) -> None:
    out = tmp_path / "pack"
    write_pack(out, {"index.html": "old", "stale.md": "old"}, "test")
    proc = run_cli("evidence", "dev", *MINI, *NOW, "--no-matrix", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert not (out / "stale.md").exists() and "HIPAA evidence: dev" in (out / "index.html").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]  # no staging or backup left beside it


def test_write_pack_leaves_nothing_behind_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "pack"
    with pytest.raises(InputError, match="cannot write the evidence pack"):
        write_pack(out, {"index.html": "ok", "index.html/child": "clash"}, "test")
    assert list(tmp_path.iterdir()) == []


def test_broken_policy_set_is_exit_3(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "bad.rego").write_text("package phistack.main\n\nresult := {\n")
    proc = run_cli(
        "evidence",
        "dev",
        "--project",
        str(MINI_PROJECT),
        "--policies",
        str(policies),
        "--no-matrix",
        "-o",
        str(tmp_path / "pack"),
    )
    assert proc.returncode == 3, proc.stderr
    assert not (tmp_path / "pack").exists()


def test_help_describes_the_command() -> None:
    proc = run_cli("evidence", "--help")
    assert proc.returncode == 0
    for text in ("--all", "--plan", "-o DIR", "matrix"):
        assert text in proc.stdout


def test_matrix_gate_column_marks_a_stack_with_nothing_in_scope() -> None:
    controls = list(load_catalogue().controls[:2])
    rows = [
        MatrixRow(stack="aws-import", verdict="allowed", nothing_in_scope=True),
        MatrixRow(stack="clinical-nlp", verdict="allowed"),
    ]
    context = render.matrix_context(rows, controls, lambda _: None)
    html = render.matrix_html(context, project="p", generated_at="2026-11-27T12:00:00Z", policy_digest="d", version="0")
    aws = re.search(r'<tr data-stack="aws-import".*?</tr>', html, re.DOTALL)
    assert aws is not None and 'data-nothing-in-scope="true"' in aws.group(0)
    assert "Allowed — nothing in scope" in aws.group(0) and "s-met" not in aws.group(0).split("</td>")[0]
    markdown = render.matrix_markdown(context, project="p", generated_at="2026-11-27T12:00:00Z")
    assert "| aws-import | allowed (nothing in scope) |" in markdown and "| clinical-nlp | allowed |" in markdown
