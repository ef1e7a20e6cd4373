"""A validated plan document, read-only, with typed access for the Python side.

Every source of a plan (offline planner, ``pulumi preview --json``, a state export, CrossGuard, a plan file)
ends in :class:`Plan`, which validates the document once, when it is made. It is still the JSON document
— a ``dict`` the engines and the canonical writer read unchanged, so digests and reports stay byte-identical —
but nothing can change it afterwards: the gate's decision, the evidence and the digest all describe exactly
what was validated. Typed properties (``stack``, ``resources``, :meth:`Plan.of_type`) replace string keys.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

_READ_ONLY = "a plan is read-only once validated: build a new document instead"


def _refuse(*_: Any, **__: Any) -> NoReturn:
    raise TypeError(_READ_ONLY)


class FrozenDict(dict[str, Any]):
    """A JSON object that refuses every change; serialises (json, orjson) like the dict it was."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return thaw(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (thaw(self),))


class FrozenList(list[Any]):
    """A JSON array that refuses every change."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return thaw(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (thaw(self),))


def freeze(value: Any) -> Any:
    """A read-only deep copy of a JSON value."""
    if isinstance(value, dict):
        return FrozenDict((key, freeze(item)) for key, item in value.items())
    if isinstance(value, list):
        return FrozenList(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """A plain, mutable deep copy of a (frozen) JSON value."""
    if isinstance(value, dict):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, list):
        return [thaw(item) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class PlannedResource:
    """One resource of a plan, as the plan document describes it (docs/CONTRACTS.md)."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    inputs: Mapping[str, Any]
    unknowns: tuple[str, ...]
    dependencies: tuple[str, ...]


class Plan(FrozenDict):
    """A plan document that passed validation; read-only. Make one with :meth:`Plan.validated`."""

    @classmethod
    def validated(cls, document: Any, origin: str = "plan") -> Plan:
        """Validate ``document`` (InputError naming ``origin`` and the key path otherwise) and freeze it.
        A :class:`Plan` is returned as it is: it was validated when it was made."""
        if isinstance(document, Plan):
            return document
        from phistack.plan.document import validate_plan  # the validator imports nothing from here

        validate_plan(document, origin)
        return cls((key, freeze(item)) for key, item in document.items())

    @property
    def stack(self) -> str:
        return str(self["stack"])

    @property
    def project(self) -> str:
        return str(self.get("project", ""))

    @property
    def source(self) -> str:
        return str(self["source"])

    @property
    def spec(self) -> Mapping[str, Any] | None:
        spec = self.get("spec")
        return spec if isinstance(spec, Mapping) else None

    @functools.cached_property
    def resources(self) -> tuple[PlannedResource, ...]:
        return tuple(
            PlannedResource(
                urn=r["urn"],
                type=r["type"],
                name=r["name"],
                custom=bool(r["custom"]),
                parent=r.get("parent"),
                inputs=r["inputs"],
                unknowns=tuple(r["unknowns"]),
                dependencies=tuple(r["dependencies"]),
            )
            for r in self["resources"]
        )

    def of_type(self, *types: str) -> list[PlannedResource]:
        """The resources of any of ``types``, in plan order."""
        wanted = frozenset(types)
        return [resource for resource in self.resources if resource.type in wanted]

    @functools.cached_property
    def digest(self) -> str:
        """``sha256:<hex>`` of the canonical text (:func:`phistack.plan.document.plan_digest`), computed once."""
        from phistack.plan.document import plan_digest

        return plan_digest(self)
