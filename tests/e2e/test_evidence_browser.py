"""The evidence pack in a real headless Chromium: pages render, the matrix has a row per stack with a readable
(not colour-only) cell per control, no console errors, nothing fetched from the network. Screenshots are kept
under test-artifacts/evidence/ at the repository root."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from phistack.evidence import render
from phistack.evidence.catalogue import load_catalogue
from phistack.evidence.model import MatrixRow
from phistack.evidence.status import ControlStatus
from phistack.plan.document import dump_plan
from phistack.plan.offline import load_project
from tests.support.browser import Chromium
from tests.support.cli import run_cli
from tests.support.paths import MINI_PROJECT, REPO, STARTER_POLICIES
from tests.support.waivers import policy_copy_with_test_approvers, write_signed
from tests.test_evidence_plans import DEMO_DATASET, MODEL, WAIVERS, PlanBuilder, clinical_plan, full_provenance

ARTIFACTS = REPO / "test-artifacts" / "evidence"
NOW = ["--now", "2026-11-27T12:00:00Z"]
STATUS_WORDS = ("Met", "Not met", "Waived", "N/A", "Not assessed", "Error")


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    with Chromium(width=1400, height=1000) as chromium:
        yield chromium


def _evidence(*args: str) -> None:
    proc = run_cli("evidence", *args)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def mini_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mini") / "pack"
    _evidence("--all", "--project", str(MINI_PROJECT), "--policies", str(STARTER_POLICIES), *NOW, "-o", str(out))
    return out


@pytest.fixture(scope="module")
def clinical_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A realistic PHI stack on the HIPAA policy library: a missing BAA, a waived runc workload, a SaMD model."""
    base = tmp_path_factory.mktemp("clinical")
    plan = base / "plan.json"
    plan.write_text(dump_plan(clinical_plan("sepsis-pilot", baa=False, runtime_class="runc")))
    waivers = write_signed(base / "waivers.yaml", WAIVERS)
    policies = policy_copy_with_test_approvers(REPO / "policies", base)
    out = base / "pack"
    _evidence("--plan", str(plan), "--policies", str(policies), "--waivers", str(waivers), *NOW, "-o", str(out))
    return out


def _shoot(browser: Chromium, name: str) -> Path:
    path = browser.screenshot(ARTIFACTS / name)
    print(f"screenshot: {path}")
    assert path.stat().st_size > 10_000
    return path


def _clean_load(browser: Chromium, page: Path) -> None:
    report = browser.open(page.as_uri())
    assert report.console_errors == [], report.console_errors
    assert report.remote_requests == [], report.remote_requests
    assert browser.evaluate("document.scripts.length") == 0


def _matrix_rows(browser: Chromium) -> list[dict[str, object]]:
    rows = browser.evaluate(
        """JSON.stringify([...document.querySelectorAll('#compliance-matrix tbody tr')].map(tr => ({
            stack: tr.dataset.stack,
            cells: [...tr.querySelectorAll('td.cell[data-control]')].map(td => ({
                control: td.dataset.control, status: td.dataset.status, text: td.innerText.trim(),
                background: getComputedStyle(td).backgroundColor + getComputedStyle(td).backgroundImage,
            })),
        })))"""
    )
    parsed: list[dict[str, object]] = json.loads(rows)
    return parsed


def _assert_matrix(browser: Chromium, stacks: list[str]) -> list[dict[str, object]]:
    rows = _matrix_rows(browser)
    assert [row["stack"] for row in rows] == stacks
    controls = browser.evaluate("document.querySelectorAll('#compliance-matrix thead th').length") - 4
    backgrounds: dict[str, set[str]] = {}
    for row in rows:
        cells = row["cells"]
        assert isinstance(cells, list) and len(cells) == controls
        for cell in cells:
            # Every cell says its state in words (and a symbol), so it reads without colour.
            assert any(cell["text"].endswith(word) for word in STATUS_WORDS), cell
            backgrounds.setdefault(cell["status"], set()).add(cell["background"])
    # ...and it is a heat map: each state has one look, and different states look different.
    assert all(len(looks) == 1 for looks in backgrounds.values()), backgrounds
    looks = [next(iter(v)) for v in backgrounds.values()]
    assert len(set(looks)) == len(looks)
    legend = browser.evaluate("[...document.querySelectorAll('.legend li')].map(li => li.innerText).join('|')")
    for word in STATUS_WORDS:
        assert word in legend
    return rows


