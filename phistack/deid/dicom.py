"""De-identify one DICOM instance: PS3.15 Annex E, Basic Application Level Confidentiality Profile and options.

:func:`deidentify` takes a file's bytes and returns the de-identified file's bytes and its relative output
path, or raises :class:`Quarantined` (valid DICOM that must not leave: burned-in text, a duplicate, a media
directory) or :class:`Rejected` (not DICOM, truncated, undecodable). Attributes go through Table E.1-1
(:mod:`phistack.deid.profile`); those it does not list are removed unless ``data/dicom-retain.json`` names
them as safe: anything the table and that list do not know is dropped (fail closed). Pixel data is never
touched unless a configured pixel rule blanks a region.
"""

from __future__ import annotations

import functools
import io
import json
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydicom import dcmread, dcmwrite
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID

from phistack.deid import dicom_values as values
from phistack.deid.pixel_rules import PixelRules, blank
from phistack.deid.profile import BASIC_CODE, DATA, SUPPORTED_OPTIONS, Profile
from phistack.deid.pseudonym import Pseudonymizer

MEDIA_DIRECTORY = "1.2.840.10008.1.3.10"
CLEAN_PIXEL_CODE = ("113101", "Clean Pixel Data Option")
UNDEFINED_LENGTH = 0xFFFFFFFF
TIMEZONE = 0x00080201  # Timezone Offset From UTC
# Values of these attributes are searched for (and scrubbed) in descriptors kept under a cleaning option.
_IDENTIFYING = (
    "PatientName", "PatientID", "OtherPatientIDs", "PatientBirthName", "PatientMotherBirthName", "AccessionNumber",
    "StudyID", "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "StationName",
    "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName", "PatientAddress", "MedicalRecordLocator",
    "PatientTelephoneNumbers", "RequestedProcedureID", "PerformedProcedureStepID", "AdmissionID",
    "PatientBirthDate",
)  # fmt: skip
_REMOVE = frozenset({"X", "X/Z", "X/D", "X/Z/D"})  # without the IOD's attribute types, the removing choice


class Quarantined(Exception):
    """A readable instance that must not be released; the message is the reason."""


class Rejected(Exception):
    """An input that is not a readable DICOM file; the message is the reason."""


@functools.cache
def _retain() -> tuple[frozenset[int], frozenset[tuple[str, int, int]]]:
    document = json.loads((DATA / "dicom-retain.json").read_text(encoding="utf-8"))
    safe = frozenset(int(row["tag"], 16) for row in document["safe_attributes"])
    private = frozenset(
        (row["creator"], int(row["group"], 16), int(row["element"], 16)) for row in document["safe_private"]
    )
    return safe, private


@functools.cache
def burned_in_classes() -> tuple[dict[str, str], dict[str, str]]:
    """Modalities and SOP classes that commonly carry identifying text in their pixels, with the reasons."""
    document = json.loads((DATA / "dicom-burned-in.json").read_text(encoding="utf-8"))
    return (
        {row["modality"]: row["why"] for row in document["modalities"]},
        {row["uid"]: f"{row['name']}: {row['why']}" for row in document["sop_classes"]},
    )


@dataclass
class Result:
    """One de-identified instance."""

    path: str  # <study>/<series>/<instance>.dcm
    data: bytes
    counts: Counter[str] = field(default_factory=Counter)


@dataclass
class _Context:
    profile: Profile
    pseudonyms: Pseudonymizer
    day_shift: int
    identifiers: tuple[str, ...]
    counts: Counter[str]


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def _identifiers(ds: Dataset) -> tuple[str, ...]:
    found: set[str] = set()
    for keyword in _IDENTIFYING:
        for part in _text(ds, keyword).replace("^", " ").replace("\\", " ").split():
            if len(part) >= 3:
                found.add(part)
    return tuple(found)


def _values(elem: DataElement) -> list[Any]:
    value = elem.value
    if value is None or value == "":
        return []
    return list(value) if elem.VM > 1 else [value]


def _set(elem: DataElement, items: list[Any]) -> None:
    elem.value = items if len(items) > 1 else items[0] if items else ""


def _check_length(raw: Any, tag: BaseTag) -> None:
    """A value shorter than its declared length: pydicom reads a file cut off mid-element without complaint."""
    if (
        isinstance(raw, RawDataElement)
        and isinstance(raw.value, bytes | bytearray)
        and raw.length != UNDEFINED_LENGTH
        and len(raw.value) < raw.length
    ):
        raise Rejected(f"truncated: attribute {tag} declares {raw.length} bytes, the file holds {len(raw.value)}")


