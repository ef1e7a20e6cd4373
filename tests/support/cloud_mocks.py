"""The SDK's mock monitor with the offline planner's cloud outputs, for tests of the cloud backends.

Outputs come from phistack.plan.mock_outputs (as each cloud's API shapes them) and provider functions from its
mock_call, so inputs built from other resources' outputs (a key's id) read as in a real plan; each
registration also records the provider reference it went through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

from phistack.plan.mock_outputs import mock_call, mock_resource
from tests.support.mock_preview import every, only, registrations, type_of

__all__ = ["CloudMocks", "Registered", "declare", "every", "only"]


class CloudMocks(pulumi.runtime.Mocks):
    """Realistic cloud outputs; records the provider reference each resource was registered with."""

    def __init__(self) -> None:
        self.providers: dict[tuple[str, str], str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.providers[(args.typ, args.name)] = args.provider or ""
        return mock_resource(args.typ, args.name, dict(args.inputs))

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        # An empty dependency list, not None: the SDK's mock monitor fails on None for any invoke.
        return mock_call(args.token, dict(args.args)), []


@dataclass
class Registered:
    """One registered resource: urn, type, name, id, recorded state (inputs and outputs) and its provider."""

    urn: str
    type: str
    name: str
    id: str
    state: dict[str, Any]
    provider: str


def declare(build: Callable[[], Any]) -> list[Registered]:
    """Run ``build`` in a fresh mock preview and return what it registered."""
    mocks = CloudMocks()
    out = []
    for r in registrations(mocks, build):
        type_, name = type_of(r.urn), r.urn.split("::")[3]
        provider = mocks.providers.get((type_, name), "")
        out.append(Registered(r.urn, type_, name, r.id or "", dict(r.state or {}), provider))
    return out
