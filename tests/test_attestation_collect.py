"""Evidence collection: every branch through a fake NVML module and a simulated configfs-tsm tree."""

from __future__ import annotations

import ctypes
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from runtime.attestation import AttestationError, collect_evidence, collect_gpu_evidence
from runtime.attestation.tsm import collect_cpu_report
from tests.support.attestation import VALID_NONCE, chain_pem, report_bytes


class FakeNVMLError(Exception):
    pass


class FakeNvml:
    """The subset of pynvml that collection uses, with switchable failures."""

    NVMLError = FakeNVMLError
    NVML_CC_SYSTEM_FEATURE_ENABLED = 1
    NVML_CC_SYSTEM_DEVTOOLS_MODE_ON = 1

    def __init__(self, **overrides: Any) -> None:
        self.init_error = overrides.get("init_error")
        self.count = overrides.get("count", 1)
        self.cc = overrides.get("cc", (2, 1, 0))  # environment, ccFeature, devToolsMode
        self.cc_error = overrides.get("cc_error")
        self.report_error = overrides.get("report_error")
        self.nonces: list[bytes] = []
        self.shutdown_called = False

    def nvmlInit(self) -> None:
        if self.init_error:
            raise FakeNVMLError(self.init_error)

    def nvmlShutdown(self) -> None:
        self.shutdown_called = True

    def nvmlDeviceGetCount(self) -> int:
        return int(self.count)

    def nvmlSystemGetConfComputeState(self) -> Any:
        if self.cc_error:
            raise FakeNVMLError(self.cc_error)
        environment, feature, devtools = self.cc
        return SimpleNamespace(environment=environment, ccFeature=feature, devToolsMode=devtools)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetConfComputeGpuAttestationReport(self, handle: int, nonce: bytes) -> Any:
        if self.report_error:
            raise FakeNVMLError(self.report_error)
        self.nonces.append(bytes(nonce))
        raw = report_bytes()
        buffer = (ctypes.c_uint8 * 0x2000)(*raw)
        return SimpleNamespace(attestationReport=buffer, attestationReportSize=len(raw))

    def nvmlDeviceGetConfComputeGpuCertificate(self, handle: int) -> Any:
        chain = chain_pem()
        buffer = (ctypes.c_uint8 * 0x1400)(*chain)
        return SimpleNamespace(attestationCertChain=buffer, attestationCertChainSize=len(chain))

    def nvmlDeviceGetArchitecture(self, handle: int) -> int:
        return 9

    def nvmlDeviceGetUUID(self, handle: int) -> str:
        return f"GPU-0000000{handle}"


def test_confidential_gpu_yields_evidence() -> None:
    nvml = FakeNvml(count=2)
    result = collect_gpu_evidence(VALID_NONCE, nvml=nvml)
    assert result.confidential and result.reason_code == "ok"
    assert [gpu.uuid for gpu in result.gpus] == ["GPU-00000000", "GPU-00000001"]
    assert result.gpus[0].report == report_bytes() and result.gpus[0].cert_chain_pem == chain_pem()
    assert result.gpus[0].arch == "HOPPER"
    assert nvml.nonces == [VALID_NONCE, VALID_NONCE]
    assert nvml.shutdown_called
    assert result.require() == result.gpus
    assert result.cc_state == {"environment": "production", "cc_feature": "on", "devtools": "off"}


@pytest.mark.parametrize(
    ("nvml", "code", "reason"),
    [
        (FakeNvml(init_error="NVML Shared Library Not Found"), "no-nvml", "NVML could not start"),
        (FakeNvml(count=0), "no-gpu", "no NVIDIA GPU"),
        (FakeNvml(cc_error="Not Supported"), "cc-unsupported", "does not support confidential computing"),
        (FakeNvml(cc=(2, 0, 0)), "cc-off", "confidential-computing mode is off"),
        (FakeNvml(cc=(2, 1, 1)), "cc-devtools", "devtools mode is on"),
        (FakeNvml(cc=(1, 1, 0)), "cc-not-production", "simulated"),
        (
            FakeNvml(report_error="Insufficient Permissions"),
            "evidence-failed",
            "reading attestation evidence failed",
        ),
    ],
)
def test_not_confidential_branches(nvml: FakeNvml, code: str, reason: str) -> None:
    result = collect_gpu_evidence(VALID_NONCE, nvml=nvml)
    assert not result.confidential
    assert result.reason_code == code
    assert reason in result.reason
    assert result.to_dict()["confidential"] is False
    with pytest.raises(AttestationError, match=code):
        result.require()


