"""The Rego attestation policy: its own tests, and identical decisions on regorus and regopy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phistack.keybroker.appraisal import DEFAULT_POLICY_ROOT, Appraiser
from phistack.policytest import format_text, run_suite
from runtime.attestation import Claims, ReferenceMeasurements, offline_claims, verify_gpu_report
from runtime.attestation.claims import appraisal_input
from tests.support.attestation import (
    NOW,
    VALID_NONCE,
    chain_pem,
    device_root,
    passing_gpu_claims,
    recorded_gpu_claims,
    report_bytes,
)

ENGINES = ("regorus", "regopy")


@pytest.fixture(scope="module")
def appraisers() -> Iterator[dict[str, Appraiser]]:
    loaded = {engine: Appraiser(engine=engine) for engine in ENGINES}
    yield loaded
    for appraiser in loaded.values():
        appraiser.close()


def _overall(nonce: bytes, now: dt.datetime) -> dict[str, Any]:
    issued = int(now.timestamp())
    return {
        "eat_nonce": nonce.hex(),
        "iat": issued,
        "nbf": issued,
        "exp": issued + 3600,
        "x-nvidia-overall-att-result": True,
    }


def _input(gpu: dict[str, Any] | None, **changes: Any) -> dict[str, Any]:
    claims = None if gpu is None else Claims("nras", _overall(VALID_NONCE, NOW), {"GPU-0": gpu})
    document = appraisal_input(claims, nonce=VALID_NONCE, now=NOW)
    document.update(changes)
    return document


def _gpu(**changes: Any) -> dict[str, Any]:
    claims = passing_gpu_claims(VALID_NONCE, NOW)
    for key, value in changes.items():
        name = key.replace("__", "-")
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "passing": (_input(_gpu()), []),
    "measurement failure": (_input(_gpu(measres="fail")), ["GPU-0: measurement result is fail, not success"]),
    "secure boot off": (_input(_gpu(secboot=False)), ["GPU-0: secure boot is false, not true"]),
    "debug on": (_input(_gpu(dbgstat="enabled")), ["GPU-0: debug status is enabled, not disabled"]),
    "driver not allow-listed": (
        _input(_gpu(**{"x-nvidia-gpu-driver-version": "470.1"})),
        ["GPU-0: driver version 470.1 is not allow-listed"],
    ),
    "vbios not allow-listed": (
        _input(_gpu(**{"x-nvidia-gpu-vbios-version": "96.00.00.00.00"})),
        ["GPU-0: VBIOS version 96.00.00.00.00 is not allow-listed"],
    ),
    "bad certificate": (
        _input(_gpu(**{"x-nvidia-gpu-attestation-report-cert-chain": {"x-nvidia-cert-status": "expired"}})),
        ["GPU-0: attestation certificate chain is not valid"],
    ),
    "wrong nonce": (
        _input(_gpu(eat_nonce="00" * 32)),
        [f"GPU-0: eat_nonce {'00' * 32} does not match the issued nonce"],
    ),
    "expired evidence": (_input(_gpu(exp=int(NOW.timestamp()) - 1)), ["GPU-0: evidence expired"]),
    "missing claims": (
        _input(_gpu(measres=None, dbgstat=None)),
        ["GPU-0: debug status is missing, not disabled", "GPU-0: measurement result is missing, not success"],
    ),
    "no claims": (
        _input(None),
        ["no GPU claims presented", "overall claims missing"],
    ),
    "quoted value": (
        _input(_gpu(dbgstat='en"abled')),
        ["GPU-0: debug status is of an unexpected form, not disabled"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_decisions_are_identical_on_both_engines(appraisers: dict[str, Appraiser], case: str) -> None:
    document, reasons = CASES[case]
    for engine, appraiser in appraisers.items():
        appraisal = appraiser.evaluate(document)
        assert appraisal.reasons == tuple(reasons), engine
        assert appraisal.allow is (not reasons), engine


@pytest.mark.parametrize("name", ["hopperClaimsv3_decoded.json", "nras_detached_claims_remote.json"])
def test_recorded_real_claims_pass(appraisers: dict[str, Appraiser], name: str) -> None:
    gpu = recorded_gpu_claims(name)
    nonce = bytes.fromhex(gpu["eat_nonce"])
    at = dt.datetime.fromtimestamp(gpu["iat"] + 60, dt.UTC)
    claims = Claims("nras", _overall(nonce, at), {"GPU-0": gpu})
    for appraiser in appraisers.values():
        assert appraiser.appraise(claims, nonce=nonce, at_time=at).to_dict() == {"allow": True, "reasons": []}


def test_recorded_claims_after_expiry_are_denied(appraisers: dict[str, Appraiser]) -> None:
    gpu = recorded_gpu_claims()
    nonce = bytes.fromhex(gpu["eat_nonce"])
    at = dt.datetime.fromtimestamp(gpu["exp"] + 1, dt.UTC)
    claims = Claims("nras", _overall(nonce, dt.datetime.fromtimestamp(gpu["iat"], dt.UTC)), {"GPU-0": gpu})
    for appraiser in appraisers.values():
        assert "GPU-0: evidence expired" in appraiser.appraise(claims, nonce=nonce, at_time=at).reasons


def test_offline_claims_of_the_real_vector(appraisers: dict[str, Appraiser]) -> None:
    verified = verify_gpu_report(report_bytes(), chain_pem(), VALID_NONCE, device_root(), at_time=NOW)
    good = ReferenceMeasurements.from_report(verified.report).compare(verified.report)
    unverified = ReferenceMeasurements().compare(verified.report)
    for appraiser in appraisers.values():
        passing = offline_claims([(verified, good)], nonce=VALID_NONCE, at_time=NOW)
        assert appraiser.appraise(passing, nonce=VALID_NONCE, at_time=NOW).allow
        failing = offline_claims([(verified, unverified)], nonce=VALID_NONCE, at_time=NOW)
        assert appraiser.appraise(failing, nonce=VALID_NONCE, at_time=NOW).reasons == (
            "GPU-0: debug status is unverified, not disabled",
            "GPU-0: measurement result is not-verified, not success",
            "GPU-0: secure boot is false, not true",
            "overall: attestation result is false, not true",
        )


@pytest.mark.parametrize("engine", ENGINES)
def test_rego_unit_tests_pass(engine: str) -> None:
    report = run_suite(DEFAULT_POLICY_ROOT, engine=engine)
    assert report.ok, format_text(report, verbose=True)
    assert report.passed >= 15


def test_policy_root_is_where_the_policies_live() -> None:
    assert (DEFAULT_POLICY_ROOT / "attestation.rego").is_file()
    assert Path(DEFAULT_POLICY_ROOT / "data" / "attestation_allowlist.json").is_file()
