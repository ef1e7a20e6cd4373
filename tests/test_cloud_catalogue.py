"""The cloud machine catalogue (policies/data/cloud_machine_types.json): which GPU each GCE machine type and Azure
VM size carries and whether it runs confidential, one source for the gate, the cost and the evidence pack.

Each invariant of the loader is shown on a bad copy of the shipped file: the error is one line naming the file
and the key.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from phistack.errors import InputError
from phistack.hardware import (
    MACHINE_CATALOGUE,
    gpu_catalogue,
    load_machine_catalogue,
    machine_catalogue,
    machine_key,
)

CONFIDENTIAL = {"gcp/a3-highgpu-1g": "tdx", "azure/standard_ncc40ads_h100_v5": "sev-snp"}
NOT_CONFIDENTIAL = (
    "gcp/a3-highgpu-8g",
    "gcp/a2-highgpu-1g",
    "gcp/g2-standard-4",
    "gcp/e2-standard-4",
    "azure/standard_nc40ads_h100_v5",
    "azure/standard_nc24ads_a100_v4",
    "azure/standard_d4ds_v5",
)


def _shipped() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(MACHINE_CATALOGUE.read_text(encoding="utf-8"))
    return copy.deepcopy(document)


def _load(tmp_path: Path, document: dict[str, Any]) -> Any:
    path = tmp_path / "cloud_machine_types.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return load_machine_catalogue(path, gpu_catalogue())


def _error(tmp_path: Path, document: dict[str, Any]) -> str:
    with pytest.raises(InputError) as info:
        _load(tmp_path, document)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "cloud_machine_types.json") + ": ")
    return message


def test_the_shipped_catalogue_validates_and_cites_its_sources() -> None:
    catalogue = machine_catalogue()
    assert set(CONFIDENTIAL) | set(NOT_CONFIDENTIAL) <= set(catalogue.machine_types)
    for key, machine in catalogue.machine_types.items():
        assert machine.source.url.startswith("https://") and machine.source.says.strip(), key
        assert machine.price.usd_per_hour is not None or machine.price.note, key


@pytest.mark.parametrize(("key", "tee"), sorted(CONFIDENTIAL.items()))
def test_confidential_types_name_their_tee(key: str, tee: str) -> None:
    machine = machine_catalogue().machine_types[key]
    assert machine.confidential is not None
    assert (machine.confidential.cpu_tee, machine.confidential.gpu_cc) == (tee, True)


@pytest.mark.parametrize("key", NOT_CONFIDENTIAL)
def test_other_types_are_not_confidential(key: str) -> None:
    assert machine_catalogue().machine_types[key].confidential is None


def test_cpu_only_types_have_no_gpu() -> None:
    for key in ("gcp/e2-standard-4", "azure/standard_d4ds_v5"):
        machine = machine_catalogue().machine_types[key]
        assert (machine.gpu_model, machine.gpu_count) == (None, 0)


def test_lookup_ignores_the_case_of_azure_sizes() -> None:
    for spelling in ("Standard_NCC40ads_H100_v5", "standard_ncc40ads_h100_v5", "STANDARD_NCC40ADS_H100_V5"):
        machine = machine_catalogue().lookup("azure", spelling)
        assert machine is not None and machine.name == "Standard_NCC40ads_H100_v5"
    assert machine_catalogue().lookup("azure", "Standard_NCC40ads_H100_v6") is None
    assert machine_catalogue().lookup("gcp", "Standard_NCC40ads_H100_v5") is None
    assert machine_key("azure", "Standard_D4ds_v5") == "azure/standard_d4ds_v5"


def test_a_key_that_is_not_the_machine_key_is_refused(tmp_path: Path) -> None:
    document = _shipped()
    types = document["machine_types"]
    types["azure/Standard_D4ds_v5"] = types.pop("azure/standard_d4ds_v5")
    message = _error(tmp_path, document)
    assert "machine_types.azure/Standard_D4ds_v5: key must be 'azure/standard_d4ds_v5'" in message


def test_an_unknown_gpu_model_is_refused(tmp_path: Path) -> None:
    document = _shipped()
    document["machine_types"]["gcp/g2-standard-4"]["gpu_model"] = "L5"
    message = _error(tmp_path, document)
    assert "machine_types.gcp/g2-standard-4.gpu_model: 'L5' is not a known GPU model" in message


def test_gpu_cc_on_a_gpu_without_cc_is_refused(tmp_path: Path) -> None:
    document = _shipped()
    document["machine_types"]["gcp/a2-highgpu-1g"]["confidential"] = {
        "cpu_tee": "tdx",
        "gpu_cc": True,
        "how": "a label is not a proof",
    }
    message = _error(tmp_path, document)
    assert "machine_types.gcp/a2-highgpu-1g.confidential.gpu_cc: A100 40GB has no NVIDIA Confidential" in message


def test_gpu_cc_on_a_cpu_only_type_is_refused(tmp_path: Path) -> None:
    document = _shipped()
    document["machine_types"]["gcp/e2-standard-4"]["confidential"] = {"cpu_tee": "tdx", "gpu_cc": True, "how": "x"}
    assert "machine_types.gcp/e2-standard-4.confidential.gpu_cc: no GPU has no" in _error(tmp_path, document)


def test_a_gpu_model_without_gpus_is_refused(tmp_path: Path) -> None:
    document = _shipped()
    document["machine_types"]["gcp/e2-standard-4"]["gpu_model"] = "L4"
    assert "gpu_model must be null exactly when gpu_count is 0" in _error(tmp_path, document)


def test_an_unexplained_missing_price_is_refused(tmp_path: Path) -> None:
    document = _shipped()
    del document["machine_types"]["gcp/e2-standard-4"]["price"]["note"]
    message = _error(tmp_path, document)
    assert "machine_types.gcp/e2-standard-4.price" in message and "needs a note" in message


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    document = _shipped()
    document["machine_types"]["gcp/e2-standard-4"]["cc"] = True
    assert "machine_types.gcp/e2-standard-4.cc" in _error(tmp_path, document)


def test_an_unknown_cloud_or_tee_is_refused(tmp_path: Path) -> None:
    document = _shipped()
    document["machine_types"]["gcp/a3-highgpu-1g"]["confidential"]["cpu_tee"] = "sev"
    assert "machine_types.gcp/a3-highgpu-1g.confidential.cpu_tee" in _error(tmp_path, document)
    document = _shipped()
    document["machine_types"]["gcp/e2-standard-4"]["cloud"] = "aws"
    assert "machine_types.gcp/e2-standard-4.cloud" in _error(tmp_path, document)


def test_unreadable_or_invalid_json_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "cloud_machine_types.json"
    with pytest.raises(InputError, match="cannot read the machine catalogue"):
        load_machine_catalogue(path, gpu_catalogue())
    path.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="invalid JSON in the machine catalogue"):
        load_machine_catalogue(path, gpu_catalogue())
