"""Normalising property values into the plan's JSON: unknowns and secrets become explicit markers.

Pulumi encodes special values with signature keys (see pulumi/runtime/rpc.py): an unknown is the
string ``UNKNOWN_SENTINEL``; a secret, a resource reference or an output value is a map carrying
``SIG_KEY``. The plan never carries secret values and never drops an unknown silently: an unknown
becomes ``{"__unknown__": true}`` and its dotted path is collected.
"""

from __future__ import annotations

from typing import Any

UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
_ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"

UNKNOWN: dict[str, bool] = {"__unknown__": True}
SECRET: dict[str, bool] = {"__secret__": True}


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if "." in key or "[" in key:
        return f'{path}["{key}"]'
    return f"{path}.{key}" if path else key


def normalize(value: Any, path: str = "", unknowns: list[str] | None = None) -> Any:
    """Return ``value`` as plain JSON with markers; append the paths of unknowns to ``unknowns``."""
    if unknowns is None:
        unknowns = []
    if value == UNKNOWN_SENTINEL:
        unknowns.append(path)
        return dict(UNKNOWN)
    if isinstance(value, dict):
        signature = value.get(SIG_KEY)
        if signature == _SECRET_SIG:
            return dict(SECRET)
        if signature == _OUTPUT_SIG:
            if value.get("secret"):
                return dict(SECRET)
            if "value" not in value:
                unknowns.append(path)
                return dict(UNKNOWN)
            return normalize(value["value"], path, unknowns)
        if signature == _RESOURCE_SIG:
            return {"__resource__": value.get("urn", "")}
        if signature in (_ASSET_SIG, _ARCHIVE_SIG):
            return {"__asset__": value.get("path") or value.get("uri") or "<inline>"}
        return {key: normalize(item, _join(path, key), unknowns) for key, item in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [normalize(item, _join(path, index), unknowns) for index, item in enumerate(value)]
    if isinstance(value, float) and value.is_integer():
        # protobuf Struct carries every number as a double; keep integers integral for the policies.
        return int(value)
    return value
