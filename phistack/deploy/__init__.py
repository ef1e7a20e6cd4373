"""Gated deployment: run the gate on the real ``pulumi preview`` and deploy only what it allows.

- :mod:`phistack.deploy.pulumi_cli` finds the Pulumi CLI and builds its environment (backend, passphrase);
- :mod:`phistack.deploy.automation` drives it through the Pulumi Automation API;
- :mod:`phistack.deploy.gated` turns the preview into a plan, gates it and deploys or refuses;
- :mod:`phistack.deploy.records` writes the decision record beside the deployment;
- :mod:`phistack.deploy.crossguard` evaluates the same Rego inside a Pulumi CrossGuard policy pack.
"""

from phistack.deploy.pulumi_cli import DeployError, PulumiCliMissing

__all__ = ["DeployError", "PulumiCliMissing"]
