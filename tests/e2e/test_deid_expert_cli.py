"""``phistack deid expert``: an Expert Determination bound to a dataset's bytes, through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runtime.deid.manifest import file_sha256, load_manifest, verify_dataset, verify_manifest
from runtime.ed25519 import key_id, load_public_key
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.paths import REPO

DETERMINATION = ("--expert", "Dr. A. Statistician", "--method", "k-anonymity k=11; NER scrub reviewed on 500 notes",
                 "--determined", "2026-11-30")  # fmt: skip


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    notes = tmp_path / "notes"
    (notes / "2026").mkdir(parents=True)
    (notes / "2026" / "note-1.txt").write_text("Reviewed free text, no identifiers.\n")
    (notes / "index.csv").write_text("note,year\nnote-1,2026\n")
    assert run_cli("deid", "keygen", "-o", str(tmp_path / "signer")).returncode == 0
    return notes


def _expert(dataset: Path, *extra: str) -> object:
    return run_cli("deid", "expert", str(dataset), "--dataset", "notes-2026", *DETERMINATION,
                   "--key", str(dataset.parent / "signer.key"), *extra)  # fmt: skip


def test_the_determination_is_signed_and_covers_every_file(dataset: Path) -> None:
    report = dataset.parent / "report.pdf"
    report.write_bytes(b"%PDF- the expert's report")
    proc = _expert(dataset, "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    public = load_public_key(dataset.parent / "signer.pub")
    payload = verify_manifest(load_manifest(dataset.parent / "notes.manifest.json"), {key_id(public): public})
    verify_dataset(payload, dataset)
    assert payload["method"] == {
        "kind": "expert-determination",
        "profile": "hipaa-164.514(b)(1)",
        "expert": "Dr. A. Statistician",
        "method": "k-anonymity k=11; NER scrub reviewed on 500 notes",
        "determined": "2026-11-30",
        "report_sha256": file_sha256(report),
    }
    assert sorted(o["path"] for o in payload["outputs"]) == ["2026/note-1.txt", "index.csv"]


def test_the_gate_trusts_it_only_from_a_signer_trusted_for_expert_determinations(dataset: Path) -> None:
    assert _expert(dataset).returncode == 0
    manifest = str(dataset.parent / "notes.manifest.json")
    untrusted = run_cli("deid", "verify", manifest, "--dir", str(dataset))
    assert untrusted.returncode == 1 and "not a trusted de-identification signer" in untrusted.stdout + untrusted.stderr
    policies = dataset.parent / "policies"
    shutil.copytree(REPO / "policies", policies)
    signers = json.loads((policies / "data" / "deid_signers.json").read_text())
    public = (dataset.parent / "signer.pub").read_text()
    entry = {"key_id": key_id(load_public_key(dataset.parent / "signer.pub")), "public_key": public,
             "name": "records office", "methods": ["safe-harbor"]}  # fmt: skip
    signers["signers"].append(entry)
    (policies / "data" / "deid_signers.json").write_text(json.dumps(signers))
    wrong_method = run_cli("deid", "verify", manifest, "--dir", str(dataset), "--policies", str(policies))
    assert wrong_method.returncode == 1 and "not trusted for expert-determination" in wrong_method.stdout
    entry["methods"] = ["expert-determination"]
    (policies / "data" / "deid_signers.json").write_text(json.dumps(signers))
    trusted = run_cli("deid", "verify", manifest, "--dir", str(dataset), "--policies", str(policies))
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    (dataset / "index.csv").write_text("note,year,name\nnote-1,2026,Jane Doe\n")  # data changed after the review
    changed = run_cli("deid", "verify", manifest, "--dir", str(dataset), "--policies", str(policies))
    assert changed.returncode == 1 and "index.csv does not match its digest" in changed.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--determined", "30.11.2026"), "--determined: not a date (YYYY-MM-DD): '30.11.2026'"),
        (("--expert", " "), "--expert: name the expert"),
        (("--manifest", "{dataset}/inside.manifest.json"), "cannot be inside the dataset it describes"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(dataset: Path, change: tuple[str, str], message: str) -> None:
    proc = _expert(dataset, *(part.format(dataset=dataset) for part in change))
    assert_one_line_error(proc, 2, message)
    assert not list(dataset.parent.glob("*.manifest.json")) and not list(dataset.rglob("*.manifest.json"))


def test_an_existing_manifest_is_kept_without_force(dataset: Path) -> None:
    assert _expert(dataset).returncode == 0
    before = (dataset.parent / "notes.manifest.json").read_bytes()
    assert_one_line_error(_expert(dataset), 2, "refusing to overwrite an existing manifest without --force")
    assert (dataset.parent / "notes.manifest.json").read_bytes() == before
    assert _expert(dataset, "--force").returncode == 0


def test_links_and_empty_datasets_are_refused(dataset: Path, tmp_path: Path) -> None:
    (dataset / "elsewhere.txt").symlink_to(tmp_path / "signer.pub")
    assert_one_line_error(_expert(dataset), 2, "not a regular file")
    empty = tmp_path / "empty"
    empty.mkdir()
    key = str(tmp_path / "signer.key")
    proc = run_cli("deid", "expert", str(empty), "--dataset", "x", *DETERMINATION, "--key", key)
    assert_one_line_error(proc, 2, "no files")
