"""A stack's settings file, ``Pulumi.<stack>.yaml``: which stacks a project has, finding one, reading it.

The one reader for the offline planner, the deploy commands and the stack spec, so an unknown stack or a
malformed file reads the same whichever command met it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.configfile import key_path, load_yaml
from runtime.errors import InputError

NAMESPACE = "phistack"
"""The config namespace of phistack's keys (``phistack:cluster``): the Pulumi project's name."""

_PREFIX, _SUFFIX = "Pulumi.", ".yaml"


def stack_names(config_dir: Path) -> list[str]:
    """The stacks that have a ``Pulumi.<stack>.yaml`` in ``config_dir``, sorted."""
    return sorted(p.name[len(_PREFIX) : -len(_SUFFIX)] for p in config_dir.glob(f"{_PREFIX}*{_SUFFIX}"))


def stack_path(config_dir: Path, stack: str) -> Path:
    """Where the settings file of ``stack`` is, whether or not it exists."""
    return config_dir / f"{_PREFIX}{stack}{_SUFFIX}"


def stack_file(config_dir: Path, stack: str) -> Path:
    """The settings file of ``stack``; an unknown stack is an error that lists the known ones."""
    path = stack_path(config_dir, stack)
    if not os.path.lexists(path):  # anything else there (a directory, a link loop) is for the reader to name
        from phistack.workspace import relative  # here: only an error needs it, and it is a heavy import

        known = ", ".join(stack_names(config_dir)) or "none"
        raise InputError(f"unknown stack {stack!r}: {relative(path)} not found (stacks: {known})")
    return path


@dataclass(frozen=True)
class StackSettings:
    """A ``Pulumi.<stack>.yaml`` as read: its top-level settings and its ``config`` mapping."""

    path: Path
    settings: dict[str, Any]
    """The top level: ``secretsprovider``, ``encryptionsalt``, ``config``."""
    config: dict[str, Any]
    """Every config key as written (``phistack:cluster``, ``kubernetes:context``); empty when there is none."""


def read_stack_settings(path: Path) -> StackSettings:
    """Read a stack's settings file; a malformed one is an :class:`InputError` naming the file (and line)."""
    doc = load_yaml(path, "stack config") or {}
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise InputError(f"{path}: config: expected a mapping")
    return StackSettings(path, doc, config)


def phistack_keys(config: Mapping[str, Any]) -> dict[str, Any]:
    """Keep ``phistack:<key>`` entries (and bare ``<key>``, which Pulumi files under the project) as ``<key>``;
    other namespaces belong to providers."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        ns, _, name = str(key).rpartition(":")
        if ns in ("", NAMESPACE):
            out[name] = value
    return out


def config_key(loc: Sequence[Any]) -> str:
    """A location in phistack's config as a stack file's author writes it: ``("workloads", 0, "image")`` →
    ``phistack:workloads[0].image``."""
    return f"{NAMESPACE}:{key_path(loc) if loc else ''}"
