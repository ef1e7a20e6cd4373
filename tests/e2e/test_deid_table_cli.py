"""``phistack deid table`` as a user runs it: outputs, a manifest that verifies, one-line errors, nothing partial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.deid.manifest import file_sha256, load_manifest, verify_dataset, verify_manifest
from runtime.ed25519 import key_id, load_public_key
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.paths import FIXTURES

DEID = FIXTURES / "deid"


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    proc = run_cli("deid", "keygen", "-o", str(tmp_path / "signer"))
    assert proc.returncode == 0, proc.stderr
    secret = tmp_path / "pseudonym.secret"
    secret.write_bytes(bytes(range(32)))
    secret.chmod(0o600)
    return {"key": tmp_path / "signer.key", "pub": tmp_path / "signer.pub", "secret": secret}


def _table(keys: dict[str, Path], out: Path, *inputs: Path, schema: Path = DEID / "schema.yaml", extra: tuple = ()):
    return run_cli(
        "deid", "table", *map(str, inputs), "-o", str(out), "--schema", str(schema),
        "--key", str(keys["key"]), "--secret", str(keys["secret"]), "--dataset", "cohort-a", *extra,
    )  # fmt: skip


def _nothing_written(tmp_path: Path, out: Path) -> None:
    assert not out.exists() and not Path(f"{out}.manifest.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{out.name}.")]  # no staging left behind


def test_table_writes_outputs_and_a_manifest_that_verifies(tmp_path: Path, keys: dict[str, Path]) -> None:
    out = tmp_path / "deid"
    inputs = (DEID / "patients.csv", DEID / "bundle.json", DEID / "more-patients.csv")
    proc = _table(keys, out, *inputs)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"phistack: de-identified 3 file(s) into {out}")
    assert sorted(p.name for p in out.iterdir()) == ["bundle-0001.json", "table-0001.csv", "table-0002.csv"]
    document = load_manifest(tmp_path / "deid.manifest.json")
    public = load_public_key(keys["pub"])
    payload = verify_manifest(document, {key_id(public): public})
    verify_dataset(payload, out)
    assert payload["dataset"] == "cohort-a"
    method = payload["method"]
    assert (method["kind"], method["profile"]) == ("safe-harbor", "hipaa-164.514(b)(2)")
    assert method["schema_sha256"] == file_sha256(DEID / "schema.yaml")
    assert [entry["id"] for entry in method["identifiers"]] == list("ABCDEFGHIJKLMNOPQR")
    assert {o["input_sha256"] for o in payload["outputs"]} == {file_sha256(p) for p in inputs}
    text = json.dumps(document)
    assert "patients" not in text and "bundle.json" not in text  # inputs are named by digest only
    assert payload["counts"]["rows"] == 6 and payload["counts"]["entries"] == 4


def test_force_replaces_an_earlier_output_and_nothing_else(tmp_path: Path, keys: dict[str, Path]) -> None:
    out = tmp_path / "deid"
    assert _table(keys, out, DEID / "patients.csv").returncode == 0
    assert_one_line_error(_table(keys, out, DEID / "more-patients.csv"), 2, str(out), "not empty", "--force")
    proc = _table(keys, out, DEID / "more-patients.csv", extra=("--force",))
    assert proc.returncode == 0, proc.stderr
    payload = load_manifest(tmp_path / "deid.manifest.json")["payload"]
    assert payload["outputs"][0]["input_sha256"] == file_sha256(DEID / "more-patients.csv")
    verify_dataset(payload, out)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep-me.txt").write_text("not ours")
    proc = _table(keys, foreign, DEID / "patients.csv", extra=("--force", "--manifest", str(tmp_path / "m.json")))
    assert_one_line_error(proc, 2, str(foreign), "not an earlier output")
    assert (foreign / "keep-me.txt").read_text() == "not ours"


def test_an_undeclared_column_stops_the_run_and_writes_nothing(tmp_path: Path, keys: dict[str, Path]) -> None:
    extract = tmp_path / "extract.csv"
    extract.write_text((DEID / "patients.csv").read_text().replace("diagnosis,", "diagnosis,email,", 1))
    out = tmp_path / "deid"
    proc = _table(keys, out, DEID / "patients.csv", extract)
    assert_one_line_error(proc, 2, f"{extract}: row 1, column 12 ('email'): column not declared in the schema")
    _nothing_written(tmp_path, out)


def test_a_bad_date_names_row_and_column_and_writes_nothing(tmp_path: Path, keys: dict[str, Path]) -> None:
    extract = tmp_path / "extract.csv"
    extract.write_text((DEID / "patients.csv").read_text().replace("03/14/1936", "1936-03-14"))
    out = tmp_path / "deid"
    proc = _table(keys, out, extract)
    assert_one_line_error(proc, 2, f"{extract}: row 2, column 6 ('birth_date'): not a date in the declared format")
    assert "1936-03-14" not in proc.stderr
    _nothing_written(tmp_path, out)


def test_a_free_text_column_is_refused_with_the_reason(tmp_path: Path, keys: dict[str, Path]) -> None:
    schema = tmp_path / "schema.yaml"
    schema.write_text((DEID / "schema.yaml").read_text().replace("  note: drop", "  note: free_text"))
    out = tmp_path / "deid"
    proc = _table(keys, out, DEID / "patients.csv", schema=schema)
    assert_one_line_error(proc, 2, f"{schema}:", "columns.note: free text is not certified", "Expert Determination")
    _nothing_written(tmp_path, out)


def test_a_world_readable_secret_is_refused(tmp_path: Path, keys: dict[str, Path]) -> None:
    keys["secret"].chmod(0o644)
    out = tmp_path / "deid"
    assert_one_line_error(_table(keys, out, DEID / "patients.csv"), 2, "readable by other users")
    _nothing_written(tmp_path, out)


def test_a_manifest_that_cannot_be_written_leaves_nothing(tmp_path: Path, keys: dict[str, Path]) -> None:
    out = tmp_path / "deid"
    proc = _table(keys, out, DEID / "patients.csv", extra=("--manifest", str(tmp_path / "no" / "m.json")))
    assert_one_line_error(proc, 2, "m.json: cannot write output")
    _nothing_written(tmp_path, out)


def test_shifted_dates_are_recorded_as_a_limited_data_set(tmp_path: Path, keys: dict[str, Path]) -> None:
    """A manifest never claims Safe Harbor for full (shifted) dates: (b)(2)(i)(C) allows only the year."""
    schema = tmp_path / "shift.yaml"
    schema.write_text((DEID / "schema.yaml").read_text().replace("dates: year", "dates: shift\npatient: patient_id"))
    out = tmp_path / "deid"
    proc = _table(keys, out, DEID / "patients.csv", schema=schema)
    assert proc.returncode == 0, proc.stderr
    assert "limited data set" in proc.stderr
    payload = load_manifest(tmp_path / "deid.manifest.json")["payload"]
    assert payload["method"]["kind"] == "limited-data-set"