def _clean(elem: DataElement, ctx: _Context) -> bool:
    """Apply C; False when the element must go instead."""
    vr = elem.VR
    if vr == "SQ":
        for item in elem.value:
            _walk(item, ctx)
    elif vr == "DA" and "rtmd" in ctx.profile.options:
        _set(elem, [values.shift_date(str(v), ctx.day_shift) for v in _values(elem)])
    elif vr == "DT" and "rtmd" in ctx.profile.options:
        _set(elem, [values.shift_datetime(str(v), ctx.day_shift) for v in _values(elem)])
    elif vr == "TM" and "rtmd" in ctx.profile.options:
        return True  # times of day stay: the shift moves whole days
    elif vr == "AE":
        _set(elem, [ctx.pseudonyms.token("ae", str(v)) for v in _values(elem)])
    elif elem.tag == TIMEZONE:
        elem.value = "+0000"  # the offset narrows down where the patient was
    elif vr in values.TEXT_VRS:
        _set(elem, [values.scrub(str(v), ctx.identifiers) for v in _values(elem)])
    elif vr in values.DUMMY_BY_VR:
        elem.value = values.dummy(vr)
    else:
        return False  # binary time stamps and the like cannot be cleaned, only removed
    return True


def _apply(ds: Dataset, elem: DataElement, action: str, ctx: _Context) -> None:
    tag, vr = elem.tag, elem.VR
    if action in _REMOVE or (action == "U" and vr != "UI") or (action == "X/Z/U*" and vr != "SQ"):
        del ds[tag]
        ctx.counts["removed"] += 1
    elif action in ("Z", "Z/D"):
        elem.value = [] if vr == "SQ" else b"" if vr in values.BINARY_VRS else None
        ctx.counts["replaced"] += 1
    elif action == "D":
        elem.value = values.dummy(vr)
        ctx.counts["replaced"] += 1
    elif action == "U":
        _set(elem, [ctx.pseudonyms.uid(str(v)) for v in _values(elem)])
        ctx.counts["uids_replaced"] += 1
    elif action == "C":
        if _clean(elem, ctx):
            ctx.counts["cleaned"] += 1
        else:
            del ds[tag]
            ctx.counts["removed"] += 1
    else:  # K, or X/Z/U*: keep the sequence, its items go through the table (their UIDs are U)
        ctx.counts["kept"] += 1
        if vr == "SQ":
            for item in elem.value:
                _walk(item, ctx)


def _private(ds: Dataset, ctx: _Context) -> None:
    """Remove private attributes; under Retain Safe Private keep those on the safe list and their creators."""
    _, safe = _retain()
    kept_blocks: set[int] = set()
    creators = []
    for tag in [t for t in list(ds.keys()) if t.is_private]:
        _check_length(ds.get_item(tag), tag)
        if tag.element < 0x0010 or 0x0010 <= tag.element <= 0x00FF:
            creators.append(tag)  # group lengths and creators: decided once the block's data are
            continue
        block = (tag.group << 16) | (tag.element >> 8)
        creator_elem = ds.get(Tag(block))
        creator = str(creator_elem.value).strip() if creator_elem is not None else ""
        if ctx.profile.private == "C" and (creator, tag.group, tag.element & 0xFF) in safe:
            kept_blocks.add(block)
            ctx.counts["private_kept"] += 1
        else:
            del ds[tag]
            ctx.counts["private_removed"] += 1
    for tag in creators:
        if int(tag) not in kept_blocks:
            del ds[tag]
            ctx.counts["private_removed"] += 1


def _walk(ds: Dataset, ctx: _Context) -> None:
    """De-identify ``ds`` in place, items of sequences included."""
    safe, _ = _retain()
    _private(ds, ctx)
    for tag in list(ds.keys()):
        _check_length(ds.get_item(tag), tag)
        if tag.element == 0:  # group lengths: pydicom recomputes what it needs
            del ds[tag]
            continue
        elem = ds[tag]
        action = ctx.profile.action(int(tag))
        if action is None:
            if int(tag) in safe:
                ctx.counts["kept"] += 1
                if elem.VR == "SQ":
                    for item in elem.value:
                        _walk(item, ctx)
            else:
                del ds[tag]
                ctx.counts["removed_unlisted"] += 1
            continue
        _apply(ds, elem, action, ctx)


def read(data: bytes) -> Dataset:
    """Parse a DICOM file (Part 10: preamble, ``DICM``, file meta); anything else is Rejected."""
    try:
        return dcmread(io.BytesIO(data), force=False)
    except InvalidDicomError:
        raise Rejected("not a DICOM file (no DICM prefix and file meta information)") from None
    except Exception as err:  # pydicom raises many kinds on malformed input
        raise Rejected(f"unreadable DICOM: {type(err).__name__}: {err}") from None