def _assert_matrix_fits(browser: Chromium) -> None:
    """In a 1,400 px window every column of the matrix is in view, GPU and cost included. The table sits in a
    scroll box of its own, so a document-wide scrollWidth check cannot see columns hidden behind that box's
    scrollbar: measure the box and every header cell."""
    fit = json.loads(
        browser.evaluate(
            """JSON.stringify((() => {
                const wrap = document.querySelector('.matrix-wrap');
                const box = wrap.getBoundingClientRect();
                return {
                    inner: window.innerWidth, scroll: wrap.scrollWidth, client: wrap.clientWidth, right: box.right,
                    page: document.documentElement.scrollWidth,
                    heads: [...document.querySelectorAll('#compliance-matrix thead th')].map(th =>
                        [th.innerText.replace(/\\s+/g, ' ').trim(), th.getBoundingClientRect().right]),
                };
            })())"""
        )
    )
    assert fit["inner"] == 1400, fit
    assert fit["page"] <= fit["inner"], fit  # no horizontal scroll of the page
    assert fit["scroll"] <= fit["client"], f"matrix columns hidden behind its scrollbar: {fit}"
    edge = min(fit["right"], fit["inner"]) + 0.5  # sub-pixel layout
    hidden = [name for name, right in fit["heads"] if right > edge]
    assert hidden == [], f"columns past the visible edge: {hidden} ({fit})"
    assert [name for name, _ in fit["heads"]][-2:] == ["GPUs", "GPU cost / month"]


def test_matrix_page_renders_a_row_per_stack(browser: Chromium, mini_pack: Path) -> None:
    _clean_load(browser, mini_pack / "matrix.html")
    assert browser.evaluate("document.title") == "HIPAA compliance matrix — mini"
    rows = _assert_matrix(browser, load_project(MINI_PROJECT).stacks())
    runc = next(row for row in rows if row["stack"] == "runc")
    cells = runc["cells"]
    assert isinstance(cells, list)
    statuses = {c["control"]: c["status"] for c in cells}
    assert statuses["encryption-at-rest"] == "not-met" and statuses["access-control"] == "met"
    _assert_matrix_fits(browser)
    _shoot(browser, "matrix.png")


def test_widest_matrix_fits_1400_px(browser: Chromium, tmp_path: Path) -> None:
    """The worst case the matrix must still fit: every control of the catalogue (optional ones included), the
    widest state in every cell, long stack names, a six-figure monthly cost."""
    controls = list(load_catalogue().controls)
    stacks = ["noncompliant-plaintext-phi-on-community-cloud", "clinical-decision-support-eu-west", "genomics"]
    rows = [
        MatrixRow(
            stack=stack,
            verdict="allowed",
            statuses={c.id: ControlStatus.NOT_ASSESSED for c in controls},
            reasons={c.id: "nothing proved it" for c in controls},
            gpus=1024,
            monthly=1_234_567.89,
            nothing_in_scope=True,
        )
        for stack in stacks
    ]
    rows.append(MatrixRow(stack="broken-stack-that-could-not-be-planned", error="stacks/Pulumi.x.yaml: invalid"))
    page = tmp_path / "matrix.html"
    page.write_text(
        render.matrix_html(
            render.matrix_context(rows, controls, lambda stack: None),
            project="phistack",
            generated_at="2026-11-27T12:00:00Z",
            policy_digest="sha256:" + "0" * 64,
            version="0.1.0",
        )
    )
    _clean_load(browser, page)
    assert browser.evaluate("document.querySelectorAll('#compliance-matrix thead th').length") == len(controls) + 4
    _assert_matrix_fits(browser)
    _shoot(browser, "matrix-widest.png")


def test_stack_page_in_all_mode_links_to_its_neighbours(browser: Chromium, mini_pack: Path) -> None:
    _clean_load(browser, mini_pack / "stacks" / "dev" / "index.html")
    _assert_matrix(browser, load_project(MINI_PROJECT).stacks())
    _assert_matrix_fits(browser)
    href = browser.evaluate("document.querySelector('#compliance-matrix a[href$=\"runc/index.html\"]').href")
    _clean_load(browser, Path(href.removeprefix("file://")))
    assert browser.evaluate("document.querySelector('#verdict').innerText") == "DENIED"


