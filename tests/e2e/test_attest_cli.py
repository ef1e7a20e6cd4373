"""`phistack attest verify` and `phistack-runtime attest`, driven as a user would."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.attestation import SECOND_GPU_NONCE, VALID_NONCE, reference_measurements_file, vector
from tests.support.cli import assert_one_line_error, run_cli


def _verify(
    *extra: str, report: str = "hopperAttestationReport.txt", chain: str = "hopperCertChain.txt"
) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "attest",
        "verify",
        "--gpu-report",
        str(vector(report)),
        "--cert-chain",
        str(vector(chain)),
        "--root",
        str(vector("verifier_device_root.pem")),
        *extra,
    )


def test_valid_report_exits_0_with_a_summary() -> None:
    proc = _verify("--nonce", VALID_NONCE.hex())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("valid: certificate chain, report signature and nonce verified")
    assert "driver_version: 535.86.09" in proc.stdout
    assert "vbios_version: 96.00.5E.00.01" in proc.stdout


def test_json_summary_with_reference_measurements(tmp_path: Path) -> None:
    golden = reference_measurements_file(tmp_path)
    proc = _verify("--nonce", VALID_NONCE.hex(), "--json", "--reference-measurements", str(golden))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["result"] == "valid"
    assert summary["hwmodel"] == "GH100 A01 GSP BROM"
    assert summary["measurements"] == {"status": "success", "mismatched": []}


@pytest.mark.parametrize(
    ("args", "report", "chain", "reason"),
    [
        (["--nonce", "00" * 32], "hopperAttestationReport.txt", "hopperCertChain.txt", "nonce mismatch"),
        (
            ["--nonce", SECOND_GPU_NONCE.hex()],
            "hopperAttestationReportInvalidSignature.txt",
            "hopperCertChainExpired.txt",
            "signature does not verify",
        ),
        (
            ["--nonce", VALID_NONCE.hex()],
            "hopperAttestationReport.txt",
            "hopperCertChainExpired.txt",
            "signature does not verify",
        ),
        (
            ["--nonce", VALID_NONCE.hex(), "--at", "2021-12-01T00:00:00Z"],
            "hopperAttestationReport.txt",
            "hopperCertChain.txt",
            "is not yet valid",
        ),
    ],
    ids=["wrong-nonce", "broken-signature", "other-gpu-chain", "outside-validity"],
)
def test_rejections_exit_1_with_the_reason(args: list[str], report: str, chain: str, reason: str) -> None:
    assert_one_line_error(_verify(*args, report=report, chain=chain), 1, reason)


def _mismatching_references(tmp_path: Path) -> Path:
    """The enrolled golden values with block 3's digest replaced: firmware other than the one expected."""
    golden = reference_measurements_file(tmp_path)
    document = json.loads(golden.read_text())
    document["measurements"]["3"] = ["00" * 48]
    golden.write_text(json.dumps(document))
    return golden


def test_mismatching_measurements_exit_1_and_never_say_valid(tmp_path: Path) -> None:
    golden = _mismatching_references(tmp_path)
    proc = _verify("--nonce", VALID_NONCE.hex(), "--reference-measurements", str(golden))
    assert_one_line_error(proc, 1, "measurements fail: measurement block(s) 3 do not match", str(golden))
    assert "valid" not in proc.stdout
    as_json = _verify("--nonce", VALID_NONCE.hex(), "--json", "--reference-measurements", str(golden))
    assert_one_line_error(as_json, 1, "measurements fail")
    summary = json.loads(as_json.stdout)
    assert summary["result"] == "rejected"
    assert summary["measurements"] == {"status": "fail", "mismatched": [3]}


def test_reference_file_without_values_is_no_pass(tmp_path: Path) -> None:
    empty = tmp_path / "none.json"
    empty.write_text('{"measurements": {}}')
    proc = _verify("--nonce", VALID_NONCE.hex(), "--reference-measurements", str(empty))
    assert_one_line_error(proc, 1, "measurements not-verified", "no reference values")


@pytest.mark.parametrize(
    ("report", "chain", "fragments"),
    [
        ("", None, ["GPU report is empty"]),
        ("\n  \n", None, ["GPU report is empty"]),
        ("11" * 40, None, ["not an SPDM attestation report"]),
        (None, "not a certificate\n", ["certificate chain is not valid PEM"]),
        (None, "", ["certificate chain is not valid PEM"]),
    ],
    ids=["empty-report", "blank-report", "garbage-report", "non-pem-chain", "empty-chain"],
)
def test_unreadable_report_or_chain_exits_2(
    tmp_path: Path, report: str | None, chain: str | None, fragments: list[str]
) -> None:
    report_path, chain_path = vector("hopperAttestationReport.txt"), vector("hopperCertChain.txt")
    if report is not None:
        report_path = tmp_path / "report.txt"
        report_path.write_text(report)
    if chain is not None:
        chain_path = tmp_path / "chain.pem"
        chain_path.write_text(chain)
    proc = run_cli(
        "attest", "verify", "--gpu-report", str(report_path), "--cert-chain", str(chain_path),
        "--root", str(vector("verifier_device_root.pem")), "--nonce", VALID_NONCE.hex(),
    )  # fmt: skip
    assert_one_line_error(proc, 2, *fragments)
    assert proc.stdout == ""


def test_bad_input_exits_2(tmp_path: Path) -> None:
    assert_one_line_error(_verify("--nonce", "abc"), 2, "--nonce")
    assert_one_line_error(_verify("--nonce", VALID_NONCE.hex(), "--at", "yesterday"), 2, "--at")
    proc = run_cli(
        "attest",
        "verify",
        "--gpu-report",
        str(tmp_path / "missing.txt"),
        "--cert-chain",
        str(vector("hopperCertChain.txt")),
        "--root",
        str(vector("verifier_device_root.pem")),
        "--nonce",
        VALID_NONCE.hex(),
    )
    assert_one_line_error(proc, 2, "missing.txt")


def test_runtime_attest_on_a_machine_without_gpu_exits_1_with_the_reason(tmp_path: Path) -> None:
    out = tmp_path / "attest.json"
    proc = run_cli("attest", "--nonce", VALID_NONCE.hex(), "-o", str(out), module="runtime")
    document = json.loads(out.read_text())
    if document["confidential"]:  # pragma: no cover - a confidential GPU machine
        pytest.skip("this machine is confidential")
    assert proc.returncode == 1
    assert document["nonce"] == VALID_NONCE.hex()
    assert document["reason_code"] in {"no-nvml", "no-gpu", "cc-unsupported", "cc-off", "cc-devtools"}
    assert f"not confidential: {document['reason']}" in proc.stderr
    assert_one_line_error(run_cli("attest", "--nonce", "xyz", module="runtime"), 2, "--nonce")


def test_runtime_attest_leaves_no_entry_in_a_tsm_root_that_is_not_configfs(tmp_path: Path) -> None:
    tsm = tmp_path / "tsm"
    tsm.mkdir()
    out = tmp_path / "attest.json"
    proc = run_cli("attest", "--nonce", VALID_NONCE.hex(), "--tsm-root", str(tsm), "-o", str(out), module="runtime")
    document = json.loads(out.read_text())
    assert "not a configfs-tsm report directory" in document["cpu_tee_note"], document
    assert list(tsm.iterdir()) == []  # no phistack-<hex> entry, empty or not
    if not document["confidential"]:
        assert proc.returncode == 1
