"""Realistic outputs for the offline planner's mock monitor.

A cloud resource's outputs are what the provider computes (ids, self links, endpoints, names Azure generates),
and other resources take them as inputs (a node pool's boot-disk key is the key's id). Echoing inputs with a
made-up id would put values into the plan that no cloud returns; each cloud module here shapes them as its
API does, deterministically from the resource's name and inputs. Types no module knows echo their inputs.
"""

from __future__ import annotations

from typing import Any

from phistack.plan import mock_azure, mock_gcp


def mock_call(token: str, args: dict[str, Any]) -> dict[str, Any]:
    """The result of a provider function (an invoke such as ``gcp:organizations/getProject:getProject``)."""
    for cloud in (mock_gcp, mock_azure):
        made = cloud.call_result(token, args)
        if made is not None:
            return made
    return {}


def mock_resource(type_: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The id and outputs the mock monitor returns for a new resource."""
    for cloud in (mock_gcp, mock_azure):
        made = cloud.outputs(type_, name, inputs)
        if made is not None:
            return made
    return f"{name}-id", dict(inputs)
