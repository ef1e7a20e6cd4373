"""Run Pulumi code in the SDK's mock monitor and read back what it registered (the component and cloud tests).

The mocks decide the outputs; this module only runs a program under them and selects registrations by type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import pulumi
from pulumi.runtime import settings


def registrations(mocks: pulumi.runtime.Mocks, build: Callable[[], Any]) -> list[Any]:
    """Run ``build`` in a fresh mock preview under ``mocks``; the monitor's record of every registration."""
    pulumi.runtime.set_mocks(mocks, preview=True)

    @pulumi.runtime.test
    def _run() -> pulumi.Output[Any]:
        result = build()
        return pulumi.Output.from_input(getattr(result, "urn", None))

    _run()
    monitor: Any = settings.get_monitor()
    return list(monitor.resources.values())


def type_of(urn: str) -> str:
    """The resource type in a urn (the last one of a parent chain)."""
    return urn.split("::")[2].split("$")[-1]


class _Typed(Protocol):
    urn: str
    type: str


Resource = TypeVar("Resource", bound=_Typed)


def every(resources: list[Resource], type_: str) -> list[Resource]:
    """The registered resources of ``type_``."""
    return [r for r in resources if r.type == type_]


def only(resources: list[Resource], type_: str) -> Resource:
    """The one registered resource of ``type_``."""
    found = every(resources, type_)
    assert len(found) == 1, f"expected one {type_}, got {[r.urn for r in found]}"
    return found[0]
