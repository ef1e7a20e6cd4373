"""Where a finding's resource is declared in the report's artifact, for SARIF regions: the line a reviewer would
change, so code scanning annotates it rather than line 1.

A stack config (``stacks/Pulumi.<stack>.yaml``) declares components, not Kubernetes objects: a finding on a
component's child is placed on the ``phistack:*`` key (or list entry) that declares the component. The type
chain of a Pulumi URN names the component type; a child's name starts with its component's name
(``f"{name}-<role>"``, the modules' convention). A plan file (``phistack plan`` JSON) declares every resource
itself: a finding is placed on its ``"urn"`` line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from phistack.stackconfig import NAMESPACE
from runtime.configfile import MAX_CONFIG_BYTES

# Component type -> the StackSpec field whose config key declares it (stacks/__main__.py, compose) and, for a
# list, the field that names each entry (the component's name).
_DECLARED_BY: dict[str, tuple[str, str | None]] = {
    "phistack:provider:ProviderProfile": ("provider", None),
    "phistack:cluster:ConfidentialGpuCluster": ("cluster", None),
    "phistack:storage:EncryptedStorage": ("storage", None),
    "phistack:logging:AuditLogShipping": ("logging", None),
    "phistack:workload:AttestedWorkload": ("workloads", "name"),
    "phistack:network:TlsEndpoint": ("endpoints", "name"),
}
FIRST_LINE = 1

Locator = Callable[[str], int]


def _first_line(_urn: str) -> int:
    return FIRST_LINE


def _component(urn: str) -> tuple[str, str, bool] | None:
    """``(component type, resource name, is the component itself)`` for the outermost phistack component in a
    URN's type chain (``...::parent$child::name``), or None."""
    parts = urn.split("::")
    if len(parts) < 4:
        return None
    chain = parts[2].split("$")
    name = "::".join(parts[3:])
    for depth, resource_type in enumerate(chain):
        if resource_type in _DECLARED_BY:
            return resource_type, name, depth == len(chain) - 1
    return None


def _value(node: yaml.Node | None, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    """The ``(key node, value node)`` of ``key`` in a mapping node (the last one wins, as in YAML loading)."""
    if not isinstance(node, yaml.MappingNode):
        return None
    found = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key]
    return found[-1] if found else None


def _stack_config_locator(root: yaml.Node) -> Locator:
    config = _value(root, "config")
    if config is None:
        return _first_line

    def locate(urn: str) -> int:
        component = _component(urn)
        if component is None:
            return FIRST_LINE
        resource_type, name, itself = component
        field, entry_name = _DECLARED_BY[resource_type]
        declared = _value(config[1], f"{NAMESPACE}:{field}")
        if declared is None:
            return FIRST_LINE
        key, value = declared
        if entry_name is None or not isinstance(value, yaml.SequenceNode):
            return key.start_mark.line + 1
        # The entry whose name is the component's: the resource's own name, or the longest name that prefixes
        # a child's ("cds" and "cds-inference" both prefix "cds-inference-deployment").
        best: tuple[int, yaml.Node] | None = None
        for entry in value.value:
            named = _value(entry, entry_name)
            if named is None or not isinstance(named[1], yaml.ScalarNode):
                continue
            own = str(named[1].value)
            matches = name == own or (not itself and name.startswith(own + "-"))
            if matches and (best is None or len(own) > best[0]):
                best = (len(own), named[0])
        # No entry of that name: the file does not declare the resource (a plan of another version of it).
        return best[1].start_mark.line + 1 if best is not None else FIRST_LINE

    return locate


def _plan_locator(text: str) -> Locator:
    """A plan document (canonical JSON, one key a line): the line of each resource's ``"urn"`` key."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip().removesuffix(",")
        if not stripped.startswith('"urn": '):
            continue
        try:
            urn = json.loads(stripped.removeprefix('"urn": '))
        except ValueError:
            continue
        if isinstance(urn, str):
            lines.setdefault(urn, number)
    return lambda urn: lines.get(urn, FIRST_LINE)


def _load(path: Path) -> str | None:
    # A FIFO or device would block or never end: only a regular file is read; one over the config size limit
    # could not have been planned, and gets line 1.
    if not path.is_file() or path.stat().st_size > MAX_CONFIG_BYTES:
        return None
    return path.read_text(encoding="utf-8")


def locator_for(artifact: str) -> Locator:
    """A function from a finding's URN to the 1-based line of ``artifact`` that declares its resource; line 1
    when the artifact cannot be read or does not declare it. Locations are a convenience: they never fail a
    report."""
    try:
        text = _load(Path(artifact))
        if text is None:
            return _first_line
        if artifact.endswith(".json"):
            return _plan_locator(text)
        root: Any = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return _first_line
    return _stack_config_locator(root) if isinstance(root, yaml.MappingNode) else _first_line
