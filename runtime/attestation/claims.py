"""Claims: what verified evidence says, in the shape of NVIDIA's NRAS EAT claims (v3).

Both verification paths produce :class:`Claims` — NRAS tokens directly, offline verification
through :func:`offline_claims` — so one appraisal policy judges both. ``overall`` carries the
platform result (``x-nvidia-overall-att-result``, ``eat_nonce``, ``iat``/``nbf``/``exp``); ``gpus``
maps ``GPU-<n>`` to per-GPU claims (``measres``, ``secboot``, ``dbgstat``, ``x-nvidia-gpu-*``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runtime.attestation.gpu_verify import VerifiedGpuReport, hwmodel_of
from runtime.attestation.measurements import MeasurementResult

OFFLINE_ISSUER = "phistack-offline-verifier"
DEFAULT_CLAIMS_TTL_S = 300


@dataclass(frozen=True)
class Claims:
    """Verified claims: ``source`` is ``offline`` or ``nras``."""

    source: str
    overall: Mapping[str, Any]
    gpus: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (also the appraisal input's ``claims`` part)."""
        return {
            "source": self.source,
            "overall": dict(self.overall),
            "gpus": {k: dict(v) for k, v in self.gpus.items()},
        }


def appraisal_input(claims: Claims | None, *, nonce: bytes, now: dt.datetime) -> dict[str, Any]:
    """The Rego input: claims, the nonce the verifier issued, and "now" as epoch seconds.

    ``now`` comes from the caller because the embedded engines share no time-parsing builtins.
    Missing claims are passed as missing, so the policy denies them by name.
    """
    document: dict[str, Any] = {"nonce": nonce.hex(), "now": int(now.timestamp())}
    if claims is not None:
        document.update(claims.to_dict())
    return document


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def offline_gpu_claims(
    verified: VerifiedGpuReport, measurements: MeasurementResult, *, ttl_s: int = DEFAULT_CLAIMS_TTL_S
) -> dict[str, Any]:
    """Per-GPU claims from an offline-verified report, with NRAS v3 claim names.

    ``secboot`` and ``dbgstat`` are asserted only when every measurement matched its reference:
    a GPU in debug or devtools mode, or one that booted unexpected firmware, measures differently.
    """
    matched = measurements.status == "success"
    report = verified.report
    issued = _epoch(verified.verified_at)
    claims: dict[str, Any] = {
        "iss": OFFLINE_ISSUER,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_s,
        "eat_nonce": verified.nonce.hex(),
        "hwmodel": hwmodel_of(verified.chain),
        "ueid": str(verified.chain.leaf.serial_number),
        "measres": measurements.status,
        "secboot": matched,
        "dbgstat": "disabled" if matched else "unverified",
        "x-nvidia-gpu-attestation-report-parsed": True,
        "x-nvidia-gpu-attestation-report-signature-verified": True,
        "x-nvidia-gpu-attestation-report-nonce-match": True,
        "x-nvidia-gpu-attestation-report-cert-chain": {
            "x-nvidia-cert-status": "valid",
            "x-nvidia-cert-expiration-date": verified.chain.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "x-nvidia-gpu-driver-version": report.driver_version,
        "x-nvidia-gpu-vbios-version": report.vbios_version,
    }
    if measurements.mismatched:
        claims["x-phistack-measurements-mismatched"] = list(measurements.mismatched)
    return claims


def offline_claims(
    reports: Sequence[tuple[VerifiedGpuReport, MeasurementResult]],
    *,
    nonce: bytes,
    at_time: dt.datetime,
    ttl_s: int = DEFAULT_CLAIMS_TTL_S,
) -> Claims:
    """Claims for a set of offline-verified GPUs, all bound to ``nonce``."""
    gpus = {f"GPU-{i}": offline_gpu_claims(v, m, ttl_s=ttl_s) for i, (v, m) in enumerate(reports)}
    issued = _epoch(at_time)
    overall = {
        "iss": OFFLINE_ISSUER,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_s,
        "eat_nonce": nonce.hex(),
        "x-nvidia-overall-att-result": bool(gpus) and all(c["measres"] == "success" for c in gpus.values()),
    }
    return Claims("offline", overall, gpus)
