"""``phistack render``: the Kubernetes manifests a stack would apply, as validated YAML files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from phistack.commands import SUMMARIES
from phistack.errors import ExitCode, InputError
from phistack.render import KUBERNETES_VERSION, manifests_from_plan, validate_manifest, write_manifests
from phistack.render.validate import ManifestError
from phistack.workspace import plan_for, project_root


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "render",
        help=SUMMARIES["render"],
        description=(
            "Plan the stack offline and write one YAML file per Kubernetes object plus a kustomization.yaml "
            f"listing them in apply order. Every manifest is validated first: core kinds against the "
            f"Kubernetes {KUBERNETES_VERSION} OpenAPI schema (strict), cert-manager and Gateway API objects "
            "against phistack's structural schemas. Secrets with key material are not written."
        ),
    )
    parser.add_argument("stack", nargs="?", help="stack name (stacks/Pulumi.STACK.yaml)")
    parser.add_argument("-o", "--output", metavar="DIR", required=True, help="directory to write the manifests to")
    parser.add_argument("--plan", metavar="FILE", help="render this plan document instead of planning STACK")
    parser.add_argument("--project", metavar="DIR", help="Pulumi project directory (default: this checkout)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    source = plan_for(args.stack, args.plan, project_root(args.project))
    manifests, skipped = manifests_from_plan(source.plan)
    counts = {"core": 0, "crd-subset": 0}
    for manifest in manifests:
        try:
            counts[validate_manifest(manifest.body)] += 1
        except ManifestError as err:
            # Nothing is written when any manifest is invalid.
            raise InputError(f"{source.artifact}: {manifest.urn}: invalid manifest: {err}", exit_code=3) from err
    out_dir = Path(args.output)
    write_manifests(manifests, out_dir)
    for skip in skipped:
        print(f"phistack: not rendered: {skip.urn}: {skip.reason}", file=sys.stderr)
    print(
        f"phistack: wrote {len(manifests)} manifests of {source.plan['stack']} to {out_dir} "
        f"({counts['core']} validated against Kubernetes {KUBERNETES_VERSION}, "
        f"{counts['crd-subset']} custom resources against phistack's CRD schemas, {len(skipped)} not rendered)",
        file=sys.stderr,
    )
    return ExitCode.OK
