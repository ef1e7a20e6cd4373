"""Attestation: collect evidence on this machine, verify it (offline or through NRAS), produce claims.

Public API::

    result = collect_evidence(nonce)                 # CollectionResult; .confidential, .reason
    verified = verify_gpu_report(report, chain_pem, nonce, anchor, at_time=now)   # raises AttestationError
    claims = offline_claims([(verified, references.compare(verified.report))], nonce=nonce, at_time=now)
    claims, answer = NrasClient(jwks).attest(nonce, result.gpus, at_time=now)     # remote verification

Verification never returns a boolean: it returns a verified object or raises
:class:`AttestationError` (a :class:`runtime.errors.VerificationError`, exit 1) with the reason.
"""

from runtime.attestation.certchain import VerifiedChain, load_pem_chain, verify_chain
from runtime.attestation.claims import Claims, appraisal_input, offline_claims
from runtime.attestation.collect import collect_evidence, collect_gpu_evidence
from runtime.attestation.errors import AttestationError
from runtime.attestation.evidence import CollectionResult, CpuTeeEvidence, GpuEvidence
from runtime.attestation.gpu_verify import VerifiedGpuReport, parse_nonce, parse_report_hex, verify_gpu_report
from runtime.attestation.jws import JsonWebKeySet, verify_es384
from runtime.attestation.measurements import MeasurementResult, ReferenceMeasurements
from runtime.attestation.nras import NrasClient, verify_response
from runtime.attestation.spdm import SpdmReport, parse_report

__all__ = [
    "AttestationError",
    "Claims",
    "CollectionResult",
    "CpuTeeEvidence",
    "GpuEvidence",
    "JsonWebKeySet",
    "MeasurementResult",
    "NrasClient",
    "ReferenceMeasurements",
    "SpdmReport",
    "VerifiedChain",
    "VerifiedGpuReport",
    "appraisal_input",
    "collect_evidence",
    "collect_gpu_evidence",
    "load_pem_chain",
    "offline_claims",
    "parse_nonce",
    "parse_report",
    "parse_report_hex",
    "verify_chain",
    "verify_es384",
    "verify_gpu_report",
    "verify_response",
]
