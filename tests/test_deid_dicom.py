"""DICOM de-identification (PS3.15 Annex E) over every DICOM file that ships inside the pydicom wheel.

The files come from the installed package (pydicom/data/test_files, MIT and the files' own notes there); pydicom
3 downloads further files on demand, which these tests never ask for.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pydicom.data
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import UID

from phistack.deid import dicom_values, profile
from phistack.deid.dicom import Quarantined, Rejected, burned_in_classes, deidentify
from phistack.deid.dicom_run import Report, Settings, run
from phistack.deid.pixel_rules import PixelRules
from phistack.deid.pseudonym import Pseudonymizer
from runtime.deid.manifest import verify_dataset, verify_manifest
from runtime.ed25519 import key_id, load_private_key, load_public_key, write_keypair
from runtime.errors import InputError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom on the odd values of its own test files

TEST_FILES = Path(pydicom.data.__file__).resolve().parent / "test_files"
SECRET = b"s" * 32
OTHER_SECRET = b"t" * 32


def wheel_files() -> list[Path]:
    """Every file in pydicom's bundled test data (DICOM or not), none downloaded."""
    return sorted(Path(f) for f in pydicom.data.get_testdata_files() if os.path.isfile(f))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Run:
    out: Path
    manifest: Path
    report: Report
    pub: Path


def _run(tmp: Path, secret: bytes, options: tuple[str, ...] = (), name: str = "out") -> Run:
    if not (tmp / "signer.key").exists():
        write_keypair(tmp / "signer")
    settings = Settings(
        profile=profile.load(options),
        pseudonyms=Pseudonymizer(secret),
        dataset="pydicom-test-files",
        key=load_private_key(tmp / "signer.key"),
    )
    out, manifest = tmp / name, tmp / f"{name}.manifest.json"
    return Run(out, manifest, run([TEST_FILES], out, manifest, settings), tmp / "signer.pub")


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory.mktemp("deid"), SECRET)


@pytest.fixture(scope="module")
def originals() -> dict[str, Path]:
    """Input SHA-256 -> file (the first of identical copies)."""
    found: dict[str, Path] = {}
    for path in wheel_files():
        found.setdefault(sha(path), path)
    return found


def _elements(ds: Dataset) -> Iterator[pydicom.DataElement]:
    for elem in ds:
        yield elem
        if elem.VR == "SQ":
            for item in elem.value:
                yield from _elements(item)


def _uids(ds: Dataset, basic: profile.Profile) -> list[str]:
    """The values of every attribute the profile replaces with a new UID, in document order."""
    return [
        str(v) for e in _elements(ds) if basic.action(int(e.tag)) == "U" for v in (e.value if e.VM > 1 else [e.value])
    ]


# --- the table -------------------------------------------------------------------------------------------------


def test_the_table_covers_table_e1_1_with_its_edition_and_source() -> None:
    header, rows = profile.rows()
    assert len(rows) >= 600
    assert header["edition"] == "2024b" and "Table E.1-1" in header["source"] and header["licence"]
    by_tag = {row.tag: row for row in rows}
    expected = {
        "00100010": "Z",  # Patient's Name
        "00100020": "Z/D",  # Patient ID
        "00100030": "Z",  # Patient's Birth Date
        "0020000D": "U",  # Study Instance UID
        "00080018": "U",  # SOP Instance UID
        "00081155": "U",  # Referenced SOP Instance UID
        "00080050": "Z",  # Accession Number
        "00080080": "X/Z/D",  # Institution Name
        "00080020": "Z",  # Study Date
        "00080090": "Z",  # Referring Physician's Name
        "00081140": "X/Z/U*",  # Referenced Image Sequence
        "60XX3000": "X",  # Overlay Data
        "50XXXXXX": "X",  # Curve Data
        "PRIVATE": "X",
    }
    assert {tag: by_tag[tag].basic for tag in expected} == expected
    assert by_tag["00080020"].options == {"rtfd": "K", "rtmd": "C"}
    # Burned In Annotation (0028,0301) is not a row of Table E.1-1: it drives quarantine instead
    assert "00280301" not in by_tag


def test_options_resolve_the_action_per_tag() -> None:
    basic, dates, uids = profile.load(), profile.load(["rtmd"]), profile.load(["ru"])
    assert basic.action(0x00080020) == "Z" and dates.action(0x00080020) == "C"
    assert basic.action(0x0020000D) == "U" and uids.action(0x0020000D) == "K"
    assert basic.action(0x00091001) == "X" and profile.load(["rsp"]).action(0x00091001) == "C"
    assert basic.action(0x60023000) == "X" and basic.action(0x00280010) is None