def test_missing_bindings_is_not_confidential(monkeypatch: pytest.MonkeyPatch) -> None:
    import runtime.attestation.collect as collect

    monkeypatch.setattr(collect, "_load_nvml", lambda: "the NVML bindings (nvidia-ml-py) are not installed")
    result = collect_gpu_evidence(VALID_NONCE)
    assert (result.confidential, result.reason_code) == (False, "no-nvml")


def test_this_machine_without_gpu_is_not_confidential() -> None:
    # The real pynvml on a machine without an NVIDIA driver: a result, not an exception.
    result = collect_evidence(VALID_NONCE, tsm_root=Path("/nonexistent/tsm"))
    if result.confidential:  # pragma: no cover - only on a CC GPU machine
        pytest.skip("this machine is confidential")
    assert result.reason_code in {"no-nvml", "no-gpu", "cc-unsupported", "cc-off", "cc-devtools"}
    assert "configfs-tsm not present" in result.cpu_tee_note


class FakeConfigfs:
    """mkdir/rmdir that, like configfs, populate a new report entry with its attribute files and remove
    them with it; ``inblobs`` keeps what was written to each entry's inblob."""

    def __init__(self, provider: str, outblob: bytes) -> None:
        self.provider, self.outblob = provider, outblob
        self.inblobs: list[bytes] = []

    def mkdir(self, entry: Path) -> None:
        entry.mkdir()
        (entry / "inblob").write_bytes(b"")
        (entry / "provider").write_text(self.provider + "\n")
        (entry / "outblob").write_bytes(self.outblob)
        (entry / "generation").write_text("1\n")

    def rmdir(self, entry: Path) -> None:
        self.inblobs.append((entry / "inblob").read_bytes())
        for name in ("inblob", "provider", "outblob", "generation"):
            (entry / name).unlink()
        entry.rmdir()


def test_cpu_report_through_configfs_tsm(tmp_path: Path) -> None:
    fake = FakeConfigfs("tdx_guest", b"QUOTE")
    evidence, note = collect_cpu_report(VALID_NONCE, root=tmp_path, mkdir=fake.mkdir, rmdir=fake.rmdir)
    assert evidence is not None and evidence.provider == "tdx_guest" and evidence.report == b"QUOTE"
    assert evidence.generation == 1
    assert fake.inblobs == [VALID_NONCE + bytes(32)]
    assert "tdx_guest" in note
    assert list(tmp_path.iterdir()) == []  # the entry is gone


def test_cpu_report_absent_or_failing(tmp_path: Path) -> None:
    evidence, note = collect_cpu_report(VALID_NONCE, root=tmp_path / "missing")
    assert evidence is None and "not present" in note
    evidence, note = collect_cpu_report(VALID_NONCE, root=tmp_path)  # plain dir: no attributes appear
    assert evidence is None and "not a configfs-tsm report directory" in note
    assert list(tmp_path.iterdir()) == []  # no stray phistack-<hex> entry, not even an empty one
    fake = FakeConfigfs("sev_guest", b"")
    (tmp_path / "empty").mkdir()
    evidence, note = collect_cpu_report(VALID_NONCE, root=tmp_path / "empty", mkdir=fake.mkdir, rmdir=fake.rmdir)
    assert evidence is None and "empty report" in note
    assert list((tmp_path / "empty").iterdir()) == []


def test_require_cpu_tee_makes_its_absence_not_confidential(tmp_path: Path) -> None:
    result = collect_evidence(VALID_NONCE, nvml=FakeNvml(), tsm_root=tmp_path / "none", require_cpu_tee=True)
    assert (result.confidential, result.reason_code) == (False, "no-cpu-tee")
    result = collect_evidence(VALID_NONCE, nvml=FakeNvml(), tsm_root=tmp_path / "none")
    assert result.confidential
