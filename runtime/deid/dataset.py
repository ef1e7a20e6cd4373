"""The runtime's check of a de-identified dataset before a job without confidential computing loads it.

A ``deidentified`` job on a machine that is not confidential runs only when its job spec names the dataset's
signed manifest and the signers it trusts (``deidentification: {manifest, trusted_keys, directory}``), the
manifest verifies against those keys, and the dataset directory holds exactly the manifest's bytes. Anything
else is a refusal (:class:`~runtime.errors.VerificationError`, exit 1) with the reason.
"""

from __future__ import annotations

from typing import Any

from runtime.deid.manifest import DEIDENTIFYING_METHODS, load_manifest, verify_dataset, verify_manifest
from runtime.ed25519 import key_id, load_public_key
from runtime.errors import InputError, VerificationError
from runtime.job import Deidentification


def verify_job_dataset(spec: Deidentification) -> dict[str, Any]:
    """What the audit log records of a verified dataset; VerificationError with the reason otherwise.

    A trusted key file that cannot be read is bad input (InputError, exit 2), as everywhere keys are read."""
    keys = {key_id(key): key for key in (load_public_key(path) for path in spec.trusted_keys)}
    try:
        document = load_manifest(spec.manifest)
    except InputError as err:  # the manifest is what is being checked: missing or unreadable refuses the job
        raise VerificationError(str(err)) from None
    payload = verify_manifest(document, keys)
    method = payload["method"]["kind"]
    if method not in DEIDENTIFYING_METHODS:  # a limited data set is still PHI, whoever signed it
        raise VerificationError(f"{spec.manifest}: the manifest records a {method}, not de-identified data")
    directory = spec.dataset_directory()
    if not directory.is_dir():
        raise VerificationError(f"{directory}: the de-identified dataset directory does not exist")
    verify_dataset(payload, directory)
    return {
        "dataset": payload.get("dataset"),
        "method": method,
        "signer": document["signature"]["key_id"],
        "dataset_digest": payload["dataset_digest"],
        "files": len(payload["outputs"]),
        "manifest": str(spec.manifest),
        "directory": str(directory),
    }
