"""Validate manifests: core kinds against the Kubernetes OpenAPI schema (strict), CRDs explicitly.

A kind with neither a core schema nor one in :mod:`phistack.render.crd_schemas` is an error: nothing
passes unvalidated.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate

from phistack.render.crd_schemas import SPEC_SCHEMAS

#: The Kubernetes version whose OpenAPI schema core manifests are validated against.
KUBERNETES_VERSION = kubernetes_validate.latest_version()


class ManifestError(Exception):
    """A manifest does not validate; the message says which field and why."""


def _path(error: jsonschema.ValidationError) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path]
    return "".join(parts).lstrip(".") or "(top level)"


def validate_manifest(body: dict[str, Any], version: str = KUBERNETES_VERSION) -> str:
    """Validate ``body``; return how (``core`` or ``crd-subset``); raise :class:`ManifestError`."""
    api_version, kind = str(body.get("apiVersion")), str(body.get("kind"))
    crd = SPEC_SCHEMAS.get((api_version, kind))
    if crd is not None:
        extra = sorted(set(body) - {"apiVersion", "kind", "metadata", "spec"})
        if extra:
            raise ManifestError(f"{kind}: unexpected top-level fields {extra}")
        # ObjectMeta is the same for every object: check it with the core schema (strict).
        try:
            kubernetes_validate.validate(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": body.get("metadata")}, version, strict=True
            )
        except kubernetes_validate.ValidationError as err:
            raise ManifestError(f"{kind}: metadata: {err.message}") from err
        try:
            jsonschema.Draft202012Validator(crd).validate(body.get("spec"))
        except jsonschema.ValidationError as err:
            raise ManifestError(f"{kind}: spec.{_path(err)}: {err.message}") from err
        return "crd-subset"
    try:
        kubernetes_validate.validate(body, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError as err:
        raise ManifestError(f"{api_version} {kind}: no schema (not a core kind, no CRD schema known)") from err
    except kubernetes_validate.ValidationError as err:
        raise ManifestError(f"{kind}: {_path(err)}: {err.message}") from err
    return "core"
