"""ProviderProfile: the GPU cloud a stack runs on and the BAA the stack relies on."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from modules._common import to_props

TYPE = "phistack:provider:ProviderProfile"


@dataclass(kw_only=True)
class BaaRecord:
    """A signed Business Associate Agreement (45 CFR 164.308(b), 164.504(e))."""

    reference: pulumi.Input[str]
    """The agreement's reference in the customer's contract register."""
    signed: pulumi.Input[str]
    """Date signed, ``YYYY-MM-DD``."""
    expires: pulumi.Input[str]
    """Date the agreement ends, ``YYYY-MM-DD``."""


@dataclass(kw_only=True)
class ProviderProfileArgs:
    """Settings of :class:`ProviderProfile`; every field appears in the plan as a prop."""

    provider: pulumi.Input[str]
    """Provider id, lowercase (for example ``helix-gpu``)."""
    plan: pulumi.Input[str]
    """The provider's product or plan (for example ``secure-cloud``)."""
    region: pulumi.Input[str]
    """Region or data centre the GPUs are rented in."""
    baa: BaaRecord | None = None
    """The BAA with this provider; ``None`` declares that there is none (the gate denies PHI then)."""


class ProviderProfile(pulumi.ComponentResource):
    """Records the provider and BAA in the plan; creates no Kubernetes resources."""

    provider: pulumi.Output[str]
    """The provider id."""

    def __init__(self, name: str, args: ProviderProfileArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, to_props(args), opts)
        self.provider = pulumi.Output.from_input(args.provider)
        self.register_outputs({"provider": self.provider})