@pytest.mark.parametrize(
    ("options", "message"), [(["xyz"], "unknown de-identification option"), (["rtfd", "rtmd"], "contradict")]
)
def test_bad_option_sets_are_bad_input(options: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        profile.load(options)


def test_the_local_lists_agree_with_the_dictionary_and_stay_out_of_the_table() -> None:
    retain = json.loads((profile.DATA / "dicom-retain.json").read_text())
    _, rows = profile.rows()
    table = {row.tag for row in rows}
    for row in retain["safe_attributes"]:
        assert pydicom.datadict.tag_for_keyword(row["keyword"]) == int(row["tag"], 16), row
        assert row["tag"] not in table, row
    _, sop_classes = burned_in_classes()
    for uid, text in sop_classes.items():
        assert text.startswith(UID(uid).name + ":"), uid


# --- a run over the pydicom files ------------------------------------------------------------------------------


def test_every_input_is_accounted_for_once_in_a_manifest_that_verifies(first: Run) -> None:
    trusted = {key_id(load_public_key(first.pub)): load_public_key(first.pub)}
    document = json.loads(first.manifest.read_text())
    payload = verify_manifest(document, trusted)
    verify_dataset(payload, first.out)
    listed = [o["input_sha256"] for o in payload["outputs"]]
    listed += [q["input_sha256"] for q in payload["quarantined"]] + [r["input_sha256"] for r in payload["rejected"]]
    assert sorted(listed) == sorted(sha(path) for path in wheel_files())
    assert payload["method"]["kind"] == "dicom-annex-e" and payload["method"]["edition"] == "2024b"
    counts = payload["counts"]
    assert counts["inputs"] == len(wheel_files()) == counts["deidentified"] + counts["quarantined"] + counts["rejected"]
    assert counts["deidentified"] >= 50 and counts["removed"] > 0 and counts["private_removed"] > 0


def test_outputs_follow_the_profile(first: Run, originals: dict[str, Path]) -> None:
    basic = profile.load()
    safe = {
        int(row["tag"], 16) for row in json.loads((profile.DATA / "dicom-retain.json").read_text())["safe_attributes"]
    }
    pseudonyms = Pseudonymizer(SECRET)
    for entry in first.report.outputs:
        output = pydicom.dcmread(first.out / entry["path"])
        source = pydicom.dcmread(originals[entry["input_sha256"]])
        study, series, instance = entry["path"].removesuffix(".dcm").split("/")
        assert (output.StudyInstanceUID, output.SeriesInstanceUID, output.SOPInstanceUID) == (study, series, instance)
        assert output.SOPInstanceUID == pseudonyms.uid(str(source.SOPInstanceUID))
        assert output.file_meta.MediaStorageSOPInstanceUID == instance
        assert output.get("PixelData") == source.get("PixelData"), entry["path"]
        assert output.PatientIdentityRemoved == "YES"
        assert output.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
        for elem in _elements(output):
            tag = int(elem.tag)
            assert not elem.tag.is_private, (entry["path"], elem)
            action = basic.action(tag)
            assert action is not None or tag in safe, (entry["path"], elem)
            assert action not in ("X", "X/Z", "X/D", "X/Z/D"), (entry["path"], elem)
            if action in ("Z", "Z/D"):
                assert elem.is_empty, (entry["path"], elem)
            elif action == "D" and elem.VR != "SQ":
                assert elem.value == dicom_values.dummy(elem.VR), (entry["path"], elem)
            elif action == "D":
                assert len(elem.value) == 0
            elif action == "U":
                assert all(str(v).startswith("2.25.") for v in (elem.value if elem.VM > 1 else [elem.value]))


def test_uids_map_consistently_across_files_and_into_references(first: Run, originals: dict[str, Path]) -> None:
    basic, pseudonyms = profile.load(), Pseudonymizer(SECRET)
    mapping: dict[str, str] = {}
    references = 0
    for entry in first.report.outputs:
        before = _uids(pydicom.dcmread(originals[entry["input_sha256"]]), basic)
        after = _uids(pydicom.dcmread(first.out / entry["path"]), basic)
        reverse = {pseudonyms.uid(old): old for old in before}
        for new in after:  # every new UID is the keyed image of one of the source's (removed sequences take theirs)
            assert new in reverse, (entry["path"], new)
            assert mapping.setdefault(reverse[new], new) == new
        references += sum(
            1 for e in _elements(pydicom.dcmread(first.out / entry["path"])) if e.keyword == "ReferencedSOPInstanceUID"
        )
    assert len(set(mapping.values())) == len(mapping)  # no two UIDs merged
    assert references > 0  # the files do reference other instances, and those references were remapped


def test_a_second_run_is_identical_and_another_secret_is_not(first: Run, tmp_path: Path) -> None:
    again = _run(tmp_path, SECRET)
    assert [(o["path"], o["sha256"]) for o in again.report.outputs] == [
        (o["path"], o["sha256"]) for o in first.report.outputs
    ]
    other = _run(tmp_path, OTHER_SECRET, name="other")
    assert not {o["path"] for o in other.report.outputs} & {o["path"] for o in first.report.outputs}


def test_burned_in_truncated_and_foreign_files_are_held_back_with_reasons(first: Run) -> None:
    quarantined = {q["input_sha256"]: q["reason"] for q in first.report.quarantined}
    rejected = {r["input_sha256"]: r["reason"] for r in first.report.rejected}
    files = {path.name: sha(path) for path in wheel_files()}
    assert "Secondary Capture" in quarantined[files["SC_rgb_small_odd.dcm"]]
    assert "Ultrasound" in quarantined[files["examples_palette.dcm"]]
    assert "DICOMDIR" in quarantined[sha(TEST_FILES / "dicomdirtests" / "DICOMDIR")]
    assert rejected[files["MR_truncated.dcm"]].startswith("truncated: attribute (7FE0,0010)")
    assert rejected[files["rtplan_truncated.dcm"]].startswith("truncated:")
    assert rejected[files["crayons.icc"]].startswith("not a DICOM file")
    assert rejected[files["no_meta.dcm"]].startswith("not a DICOM file")


# --- single instances -------------------------------------------------------------------------------------------


def _ct() -> bytes:
    return (TEST_FILES / "CT_small.dcm").read_bytes()


def _with(data: bytes, **changes: object) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data))
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def test_modified_dates_shift_by_the_patients_day_shift() -> None:
    pseudonyms = Pseudonymizer(SECRET)
    source = pydicom.dcmread(TEST_FILES / "CT_small.dcm")
    output = pydicom.dcmread(io.BytesIO(deidentify(_ct(), profile.load(["rtmd"]), pseudonyms).data))
    shift = pseudonyms.day_shift(str(source.PatientID))
    assert output.StudyDate == dicom_values.shift_date(source.StudyDate, shift) != source.StudyDate
    assert output.LongitudinalTemporalInformationModified == "MODIFIED"
    assert [item.CodeValue for item in output.DeidentificationMethodCodeSequence] == ["113100", "113107"]
    assert pydicom.dcmread(io.BytesIO(deidentify(_ct(), profile.load(), pseudonyms).data)).StudyDate == ""


