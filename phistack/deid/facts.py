"""What the gate knows about a plan's de-identified datasets: facts the plan cannot set.

The stack spec in the plan lists its datasets (``spec.datasets``: name, manifest path relative to the
project). For each, phistack reads the manifest from the project directory and verifies it against the
policy set's trusted signers (``data.deid_signers``): its signature, that the signer is trusted, that the
signer may vouch for the manifest's method, and that it is the manifest of that dataset. The results go to
the rules as ``input.deid`` (outside ``input.plan``), one entry per dataset name::

    {"valid": bool, "reason": "...", "method": "...", "signer": "sha256:...", "signer_name": "...",
     "dataset_digest": "sha256:...", "counts": {...}, "manifest": "<path>"}

A missing, unreadable, unsigned or altered manifest is ``valid: false`` with the reason, never an error:
the rules deny with it. Only malformed signer data (a policy error, exit 3) raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from phistack.deid.signers import Signers
from runtime.deid.manifest import load_manifest, verify_manifest
from runtime.errors import PhistackError


def _fact(name: str, manifest: Any, **fields: Any) -> dict[str, Any]:
    fact: dict[str, Any] = {
        "valid": False,
        "reason": "",
        "method": "",
        "signer": "",
        "signer_name": "",
        "dataset_digest": "",
        "counts": {},
        "manifest": manifest if isinstance(manifest, str) else "",
    }
    fact.update(fields)
    return fact


def _relative(manifest: Any) -> PurePosixPath | None:
    """The manifest path if it is a relative path inside the project, else None."""
    if not isinstance(manifest, str) or not manifest or "\\" in manifest:
        return None
    path = PurePosixPath(manifest)
    if path.is_absolute() or any(part in ("..", "") for part in path.parts):
        return None
    return path


def manifest_fact(name: str, manifest: Any, project: Path | None, signers: Signers) -> dict[str, Any]:
    """The verification result of the manifest ``manifest`` (a project-relative path) of dataset ``name``."""
    relative = _relative(manifest)
    if relative is None:
        return _fact(name, manifest, reason=f"manifest path {manifest!r} is not a relative path inside the project")
    if project is None:
        return _fact(name, manifest, reason=f"no project directory to read the manifest {manifest} from")
    try:
        document = load_manifest(project / relative)
    except PhistackError as err:
        return _fact(name, manifest, reason=str(err).replace(str(project / relative), str(relative)))
    return {**verify_document(document, signers, name), "manifest": manifest}


def verify_document(document: Mapping[str, Any], signers: Signers, dataset: str | None) -> dict[str, Any]:
    """A manifest document checked against ``signers``: signature, trusted signer, the signer's methods and,
    when ``dataset`` is given, that it is that dataset's manifest. Never raises: the fact says why not."""
    try:
        payload = verify_manifest(document, signers.keys())
    except PhistackError as err:
        return _fact(dataset or "", None, reason=str(err))
    method = str(payload["method"]["kind"])
    signer = signers.by_key_id()[str(document["signature"]["key_id"])]
    known = {
        "method": method,
        "signer": signer.key_id,
        "signer_name": signer.name,
        "dataset_digest": str(payload["dataset_digest"]),
        "counts": dict(payload.get("counts") or {}),
    }
    if method not in signer.methods:
        only = ", ".join(signer.methods)
        reason = f"signer {signer.name} ({signer.key_id}) is not trusted for {method} (only {only})"
        return _fact(dataset or "", None, reason=reason, **known)
    if dataset is not None and payload.get("dataset") != dataset:
        reason = f"the manifest is for dataset {payload.get('dataset')!r}, not {dataset!r}"
        return _fact(dataset, None, reason=reason, **known)
    return _fact(dataset or "", None, valid=True, **known)


def dataset_facts(spec: Mapping[str, Any] | None, project: Path | None, signers: Signers) -> dict[str, dict[str, Any]]:
    """``input.deid`` for a plan whose stack spec is ``spec``: one verified fact per named dataset."""
    datasets = (spec or {}).get("datasets")
    facts: dict[str, dict[str, Any]] = {}
    if not isinstance(datasets, (list, tuple)):
        return facts
    for entry in datasets:
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            name = entry["name"]
            # A name listed twice has no one manifest: neither entry is believed (fail closed).
            if name in facts:
                facts[name] = _fact(name, entry.get("manifest"), reason=f"dataset {name!r} is listed twice")
            else:
                facts[name] = manifest_fact(name, entry.get("manifest"), project, signers)
    return facts