def test_stack_page_shows_controls_waivers_and_provenance(browser: Chromium, clinical_pack: Path) -> None:
    _clean_load(browser, clinical_pack / "index.html")
    assert browser.evaluate("document.querySelector('h1').innerText").startswith("HIPAA evidence: sepsis-pilot")
    controls = json.loads(
        browser.evaluate(
            "JSON.stringify([...document.querySelectorAll('table.requirements tbody tr')]"
            ".map(tr => [tr.dataset.control, tr.dataset.status]))"
        )
    )
    assert dict(controls)["baa"] == "not-met"
    assert {
        "encryption-at-rest",
        "encryption-in-transit",
        "encryption-in-use",
        "access-control",
        "audit-logging",
    } <= dict(controls).keys()
    waiver = browser.evaluate("document.querySelector('tr[data-waiver=\"WVR-2026-031\"]').innerText")
    assert "ciso@example-hospital.org" in waiver and "2026-12-20" in waiver and "verified" in waiver
    workload = browser.evaluate("document.querySelector('tr[data-workload=\"sepsis-risk\"]').innerHTML")
    assert MODEL in workload and "complete" in workload
    # Wide tables stay inside the page: nothing forces a horizontal scroll at 1400 px.
    assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _shoot(browser, "stack.png")


def test_single_stack_packs_on_the_hipaa_library(browser: Chromium, tmp_path: Path) -> None:
    """A full PHI stack and an out-of-scope (de-identified) one, gated by the project's policy library."""
    policies = ["--policies", str(REPO / "policies"), *NOW]
    full = tmp_path / "clinical-nlp.json"
    full.write_text(dump_plan(clinical_plan("clinical-nlp", samd=False, provenance=full_provenance())))
    _evidence("--plan", str(full), *policies, "-o", str(tmp_path / "clinical-nlp"))
    _clean_load(browser, tmp_path / "clinical-nlp" / "index.html")
    verdict = json.loads((tmp_path / "clinical-nlp" / "decision.json").read_text())["decision"]
    assert browser.evaluate("document.querySelector('#verdict').innerText") == verdict.upper()

    builder = PlanBuilder("imaging")  # de-identified with proof: the demonstration dataset's signed manifest
    builder.datasets.append(DEMO_DATASET)
    builder.cluster(data_classification="deidentified")
    builder.workload(name="xray", data_classification="deidentified", runtime_class=None, dataset=DEMO_DATASET["name"])
    (tmp_path / "imaging.json").write_text(dump_plan(builder.plan()))
    _evidence("--plan", str(tmp_path / "imaging.json"), *policies, "-o", str(tmp_path / "imaging"))
    _clean_load(browser, tmp_path / "imaging" / "index.html")
    assert "de-identified" in browser.evaluate("document.querySelector('p.note').innerText")
    # Out of HIPAA scope: a control is not applicable unless one of its rules still found something.
    evidence = json.loads((tmp_path / "imaging" / "evidence.json").read_text())
    for control in evidence["controls"]:
        found = any(rule["findings"] for rule in control["rules"])
        assert control["status"] == "not-applicable" or found, control


def test_the_checks_catch_console_errors_and_network_requests(browser: Chromium, tmp_path: Path) -> None:
    """The clean-load assertions are not vacuous: a broken local page trips every one of them."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><title>broken</title><script>console.error('boom'); missing()</script>"
        "<img src='http://127.0.0.1:9/pixel.png'>"
    )
    report = browser.open(page.as_uri())
    joined = "\n".join(report.console_errors)
    assert "console.error: boom" in joined and "missing is not defined" in joined
    assert report.remote_requests == ["http://127.0.0.1:9/pixel.png"]


def test_reference_stacks_render(browser: Chromium, tmp_path: Path) -> None:
    """The project's own reference stacks on the HIPAA library, once they are in the checkout."""
    if not (REPO / "Pulumi.yaml").is_file() or not load_project(REPO).stacks():
        pytest.skip("the reference stacks (Pulumi.yaml, stacks/Pulumi.*.yaml) are not in this checkout yet")
    stacks = load_project(REPO).stacks()
    out = tmp_path / "pack"
    proc = run_cli("evidence", "--all", "--project", str(REPO), *NOW, "-o", str(out), timeout=600)
    assert proc.returncode == 0, proc.stderr
    _clean_load(browser, out / "matrix.html")
    rows = _assert_matrix(browser, stacks)
    _assert_matrix_fits(browser)
    _shoot(browser, "reference-matrix.png")
    errors = browser.evaluate("[...document.querySelectorAll('td.cell.s-error')].length")
    assert errors == 0, f"some reference stacks could not be evaluated: {proc.stderr}"
    denied = [r["stack"] for r in rows if str(r["stack"]).startswith("noncompliant-")]
    for stack in denied:
        _clean_load(browser, out / "stacks" / str(stack) / "index.html")
        assert browser.evaluate("document.querySelector('#verdict').innerText") == "DENIED"
    first = next(s for s in stacks if not s.startswith("noncompliant-"))
    _clean_load(browser, out / "stacks" / first / "index.html")
    _shoot(browser, "reference-stack.png")
