"""Safe Harbor de-identification of structured extracts: the schema, the value transforms, CSV and FHIR."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from phistack.deid.pseudonym import Pseudonymizer
from phistack.deid.safe_harbor import identifier_handling
from phistack.deid.table import Dataset, deidentify_files
from phistack.deid.table_schema import TableSchema, load_schema
from phistack.deid.values import RESTRICTED_ZIP3_FILE, Transforms
from runtime.errors import InputError
from tests.support.paths import FIXTURES

DEID = FIXTURES / "deid"
SCHEMA = DEID / "schema.yaml"
TODAY = dt.date(2026, 6, 1)
SECRET = bytes(range(32))


class Ran(NamedTuple):
    """A run of the engine and the directory it wrote."""

    dataset: Dataset
    directory: Path

    @property
    def counts(self) -> dict[str, int]:
        return self.dataset.counts

    def text(self, name: str) -> str:
        return (self.directory / name).read_text(encoding="utf-8")


def _run(tmp_path: Path, *names: str | Path, schema: TableSchema | None = None, secret: bytes = SECRET) -> Ran:
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}"
    out.mkdir()
    inputs = [n if isinstance(n, Path) else DEID / n for n in names]
    return Ran(deidentify_files(inputs, out, schema or load_schema(SCHEMA), Pseudonymizer(secret), TODAY), out)


def _rows(ran: Ran, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(ran.text(name), newline="")))


def _bundle(ran: Ran, name: str = "bundle-0001.json") -> list[dict[str, Any]]:
    return [entry["resource"] for entry in json.loads(ran.text(name))["entry"]]


def _schema(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schema.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the restricted ZIP list ---------------------------------------------------------------------------


def test_restricted_zip3_list_is_the_hhs_list_with_its_source() -> None:
    data = json.loads(RESTRICTED_ZIP3_FILE.read_text(encoding="utf-8"))
    assert data["restricted"] == sorted(data["restricted"]) and len(data["restricted"]) == 17
    assert {"036", "059", "063", "102", "203", "556", "692", "790", "821", "823"} <= set(data["restricted"])
    assert {"830", "831", "878", "879", "884", "890", "893"} <= set(data["restricted"])
    assert data["source"]["url"].startswith("https://www.hhs.gov/hipaa/")
    assert data["census"].startswith("2000 Decennial Census")
    assert "2020" in data["note"]


# --- single values ---------------------------------------------------------------------------------------


@pytest.fixture
def transforms() -> Transforms:
    return Transforms(Pseudonymizer(SECRET), shift_dates=False, today=TODAY)


@pytest.mark.parametrize(
    ("age", "expected"), [("0", "0"), ("89", "89"), ("89.9", "89.9"), ("90", "90+"), ("104", "90+"), ("90+", "90+")]
)
def test_ages_over_89_become_one_category(transforms: Transforms, age: str, expected: str) -> None:
    assert transforms.age(age) == expected


@pytest.mark.parametrize(
    ("zip_code", "expected"),
    [("02139", "021"), ("03601", "000"), ("12345-6789", "123"), ("123456789", "123"), ("89301", "000")],
)
def test_zip_codes_keep_three_digits_or_000(transforms: Transforms, zip_code: str, expected: str) -> None:
    assert transforms.zip(zip_code) == expected


@pytest.mark.parametrize("bad", ["0213", "02139-12", "ABCDE", "02139 1234"])
def test_a_zip_code_that_does_not_parse_is_refused(transforms: Transforms, bad: str) -> None:
    with pytest.raises(ValueError, match="5-digit or ZIP"):
        transforms.zip(bad)


@pytest.mark.parametrize("bad", ["eighty", "-3", "45 y"])
def test_an_age_that_does_not_parse_is_refused(transforms: Transforms, bad: str) -> None:
    with pytest.raises(ValueError, match="not an age"):
        transforms.age(bad)


# --- the schema --------------------------------------------------------------------------------------------


def test_free_text_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = _schema(tmp_path, "columns:\n  id: keep\n  note: free_text\n")
    with pytest.raises(InputError, match=r"schema.yaml:3: columns.note: free text is not certified.*Expert Determ"):
        load_schema(path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("columns:\n  a: {action: keep, identifier: A}\n", "columns.a: identifier (A) cannot be kept"),
        ("columns:\n  a: {action: date, format: YYYY/DD/MM}\n", "unknown date format"),
        ("columns:\n  a: {action: drop, kind: x}\n", "kind applies only to action pseudonymize"),
        ("columns:\n  a: {acton: drop}\n", "did you mean action?"),
        ("dates: shift\ncolumns:\n  a: date\n", "schema.yaml:1: dates: dates: shift needs patient"),
        ("patient: pid\ncolumns:\n  a: date\n", "schema.yaml:1: patient: column 'pid' is not declared"),
        ("fhir:\n  Patient.id: keep\n", "ids are always pseudonymized"),
        ("fhir:\n  name: drop\n", "is not ResourceType.element"),
        ("undeclared: refuse\n", "declares no columns and no fhir elements"),
    ],
)
def test_schema_mistakes_name_the_line_and_key(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(InputError, match=r"schema\.yaml") as err:
        load_schema(_schema(tmp_path, text))
    assert fragment in str(err.value)


# --- CSV -------------------------------------------------------------------------------------------------------


def test_csv_is_de_identified_column_by_column(tmp_path: Path) -> None:
    ran = _run(tmp_path, "patients.csv")
    rows = _rows(ran, "table-0001.csv")
    assert list(rows[0]) == ["patient_id", "mrn", "birth_date", "admitted", "discharged", "age", "zip", "diagnosis"]
    assert [r["age"] for r in rows] == ["89", "90+", "90+", "34"]
    assert [r["zip"] for r in rows] == ["021", "000", "123", "123"]
    assert [r["admitted"] for r in rows] == ["2025", "2025", "2024", "2023"]  # DD.MM.YYYY
    assert [r["discharged"] for r in rows] == ["2025", "2025", "2024", "2023"]  # ISO date, date-time, partial
    # MM/DD/YYYY birth dates: 1936 may be age 90 in 2026, so it joins the 90+ category with 1935 and 1920
    assert [r["birth_date"] for r in rows] == ["90+", "90+", "90+", "1990"]
    text = ran.text("table-0001.csv")
    for phi in ("Alba", "Quenton", "000-12-3456", "555-0101", "alba.q@example.org", "MRN-1001", "P001", "Ovid"):
        assert phi not in text


def test_counts_say_what_was_done(tmp_path: Path) -> None:
    counts = _run(tmp_path, "patients.csv").counts
    assert counts["rows"] == 4 and counts["files.table"] == 1
    assert counts["ages.aggregated"] == 2 and counts["zips.restricted"] == 1 and counts["zips.truncated"] == 3
    assert counts["values.pseudonymized"] == 8
    assert counts["values.dropped"] == 3 * 4 + 2 + 2  # name, ssn, phone in every row; two notes, two referrals


def test_an_identifier_in_an_unexpected_column_is_handled_as_the_schema_says(tmp_path: Path) -> None:
    dataset = _run(tmp_path, "patients.csv")
    assert "referral_code" not in _rows(dataset, "table-0001.csv")[0]
    handling = {e["id"]: e for e in identifier_handling(load_schema(SCHEMA), dataset.counts)}
    assert handling["F"] == {
        "id": "F",
        "identifier": "email addresses",
        "handling": "removed",
        "fields": ["referral_code"],
    }
    assert handling["E"]["handling"] == "not present"
    assert handling["C"]["fields"] == [
        "Encounter.period",
        "Observation.effectiveDateTime",
        "Patient.birthDate",
        "admitted",
        "age",
        "birth_date",
        "discharged",
    ]
    assert list(handling) == [chr(c) for c in range(ord("A"), ord("S"))]


def test_pseudonyms_are_consistent_across_files_and_runs_and_change_with_the_secret(tmp_path: Path) -> None:
    first = _run(tmp_path, "patients.csv", "more-patients.csv")
    again = _run(tmp_path, "more-patients.csv")
    other = _run(tmp_path, "more-patients.csv", secret=bytes(32))
    borin = _rows(first, "table-0001.csv")[1]
    assert _rows(first, "table-0002.csv")[0]["patient_id"] == borin["patient_id"]
    assert _rows(again, "table-0001.csv")[0]["mrn"] == borin["mrn"]
    assert _rows(other, "table-0001.csv")[0]["mrn"] != borin["mrn"]
    assert len(borin["patient_id"]) == 16


def _csv(tmp_path: Path, body: str) -> Path:
    header = "patient_id,mrn,name,ssn,phone,birth_date,admitted,discharged,age,zip,diagnosis,note,referral_code\n"
    path = tmp_path / "extract.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


GOOD_ROW = "P9,M9,N,S,T,01/31/1990,01.02.2020,2020-01-01,40,02139,X,,"


@pytest.mark.parametrize(
    ("good", "bad", "fragment"),
    [
        ("01/31/1990", "1990-01-31", "row 2, column 6 ('birth_date'): not a date in the declared format MM/DD/YYYY"),
        ("01.02.2020", "2020-02-01", "row 2, column 7 ('admitted'): not a date in the declared format DD.MM.YYYY"),
        ("01.02.2020", "31.02.2020", "row 2, column 7 ('admitted'): not a date in the declared format"),
        ("2020-01-01", "01/01/2020", "row 2, column 8 ('discharged'): not an ISO 8601 date"),
        ("2020-01-01", "2020-13-01", "row 2, column 8 ('discharged'): not a valid ISO 8601 date"),
        (",40,", ",forty,", "row 2, column 9 ('age'): not an age"),
        ("02139", "0213", "row 2, column 10 ('zip'): not a 5-digit or ZIP+4 code"),
        (GOOD_ROW, "P9,M9,N", "row 2: 3 fields, the header has 13"),
    ],
)
def test_a_value_that_does_not_parse_is_refused_with_row_and_column(
    tmp_path: Path, good: str, bad: str, fragment: str
) -> None:
    path = _csv(tmp_path, GOOD_ROW.replace(good, bad, 1) + "\n")
    with pytest.raises(InputError) as err:
        _run(tmp_path, path)
    assert str(err.value).startswith(f"{path}: ") and fragment in str(err.value)
    assert bad.strip(",") not in str(err.value)  # values are PHI: never echoed


def test_an_undeclared_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "extract.csv"
    path.write_text((DEID / "patients.csv").read_text().replace("diagnosis,", "diagnosis,email,", 1))
    with pytest.raises(InputError, match=r"extract.csv: row 1, column 12 \('email'\): column not declared"):
        _run(tmp_path, path)


def test_a_declared_column_missing_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "extract.csv"
    path.write_text("patient_id,mrn\nP1,M1\n")
    with pytest.raises(InputError, match=r"extract.csv: row 1: declared column 'name' is missing"):
        _run(tmp_path, path)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"", "empty CSV file"), (b"patient_id\xff\n", "not UTF-8 text"), (b'a,"b\n', "extract.csv:1: malformed CSV")],
)
def test_unreadable_csv_is_refused(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "extract.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=fragment):
        _run(tmp_path, path)


def test_dates_shift_consistently_per_patient(tmp_path: Path) -> None:
    text = SCHEMA.read_text().replace("dates: year", "dates: shift\npatient: patient_id")
    schema = load_schema(_schema(tmp_path, text))
    dataset = _run(tmp_path, "patients.csv", "more-patients.csv", "bundle.json", schema=schema)
    shift = dt.timedelta(days=Pseudonymizer(SECRET).day_shift("P002"))
    borin = _rows(dataset, "table-0001.csv")[1]
    assert borin["admitted"] == (dt.date(2025, 3, 15) + shift).strftime("%d.%m.%Y")
    assert borin["discharged"] == f"{dt.date(2025, 3, 20) + shift}T14:30:00Z"
    assert borin["birth_date"] == "90+"
    assert _rows(dataset, "table-0002.csv")[0]["admitted"] == (dt.date(2025, 4, 1) + shift).strftime("%d.%m.%Y")
    observation = _bundle(dataset)[2]
    assert observation["effectiveDateTime"] == f"{dt.date(2025, 3, 20) + shift}T14:30:00+01:00"
    doran = dt.timedelta(days=Pseudonymizer(SECRET).day_shift("P004"))
    encounter = _bundle(dataset)[3]  # its subject is a urn:uuid: the patient is found through the fullUrl
    assert encounter["period"]["start"] == str(dt.date(2023, 12, 1) + doran)
    partial = _rows(dataset, "table-0001.csv")[3]["discharged"]  # 2023: shifted from 2023-01-01, still a year
    assert partial == str((dt.date(2023, 1, 1) + doran).year)


# --- FHIR -----------------------------------------------------------------------------------------------------


def test_fhir_bundle_is_de_identified_element_by_element(tmp_path: Path) -> None:
    dataset = _run(tmp_path, "bundle.json")
    borin, doran, observation, encounter = _bundle(dataset)
    assert set(borin) == {"resourceType", "id", "identifier", "gender", "address"}  # name, telecom, text, meta
    assert borin["address"] == [{"state": "NH", "postalCode": "000"}]  # 036xx is a restricted area
    assert doran["birthDate"] == "1990" and doran["address"] == [{"state": "MA", "postalCode": "021"}]
    assert borin["identifier"][0]["system"] == "urn:oid:2.16.840.1.113883.19.5"
    assert "assigner" not in borin["identifier"][0]
    assert observation["subject"] == {"reference": f"Patient/{borin['id']}"}  # display (a name) dropped
    assert observation["effectiveDateTime"] == "2025" and "text" not in observation
    assert encounter["period"] == {"start": "2023", "end": "2023"}
    text = dataset.text("bundle-0001.json")
    for phi in ("Tallow", "Borin", "P002", "MRN-1002", "555-0102", "Quarry", "Hanover", "ehr.example.org", "1935"):
        assert phi not in text
    assert json.loads(text)["resourceType"] == "Bundle" and "timestamp" not in json.loads(text)


def test_fhir_references_and_ids_match_the_csv_pseudonyms(tmp_path: Path) -> None:
    dataset = _run(tmp_path, "patients.csv", "bundle.json")
    borin_row = _rows(dataset, "table-0001.csv")[1]
    borin, doran, _observation, encounter = _bundle(dataset)
    assert borin["id"] == borin_row["patient_id"]  # Patient.id and the CSV column share the kind "Patient"
    assert borin["identifier"][0]["value"] == borin_row["mrn"]  # both are kind "mrn"
    assert doran["id"] == _rows(dataset, "table-0001.csv")[3]["patient_id"]
    entries = json.loads(dataset.text("bundle-0001.json"))["entry"]
    assert encounter["subject"]["reference"] == entries[1]["fullUrl"] != "urn:uuid:8d7b9e53-2f43-4b0e-9a1e-3c0f5d7e1a20"
    assert "fullUrl" not in entries[0]  # a server URL names the hospital: dropped, the id resolves as Patient/<id>


def test_an_undeclared_fhir_element_is_refused_or_dropped(tmp_path: Path) -> None:
    bundle = json.loads((DEID / "bundle.json").read_text())
    bundle["entry"][1]["resource"]["maritalStatus"] = {"text": "widowed"}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    with pytest.raises(InputError, match=r"bundle.json: entry\[1\]: element Patient.maritalStatus is not declared"):
        _run(tmp_path, path)
    schema = load_schema(_schema(tmp_path, SCHEMA.read_text().replace("undeclared: refuse", "undeclared: drop")))
    dataset = _run(tmp_path, path, schema=schema)
    assert "maritalStatus" not in _bundle(dataset)[1]
    assert dataset.counts["elements.undeclared_dropped"] == 1


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"resourceType": "Patient"}', "not a FHIR Bundle"),
        ('{"resourceType": "Bundle",', "bundle.json:1:27: malformed JSON"),
        ('{"resourceType": "Bundle", "entry": [{"resource": {"id": "1"}}]}', "entry[0]: resource has no resourceType"),
        (
            '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation", "subject": '
            '{"reference": "Patient?identifier=123"}}}]}',
            "entry[0]: a reference that is not Type/id",
        ),
        (
            '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "birthDate": "3/4/1950"}}]}',
            "entry[0]: not an ISO 8601 date",
        ),
    ],
)
def test_a_bundle_that_cannot_be_de_identified_is_refused(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(content)
    with pytest.raises(InputError) as err:
        _run(tmp_path, path)
    assert fragment in str(err.value)


def test_another_kind_of_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("x")
    with pytest.raises(InputError, match=r"notes.txt: not a CSV table \(.csv\) or a FHIR Bundle \(.json\)"):
        _run(tmp_path, path)


def test_outputs_are_named_by_type_and_order_and_inputs_by_digest(tmp_path: Path) -> None:
    dataset = _run(tmp_path, "bundle.json", "patients.csv", "more-patients.csv")
    assert [o["path"] for o in dataset.dataset.outputs] == ["bundle-0001.json", "table-0001.csv", "table-0002.csv"]
    assert all(len(o["input_sha256"]) == 64 and "patients" not in json.dumps(o) for o in dataset.dataset.outputs)
