"""``phistack deid dicom`` as a user runs it: a summary line, a manifest beside OUT, one-line errors with exit
code 2, and no output after a failure."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pydicom.data
import pytest

from runtime.deid.manifest import verify_dataset, verify_manifest
from runtime.ed25519 import key_id, load_public_key, write_keypair
from tests.support.cli import assert_one_line_error, run_cli

TEST_FILES = Path(pydicom.data.__file__).resolve().parent / "test_files"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """Inputs (a few pydicom files, one of them not DICOM), a signing key and a pseudonym secret."""
    inputs = tmp_path / "in" / "Doe^Jane"  # a folder named after a patient: it must not reach the output
    inputs.mkdir(parents=True)
    for name in ("CT_small.dcm", "MR_small.dcm", "SC_rgb_small_odd.dcm", "MR_truncated.dcm", "README.txt"):
        shutil.copy(TEST_FILES / name, inputs / name)
    write_keypair(tmp_path / "signer")
    secret = tmp_path / "secret"
    secret.write_bytes(os.urandom(32))
    secret.chmod(0o600)
    return tmp_path


def deid(work: Path, *extra: str, output: str = "out") -> list[str]:
    return [
        "deid", "dicom", str(work / "in"), "-o", str(work / output), "--key", str(work / "signer.key"),
        "--secret", str(work / "secret"), "--dataset", "ct-study", *extra,
    ]  # fmt: skip


def leftovers(work: Path) -> list[str]:
    return sorted(p.name for p in work.iterdir() if p.name.startswith(".out"))


def test_a_run_writes_the_layout_and_a_verifiable_manifest(work: Path) -> None:
    proc = run_cli(*deid(work, "--option", "rtmd"))
    assert proc.returncode == 0, proc.stderr
    summary = proc.stderr.strip().splitlines()[-1]
    assert "5 inputs: 2 de-identified" in summary and "1 quarantined, 2 rejected" in summary
    assert f"manifest {work / 'out.manifest.json'}" in summary
    public = load_public_key(work / "signer.pub")
    payload = verify_manifest(json.loads((work / "out.manifest.json").read_text()), {key_id(public): public})
    verify_dataset(payload, work / "out")
    assert payload["dataset"] == "ct-study" and payload["method"]["options"] == ["rtmd"]
    for entry in payload["outputs"]:
        assert entry["path"].startswith("2.25.") and entry["path"].count("/") == 2 and "Doe" not in entry["path"]
    assert leftovers(work) == []


def test_force_replaces_an_earlier_output_and_nothing_else(work: Path) -> None:
    assert run_cli(*deid(work)).returncode == 0
    assert_one_line_error(run_cli(*deid(work)), 2, "not empty", "--force")
    assert run_cli(*deid(work, "--force")).returncode == 0
    (work / "other").mkdir()
    (work / "other" / "notes.txt").write_text("keep me")
    assert_one_line_error(run_cli(*deid(work, "--force", output="other")), 2, "other", "not an earlier output")
    assert (work / "other" / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (lambda w: (w / "secret").chmod(0o644), ("secret", "chmod 600")),
        (lambda w: (w / "secret").write_bytes(b"short"), ("secret", "exactly 32 bytes")),
        (lambda w: (w / "signer.key").write_text("not a key"), ("signer.key",)),
        (lambda w: shutil.rmtree(w / "in"), ("in", "no such file or directory")),
    ],
    ids=["secret-readable", "secret-size", "bad-key", "missing-input"],
)
def test_bad_input_is_one_line_exit_2_and_leaves_no_output(
    work: Path, change: Callable[[Path], object], fragments: tuple[str, ...]
) -> None:
    change(work)
    assert_one_line_error(run_cli(*deid(work)), 2, *fragments)
    assert not (work / "out").exists() and not (work / "out.manifest.json").exists() and leftovers(work) == []


def test_a_manifest_inside_the_output_is_refused(work: Path) -> None:
    proc = run_cli(*deid(work, "--manifest", str(work / "out" / "m.json")))
    assert_one_line_error(proc, 2, "m.json", "cannot be inside the dataset it describes")


def test_unknown_options_and_bad_pixel_rules_are_usage_errors(work: Path) -> None:
    assert run_cli(*deid(work, "--option", "cg")).returncode == 2
    rules = work / "rules.yaml"
    rules.write_text(
        "rules:\n  - manufacturer: A\n    model: B\n    rows: 10\n    columns: 10\n    blank: [[0, 0, 20, 1]]\n"
    )
    assert_one_line_error(run_cli(*deid(work, "--pixel-rules", str(rules))), 2, "rules.yaml", "outside the image")
    assert not (work / "out").exists()


def test_force_never_replaces_a_dicom_tree_that_no_manifest_lists(work: Path) -> None:
    """An archive in study/series/instance.dcm layout looks like an output; without its manifest it is not one."""
    archive = work / "archive" / "1.2.3" / "4.5.6"
    archive.mkdir(parents=True)
    shutil.copy(TEST_FILES / "CT_small.dcm", archive / "7.8.9.dcm")
    proc = run_cli(*deid(work, "--force", output="archive"))
    assert_one_line_error(proc, 2, "archive", "not an earlier output")
    assert (archive / "7.8.9.dcm").read_bytes() == (TEST_FILES / "CT_small.dcm").read_bytes()
