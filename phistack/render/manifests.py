"""Turn a plan's Kubernetes resources into manifests and write them, one file per resource."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phistack.plan.view import thaw
from phistack.render import yamltext
from runtime.errors import InputError
from runtime.fileio import write_atomic

_KUBERNETES = "kubernetes:"
# Apply order for GitOps tools that apply a kustomization in listed order: namespaces and
# cluster-wide objects first, then what lives in namespaces, then workloads and routing.
_KIND_ORDER = [
    "Namespace",
    "RuntimeClass",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ResourceQuota",
    "NetworkPolicy",
    "ConfigMap",
    "Secret",
    "PersistentVolumeClaim",
    "Certificate",
    "Service",
    "Deployment",
    "Job",
    "DaemonSet",
    "Gateway",
    "HTTPRoute",
    "ClientTrafficPolicy",
    "BackendTLSPolicy",
]


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object as it would be applied."""

    urn: str
    """The plan resource it comes from."""
    body: dict[str, Any]
    """The object: apiVersion, kind, metadata, and the rest."""

    @property
    def api_version(self) -> str:
        """``apps/v1`` and the like."""
        return str(self.body["apiVersion"])

    @property
    def kind(self) -> str:
        """``Deployment`` and the like."""
        return str(self.body["kind"])

    @property
    def filename(self) -> str:
        """Deterministic file name: ``<kind>-<namespace or cluster>-<name>.yaml``, lowercase."""
        meta = self.body.get("metadata") or {}
        scope = meta.get("namespace") or "cluster"
        raw = f"{self.kind}-{scope}-{meta.get('name', 'unnamed')}".lower()
        return re.sub(r"[^a-z0-9.-]+", "-", raw) + ".yaml"


@dataclass(frozen=True)
class Skipped:
    """A Kubernetes resource that is not rendered, and why."""

    urn: str
    """The plan resource."""
    reason: str
    """Why it has no manifest."""


def _api_version_from_type(type_token: str) -> tuple[str, str]:
    # kubernetes:apps/v1:Deployment → ("apps/v1", "Deployment"); core/v1 is spelled "v1".
    _, group_version, kind = type_token.split(":", 2)
    return ("v1" if group_version == "core/v1" else group_version), kind


_SECRET = "__secret__"
_UNKNOWN = "__unknown__"


def _find(value: Any, found: dict[str, list[str]], path: str = "") -> dict[str, list[str]]:
    """Add to ``found[marker]`` the dotted path of each ``{marker: true}`` inside ``value``, in one walk."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, item),) = value.items()
            if item is True and key in found:
                found[key].append(path)
                return found
        for k, v in value.items():
            _find(v, found, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _find(v, found, f"{path}[{i}]")
    return found


def manifests_from_plan(plan: Mapping[str, Any]) -> tuple[list[Manifest], list[Skipped]]:
    """The manifests of every Kubernetes resource in ``plan``, in apply order, and those skipped.

    A resource holding secret material (a Secret from a private CA) or values unknown before
    deployment cannot be written faithfully, so it is skipped and reported, never emitted half-empty.
    """
    manifests: list[Manifest] = []
    skipped: list[Skipped] = []
    for res in plan.get("resources", []):
        type_token = str(res.get("type", ""))
        if not res.get("custom") or not type_token.startswith(_KUBERNETES) or type_token.count(":") != 2:
            continue
        if type_token.startswith("kubernetes:pulumi:") or ":Provider" in type_token:
            continue
        inputs = thaw(res.get("inputs") or {})  # the manifest owns its body; the plan stays read-only
        markers = _find(inputs, {_SECRET: [], _UNKNOWN: []})
        secrets = markers[_SECRET]
        if secrets:
            skipped.append(
                Skipped(
                    res["urn"],
                    f"holds secret material ({', '.join(secrets)}); it is created at deployment, never written to disk",
                )
            )
            continue
        unknowns = list(res.get("unknowns") or []) or markers[_UNKNOWN]
        if unknowns:
            skipped.append(Skipped(res["urn"], f"values unknown before deployment: {', '.join(unknowns)}"))
            continue
        api_version, kind = _api_version_from_type(type_token)
        body = {"apiVersion": inputs.pop("apiVersion", api_version), "kind": inputs.pop("kind", kind), **inputs}
        manifests.append(Manifest(urn=str(res["urn"]), body=body))

    def order(m: Manifest) -> tuple[int, str]:
        rank = _KIND_ORDER.index(m.kind) if m.kind in _KIND_ORDER else len(_KIND_ORDER)
        return rank, m.filename

    manifests.sort(key=order)
    names = Counter(m.filename for m in manifests)
    duplicates = sorted(name for name, count in names.items() if count > 1)
    if duplicates:
        raise InputError(f"two resources render to the same file: {', '.join(duplicates)}")
    return manifests, skipped


# Not libyaml's CSafeDumper: it folds long double-quoted strings differently, and rendered files must not
# change between phistack versions for the same plan (GitOps diffs). yamltext writes PyYAML's bytes.


def to_yaml(body: dict[str, Any]) -> str:
    """Block-style YAML with keys in a stable order (apiVersion, kind, metadata first)."""
    head: dict[str, Any] = {k: body[k] for k in ("apiVersion", "kind", "metadata") if k in body}
    rest = {k: body[k] for k in sorted(body) if k not in head}
    ordered: dict[str, Any] = {**head, **rest}
    return yamltext.dump(ordered, width=yamltext.WIDTH)


def write_manifests(manifests: list[Manifest], out_dir: Path) -> list[Path]:
    """Write one file per manifest plus a ``kustomization.yaml`` listing them in apply order."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"{out_dir}: cannot create output directory: {err.strerror or err}") from err
    written: list[Path] = []
    for manifest in manifests:
        path = out_dir / manifest.filename
        write_atomic(path, to_yaml(manifest.body))
        written.append(path)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [m.filename for m in manifests],
    }
    index = out_dir / "kustomization.yaml"
    write_atomic(index, yamltext.dump(kustomization, width=yamltext.DEFAULT_WIDTH))
    return [*written, index]
