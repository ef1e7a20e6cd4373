"""Kubernetes manifests from a plan: what a stack would apply, as YAML, validated against schemas."""

from phistack.render.manifests import Manifest, Skipped, manifests_from_plan, write_manifests
from phistack.render.validate import KUBERNETES_VERSION, validate_manifest

__all__ = [
    "KUBERNETES_VERSION",
    "Manifest",
    "Skipped",
    "manifests_from_plan",
    "validate_manifest",
    "write_manifests",
]
