"""Offline verification of NVIDIA's real GPU attestation vectors."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography import x509

from runtime.attestation import (
    AttestationError,
    ReferenceMeasurements,
    load_pem_chain,
    offline_claims,
    parse_nonce,
    parse_report,
    verify_chain,
    verify_gpu_report,
)
from runtime.errors import VerificationError
from tests.support.attestation import (
    NOW,
    SECOND_GPU_NONCE,
    VALID_NONCE,
    ZERO_NONCE,
    chain_pem,
    device_root,
    report_bytes,
    vector,
)


def test_report_parses_into_blocks_and_versions() -> None:
    report = parse_report(report_bytes())
    assert report.request_nonce == VALID_NONCE
    assert len(report.measurements) == 64
    assert {len(block.value) for block in report.measurements} == {48}
    assert report.driver_version == "535.86.09"
    assert report.vbios_version == "96.00.5E.00.01"
    assert report.named_opaque_fields()["chip_sku"] == "882"


def test_valid_report_is_accepted() -> None:
    verified = verify_gpu_report(report_bytes(), chain_pem(), VALID_NONCE, device_root(), at_time=NOW)
    assert verified.nonce == VALID_NONCE
    summary = verified.summary()
    assert summary["hwmodel"] == "GH100 A01 GSP BROM"
    assert summary["driver_version"] == "535.86.09"


def test_second_gpu_report_verifies_against_its_own_chain() -> None:
    verified = verify_gpu_report(
        report_bytes("hopperAttestationReportExpired.txt"),
        chain_pem("hopperCertChainExpired.txt"),
        SECOND_GPU_NONCE,
        device_root(),
        at_time=NOW,
    )
    assert verified.report.driver_version == "570.124.03"


def test_serialized_sdk_evidence_verifies() -> None:
    entry = json.loads(vector("hopper_evidence.json").read_text())[0]
    verified = verify_gpu_report(
        base64.b64decode(entry["evidence"]),
        base64.b64decode(entry["certificate"]),
        bytes.fromhex(entry["nonce"]),
        device_root(),
        at_time=NOW,
    )
    assert verified.nonce.hex() == entry["nonce"]


def test_wrong_nonce_is_rejected() -> None:
    with pytest.raises(AttestationError, match="nonce mismatch"):
        verify_gpu_report(report_bytes(), chain_pem(), ZERO_NONCE, device_root(), at_time=NOW)


@pytest.mark.parametrize("chain", ["hopperCertChain.txt", "hopperCertChainExpired.txt"])
def test_broken_signature_is_rejected(chain: str) -> None:
    with pytest.raises(AttestationError, match="signature does not verify"):
        verify_gpu_report(
            report_bytes("hopperAttestationReportInvalidSignature.txt"),
            chain_pem(chain),
            SECOND_GPU_NONCE,
            device_root(),
            at_time=NOW,
        )


def test_report_checked_against_other_gpus_chain_is_rejected() -> None:
    with pytest.raises(AttestationError, match="signature does not verify"):
        verify_gpu_report(
            report_bytes(), chain_pem("hopperCertChainExpired.txt"), VALID_NONCE, device_root(), at_time=NOW
        )


def test_errors_are_verification_errors_with_exit_code_1() -> None:
    with pytest.raises(VerificationError) as caught:
        verify_gpu_report(report_bytes(), chain_pem(), ZERO_NONCE, device_root(), at_time=NOW)
    assert caught.value.exit_code == 1


def test_chain_verifies_inside_validity_and_fails_outside() -> None:
    certificates = load_pem_chain(chain_pem())
    inside = dt.datetime(2022, 6, 1, tzinfo=dt.UTC)
    assert verify_chain(certificates, device_root(), at_time=inside).leaf == certificates[0]
    # After the root (2021-11-05) became valid, before the intermediates (2022) did.
    outside = dt.datetime(2021, 12, 1, tzinfo=dt.UTC)
    with pytest.raises(AttestationError, match=r"'NVIDIA GH100 Provisioner ICA 1'.*not yet valid"):
        verify_chain(certificates, device_root(), at_time=outside)
    # The report itself is refused when checked at that time.
    with pytest.raises(AttestationError, match="not yet valid"):
        verify_gpu_report(report_bytes(), chain_pem(), VALID_NONCE, device_root(), at_time=outside)


def test_expired_certificate_is_rejected() -> None:
    # The GPU chains are valid until 9999: the last representable instant after that is outside.
    after = dt.datetime.max.replace(tzinfo=dt.UTC)
    with pytest.raises(AttestationError, match="expired at 9999-12-31"):
        verify_chain(load_pem_chain(chain_pem()), device_root(), at_time=after)


def test_chain_not_ending_at_the_anchor_is_rejected() -> None:
    rim_root = x509.load_pem_x509_certificate(vector("verifier_RIM_root.pem").read_bytes())
    with pytest.raises(AttestationError, match="was not issued by"):
        verify_chain(load_pem_chain(chain_pem()), rim_root, at_time=NOW)


def test_chain_missing_a_link_is_rejected() -> None:
    certificates = load_pem_chain(chain_pem())
    with pytest.raises(AttestationError, match="was not issued by"):
        verify_chain((certificates[0], *certificates[2:]), device_root(), at_time=NOW)


def test_leaf_used_as_issuer_fails_ca_constraints() -> None:
    certificates = load_pem_chain(chain_pem())
    with pytest.raises(AttestationError, match="not a CA"):
        verify_chain((certificates[1], certificates[0], *certificates[2:]), device_root(), at_time=NOW)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw[:100], "too short"),
        (lambda raw: raw[:1] + b"\x00" + raw[2:], "GET_MEASUREMENTS"),
        (lambda raw: raw[:-97] + raw[-96:], "unexpected bytes|truncated"),
    ],
)
def test_malformed_reports_are_rejected(mutate, message) -> None:
    with pytest.raises(AttestationError, match=message):
        parse_report(mutate(report_bytes()))


def test_bad_nonce_text_is_rejected() -> None:
    assert parse_nonce(VALID_NONCE.hex()) == VALID_NONCE
    with pytest.raises(AttestationError, match="32 bytes"):
        parse_nonce("abcd")
    with pytest.raises(AttestationError, match="hexadecimal"):
        parse_nonce("zz" * 32)


def test_measurements_compare_and_offline_claims() -> None:
    verified = verify_gpu_report(report_bytes(), chain_pem(), VALID_NONCE, device_root(), at_time=NOW)
    references = ReferenceMeasurements.from_report(verified.report)
    assert references.compare(verified.report).status == "success"
    assert ReferenceMeasurements().compare(verified.report).status == "not-verified"
    second_gpu = parse_report(report_bytes("hopperAttestationReportExpired.txt"))
    other = ReferenceMeasurements.from_report(second_gpu)
    mismatch = other.compare(verified.report)
    assert mismatch.status == "fail" and mismatch.mismatched

    claims = offline_claims([(verified, references.compare(verified.report))], nonce=VALID_NONCE, at_time=NOW)
    gpu = claims.gpus["GPU-0"]
    assert gpu["measres"] == "success" and gpu["secboot"] is True and gpu["dbgstat"] == "disabled"
    assert gpu["x-nvidia-gpu-driver-version"] == "535.86.09"
    assert gpu["eat_nonce"] == VALID_NONCE.hex()
    assert claims.overall["x-nvidia-overall-att-result"] is True
    failing = offline_claims([(verified, mismatch)], nonce=VALID_NONCE, at_time=NOW)
    assert failing.gpus["GPU-0"]["secboot"] is False
    assert failing.overall["x-nvidia-overall-att-result"] is False


def test_reference_measurements_round_trip(tmp_path) -> None:
    references = ReferenceMeasurements.from_report(parse_report(report_bytes()))
    path = tmp_path / "refs.json"
    path.write_text(references.to_json())
    assert ReferenceMeasurements.load(path) == references
