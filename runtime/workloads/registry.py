"""The workload registry: built-ins register on import; other packages through the
``phistack.runtime.workloads`` entry-point group (each entry point names a Workload subclass)."""

from __future__ import annotations

from importlib import metadata

from runtime.errors import InputError
from runtime.workloads.base import Workload

ENTRY_POINT_GROUP = "phistack.runtime.workloads"

_registry: dict[str, type[Workload]] = {}
_entry_points_loaded = False


def register(cls: type[Workload]) -> type[Workload]:
    """Register ``cls`` under ``cls.name`` (usable as a class decorator); a name is taken only once."""
    if not (isinstance(cls, type) and issubclass(cls, Workload)):
        raise TypeError(f"{cls!r} is not a Workload subclass")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} has no workload name")
    existing = _registry.get(name)
    if existing is not None and existing is not cls:
        raise ValueError(f"workload name {name!r} is already registered by {existing.__qualname__}")
    _registry[name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a workload (tests use this to clean up)."""
    _registry.pop(name, None)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        register(entry.load())


def names() -> list[str]:
    """Registered workload names, sorted."""
    _load_entry_points()
    return sorted(_registry)


def get(name: str) -> type[Workload]:
    """The workload class registered as ``name``; an unknown name is an input error (exit 2)."""
    _load_entry_points()
    try:
        return _registry[name]
    except KeyError:
        raise InputError(f"unknown workload {name!r} (known: {', '.join(names())})") from None