def test_clean_descriptors_scrubs_identifiers_of_the_same_instance() -> None:
    data = _with(_ct(), PatientName="Doe^Jane", SeriesDescription="CT head Jane Doe 2004-01-19 MRN 12345678")
    kept = pydicom.dcmread(io.BytesIO(deidentify(data, profile.load(["cd"]), Pseudonymizer(SECRET)).data))
    assert kept.SeriesDescription == "CT head *** *** *** MRN ***"
    removed = pydicom.dcmread(io.BytesIO(deidentify(data, profile.load(), Pseudonymizer(SECRET)).data))
    assert "SeriesDescription" not in removed


def test_retain_uids_keeps_them() -> None:
    output = pydicom.dcmread(io.BytesIO(deidentify(_ct(), profile.load(["ru"]), Pseudonymizer(SECRET)).data))
    assert output.SOPInstanceUID == pydicom.dcmread(TEST_FILES / "CT_small.dcm").SOPInstanceUID


def test_burned_in_yes_is_quarantined_and_no_is_released() -> None:
    with pytest.raises(Quarantined, match="Burned In Annotation is YES"):
        deidentify(_with(_ct(), BurnedInAnnotation="YES"), profile.load(), Pseudonymizer(SECRET))
    released = _with((TEST_FILES / "SC_rgb_small_odd.dcm").read_bytes(), BurnedInAnnotation="NO")
    assert deidentify(released, profile.load(), Pseudonymizer(SECRET)).path.endswith(".dcm")


def test_not_dicom_is_rejected() -> None:
    with pytest.raises(Rejected, match="not a DICOM file"):
        deidentify(b"\x00" * 300, profile.load(), Pseudonymizer(SECRET))


def test_a_pixel_rule_blanks_only_its_rectangle_and_says_so(tmp_path: Path) -> None:
    source = pydicom.dcmread(TEST_FILES / "CT_small.dcm")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"rules:\n  - manufacturer: {source.Manufacturer}\n    model: {source.ManufacturerModelName}\n"
        "    rows: 128\n    columns: 128\n    blank:\n      - [0, 0, 128, 10]\n"
    )
    data = _with(_ct(), Modality="US")
    with pytest.raises(Quarantined, match="modality US"):
        deidentify(data, profile.load(), Pseudonymizer(SECRET))
    result = deidentify(data, profile.load(), Pseudonymizer(SECRET), PixelRules.load(rules))
    output = pydicom.dcmread(io.BytesIO(result.data))
    band = 128 * 10 * 2  # ten rows of 16-bit pixels
    assert output.PixelData[:band] == bytes(band) and output.PixelData[band:] == source.PixelData[band:]
    assert output.BurnedInAnnotation == "NO" and result.counts["pixel_regions_blanked"] == 1
    assert "113101" in [item.CodeValue for item in output.DeidentificationMethodCodeSequence]


def test_pixel_rules_outside_the_image_are_bad_input(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {manufacturer: A, model: B, rows: 10, columns: 10, blank: [[5, 5, 10, 1]]}\n")
    with pytest.raises(InputError, match=r"rules.yaml: rules.0.blank: rectangle \[5, 5, 10, 1\]"):
        PixelRules.load(rules)
