"""Validate manifests: core kinds against the Kubernetes OpenAPI schema (strict), CRDs explicitly.

A kind with neither a core schema nor one in :mod:`phistack.render.crd_schemas` is an error: nothing
passes unvalidated.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from typing import Any, NamedTuple

import jsonschema
import kubernetes_validate
from referencing import Registry, Resource

from phistack.render.crd_schemas import SPEC_SCHEMAS
from phistack.render.precheck import Check, compile_schema

#: The Kubernetes version whose OpenAPI schema core manifests are validated against.
KUBERNETES_VERSION = kubernetes_validate.latest_version()

_SCHEMAS = importlib.resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")


class _NoSchema(Exception):
    pass


@functools.lru_cache(maxsize=8)
def _definitions(schema_dir: str) -> Resource[Any]:
    # Several MB of JSON that kubernetes_validate.validate parses again for every object: here, once per run.
    return Resource.from_contents(json.loads(_SCHEMAS.joinpath(schema_dir, "_definitions.json").read_text()))


@functools.lru_cache(maxsize=8)
def _schema_version(desired: str) -> str:
    """The newest schema kubernetes_validate ships that is not newer than ``desired`` (as it chooses)."""
    wanted = kubernetes_validate.utils.major_minor(desired.removeprefix("v"))
    known = [v for v in kubernetes_validate.utils.all_versions() if kubernetes_validate.utils.major_minor(v) <= wanted]
    if not known:
        raise _NoSchema
    return known[-1]


class _Kind(NamedTuple):
    validator: jsonschema.Draft202012Validator
    """The strict validator: the verdict and the error message."""
    accepts: Check
    """True only for objects the validator accepts (precheck); False means: ask the validator."""


@functools.lru_cache(maxsize=256)
def _core_validator(version: str, api_version: str, kind: str) -> _Kind:
    """The strict validator of one kind, built as kubernetes_validate.validate builds it, cached per kind."""
    schema_dir = f"v{_schema_version(version)}-local-strict"
    # rbac.authorization.k8s.io/v1 -> rbac-v1, as the schema files are named
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = json.loads(_SCHEMAS.joinpath(schema_dir, f"{kind.lower()}-{group_version}.json").read_text())
    except FileNotFoundError:
        raise _NoSchema from None
    resource: Resource[Any] = Resource.from_contents(schema)
    registry: Registry[Any] = resource @ Registry()
    registry = _definitions(schema_dir) @ registry
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return _Kind(validator, compile_schema(validator, registry.resolver_with_root(resource)))


def _validate_core(body: dict[str, Any], version: str) -> None:
    """Strict validation of a core object; jsonschema.ValidationError or _NoSchema."""
    kind = _core_validator(version, str(body["apiVersion"]), str(body["kind"]))
    if not kind.accepts(body):
        kind.validator.validate(body)  # rejects with jsonschema's error, or accepts what the precheck left to it


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
            _validate_core({"apiVersion": "v1", "kind": "ConfigMap", "metadata": body.get("metadata")}, version)
        except jsonschema.ValidationError as err:
            raise ManifestError(f"{kind}: metadata: {err.message}") from err
        try:
            jsonschema.Draft202012Validator(crd).validate(body.get("spec"))
        except jsonschema.ValidationError as err:
            raise ManifestError(f"{kind}: spec.{_path(err)}: {err.message}") from err
        return "crd-subset"
    try:
        _validate_core(body, version)
    except _NoSchema as err:
        raise ManifestError(f"{api_version} {kind}: no schema (not a core kind, no CRD schema known)") from err
    except jsonschema.ValidationError as err:
        raise ManifestError(f"{kind}: {_path(err)}: {err.message}") from err
    return "core"