def burned_in_reason(ds: Dataset) -> str | None:
    """Why ``ds`` may carry identifying text in its pixels, or None."""
    flag = _text(ds, "BurnedInAnnotation").upper()
    if flag == "YES":
        return "Burned In Annotation is YES: text in the pixels may identify the patient"
    if flag == "NO":
        return None
    modalities, sop_classes = burned_in_classes()
    sop_class = _text(ds, "SOPClassUID") or _text(ds.file_meta, "MediaStorageSOPClassUID")
    if sop_class in sop_classes:
        return f"no Burned In Annotation = NO for {sop_classes[sop_class]}"
    modality = _text(ds, "Modality")
    if modality in modalities:
        return f"no Burned In Annotation = NO for modality {modality}: {modalities[modality]}"
    return None


def _method(profile: Profile, pixels_cleaned: bool) -> tuple[list[str], Sequence]:
    codes = [BASIC_CODE, *(SUPPORTED_OPTIONS[o] for o in profile.options)]
    if pixels_cleaned:
        codes.append(CLEAN_PIXEL_CODE)
    items = []
    for value, meaning in codes:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
        items.append(item)
    text = [f"DICOM PS3.15 {profile.edition} Annex E Basic Profile", *(meaning[:64] for _, meaning in codes[1:])]
    return text, Sequence(items)


def _mark(ds: Dataset, profile: Profile, pixels_cleaned: bool) -> None:
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod, ds.DeidentificationMethodCodeSequence = _method(profile, pixels_cleaned)
    ds.LongitudinalTemporalInformationModified = (
        "MODIFIED" if "rtmd" in profile.options else "UNMODIFIED" if "rtfd" in profile.options else "REMOVED"
    )
    if pixels_cleaned:
        ds.BurnedInAnnotation = "NO"


def _place(ds: Dataset, original_meta: FileMetaDataset) -> str:
    """The output path from the new UIDs; also the file meta, rebuilt (no source AE title, no private info)."""
    parts = [_text(ds, keyword) for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")]
    if not all(parts):
        raise Quarantined("no Study, Series or SOP Instance UID: the output cannot be placed")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(_text(ds, "SOPClassUID") or _text(original_meta, "MediaStorageSOPClassUID"))
    meta.MediaStorageSOPInstanceUID = UID(parts[2])
    meta.TransferSyntaxUID = original_meta.TransferSyntaxUID
    ds.file_meta = meta
    return "/".join(parts) + ".dcm"


def deidentify(
    data: bytes,
    profile: Profile,
    pseudonyms: Pseudonymizer,
    pixel_rules: PixelRules | None = None,
    seen: Callable[[str], bool] = lambda path: False,
) -> Result:
    """De-identify one file's bytes; ``seen(path)`` says whether an earlier input already produced ``path``.

    pydicom's warnings about odd values are silenced: such values are removed, replaced or rejected like any
    other, and the outcome is in the manifest."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _deidentify(data, profile, pseudonyms, pixel_rules, seen)


def _deidentify(
    data: bytes,
    profile: Profile,
    pseudonyms: Pseudonymizer,
    pixel_rules: PixelRules | None,
    seen: Callable[[str], bool],
) -> Result:
    ds = read(data)
    sop_class = _text(ds, "SOPClassUID") or _text(ds.file_meta, "MediaStorageSOPClassUID")
    if sop_class == MEDIA_DIRECTORY:
        raise Quarantined("a DICOMDIR (media directory) lists patients and file names: de-identify the instances")
    if "TransferSyntaxUID" not in ds.file_meta:
        raise Rejected("no Transfer Syntax UID in the file meta information")
    counts: Counter[str] = Counter()
    reason = burned_in_reason(ds)
    if reason is not None:
        rule = pixel_rules.match(ds) if pixel_rules else None
        if rule is None:
            raise Quarantined(reason)
        counts["pixel_regions_blanked"] += blank(ds, rule)
    if "SOPInstanceUID" not in ds and "MediaStorageSOPInstanceUID" in ds.file_meta:
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ctx = _Context(
        profile=profile,
        pseudonyms=pseudonyms,
        day_shift=pseudonyms.day_shift(_text(ds, "PatientID")),
        identifiers=_identifiers(ds),
        counts=counts,
    )
    original_meta = ds.file_meta
    try:
        _walk(ds, ctx)
    except (Rejected, Quarantined):
        raise
    except Exception as err:  # a value pydicom cannot decode
        raise Rejected(f"undecodable attribute: {type(err).__name__}: {err}") from None
    _mark(ds, profile, counts["pixel_regions_blanked"] > 0)
    path = _place(ds, original_meta)
    if seen(path):
        raise Quarantined("the same SOP Instance UID as an earlier input: not written twice")
    ds.preamble = b"\x00" * 128  # a preamble can carry anything (TIFF headers of dual-format files)
    out = io.BytesIO()
    try:
        dcmwrite(out, ds, enforce_file_format=True)
    except Exception as err:  # pydicom refuses values it cannot encode
        raise Rejected(f"cannot encode the de-identified instance: {type(err).__name__}: {err}") from None
    return Result(path=path, data=out.getvalue(), counts=counts)
