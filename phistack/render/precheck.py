"""A fast yes to "does jsonschema accept this object?", compiled from the same schema and registry.

``jsonschema`` spends most of a large render walking the strict Kubernetes schema keyword by keyword,
building a validator object for every subschema it descends into. :func:`compile_schema` turns the
schema into nested Python closures once per kind, for the keywords the Kubernetes schemas use, with
jsonschema's Draft 2020-12 meaning: ``type``, ``properties``, ``additionalProperties``, ``required``,
``items``, ``enum``, ``oneOf``, ``$ref`` and ``format`` (an annotation when no format checker is set).
Keywords jsonschema does not know (``description``, ``x-kubernetes-*``) are ignored, as it ignores them.

The predicate answers True only when jsonschema would report no error. Where it cannot be sure (a
keyword it does not compile, an ``enum`` on a value that is not a string, a reference it cannot
resolve) it answers False, and the caller runs jsonschema itself, which accepts the object or raises
its own error. A False answer is never a rejection: the verdict and the message are always
jsonschema's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import UndefinedTypeCheck
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

if TYPE_CHECKING:
    from referencing._core import Resolver

Check = Callable[[Any], bool]

_KNOWN = frozenset(Draft202012Validator.VALIDATORS)  # keywords jsonschema acts on; others are annotations


def _never(instance: Any) -> bool:
    return False


def _always(instance: Any) -> bool:
    return True


# Types tested inline: what Draft 2020-12's type checker tests for them (isinstance, and None for null).
# "integer" and "number" (a bool is neither; 1.0 is an integer) are asked of the type checker itself.
_PLAIN_TYPES: dict[str, type] = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


class _Unsupported(Exception):
    """A part of the schema this compiler does not mirror: its check answers False."""


class _Compiler:
    def __init__(self, format_asserted: bool) -> None:
        self._format_asserted = format_asserted
        # $ref targets compiled so far, by identity of their contents (kept alive here), for recursion.
        self._targets: dict[int, tuple[Any, list[Check]]] = {}

    def node(self, schema: Any, resolver: Resolver[Any], root: bool = False) -> tuple[Check, bool]:
        """The check of ``schema`` and whether it is exact (False then means jsonschema rejects)."""
        if schema is True:
            return _always, True
        if schema is False:
            return _never, True
        if not isinstance(schema, Mapping):
            raise _Unsupported
        if not root and any(k in schema for k in ("$id", "$anchor", "$dynamicAnchor")):
            raise _Unsupported  # a new base URI or anchor inside the tree: not mirrored
        checks: list[Check] = []
        exact = True
        for keyword, value in schema.items():
            if keyword not in _KNOWN:
                continue
            if keyword == "type":
                checks.append(self._type(value))
            elif keyword == "format":
                if self._format_asserted:
                    raise _Unsupported
            elif keyword in ("properties", "additionalProperties"):
                if keyword == "additionalProperties" or "additionalProperties" not in schema:
                    checks.append(self._object(schema, resolver))
                exact = False
            elif keyword == "required":
                checks.append(self._required(value))
            elif keyword == "items":
                checks.append(self._items(schema, value, resolver))
                exact = False
            elif keyword == "enum":
                checks.append(self._enum(value))
                exact = False
            elif keyword == "oneOf":
                checks.append(self._one_of(value, resolver))
                exact = False
            elif keyword == "$ref":
                checks.append(self._ref(value, resolver))
                exact = False
            else:
                raise _Unsupported
        return _all(checks), exact

    def _child(self, schema: Any, resolver: Resolver[Any]) -> tuple[Check, bool]:
        # As jsonschema's descend: a subschema is looked at in its own resource scope.
        if isinstance(schema, Mapping):
            resolver = resolver.in_subresource(DRAFT202012.create_resource(schema))
        return self.node(schema, resolver)

    @staticmethod
    def _type(value: Any) -> Check:
        names = [value] if isinstance(value, str) else list(value)
        checker = Draft202012Validator.TYPE_CHECKER
        if not names or not all(isinstance(name, str) for name in names):
            raise _Unsupported
        try:
            for name in names:
                checker.is_type(None, name)
        except UndefinedTypeCheck:
            raise _Unsupported from None
        if all(name in _PLAIN_TYPES for name in names):
            types = tuple(_PLAIN_TYPES[name] for name in names)
            return lambda x: isinstance(x, types)
        return lambda x: any(checker.is_type(x, name) for name in names)

    def _object(self, schema: Mapping[str, Any], resolver: Resolver[Any]) -> Check:
        properties = schema.get("properties", {})
        if not isinstance(properties, Mapping) or "patternProperties" in schema:
            raise _Unsupported
        compiled = {name: self._child(sub, resolver)[0] for name, sub in properties.items()}
        extra = schema.get("additionalProperties", True)
        if extra is True:
            extra_check: Check | None = None
        elif extra is False:
            extra_check = _never
        else:
            extra_check = self._child(extra, resolver)[0]

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return True  # properties and additionalProperties apply to objects only
            for key, value in x.items():
                sub = compiled.get(key)
                if sub is None:
                    if extra_check is not None and not extra_check(value):
                        return False
                elif not sub(value):
                    return False
            return True

        return check

    @staticmethod
    def _required(value: Any) -> Check:
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            raise _Unsupported
        names = tuple(value)
        return lambda x: not isinstance(x, dict) or all(name in x for name in names)

    def _items(self, schema: Mapping[str, Any], value: Any, resolver: Resolver[Any]) -> Check:
        if "prefixItems" in schema or not isinstance(value, (Mapping, bool)):
            raise _Unsupported
        item = self._child(value, resolver)[0]
        return lambda x: not isinstance(x, list) or all(item(each) for each in x)

    @staticmethod
    def _enum(value: Any) -> Check:
        if not isinstance(value, list):
            raise _Unsupported
        # jsonschema compares a string with == only; other values it compares its own way: not mirrored.
        strings = frozenset(each for each in value if isinstance(each, str))
        return lambda x: isinstance(x, str) and x in strings

    def _one_of(self, value: Any, resolver: Resolver[Any]) -> Check:
        if not isinstance(value, list) or not value:
            raise _Unsupported
        branches = []
        for sub in value:
            branch, exact = self._child(sub, resolver)
            if not exact:
                raise _Unsupported  # "exactly one" needs a sure no from every other branch
            branches.append(branch)
        return lambda x: sum(1 for branch in branches if branch(x)) == 1

    def _ref(self, value: Any, resolver: Resolver[Any]) -> Check:
        if not isinstance(value, str):
            raise _Unsupported
        try:
            resolved = resolver.lookup(value)
        except Unresolvable as err:  # jsonschema reports it when it gets there
            raise _Unsupported from err
        contents = resolved.contents
        known = self._targets.get(id(contents))
        if known is None:
            cell: list[Check] = [_never]
            self._targets[id(contents)] = (contents, cell)
            try:
                cell[0] = self.node(contents, resolved.resolver)[0]
            except _Unsupported:
                cell[0] = _never
        else:
            cell = known[1]
        return lambda x: cell[0](x)


def _all(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda x: first(x) and second(x)
    return lambda x: all(check(x) for check in checks)


def compile_schema(validator: Draft202012Validator, resolver: Resolver[Any]) -> Check:
    """A check that is True only for instances ``validator`` accepts; ``resolver`` resolves its ``$ref``s.

    ``resolver`` must be rooted at ``validator.schema`` in the same registry (``registry.resolver_with_root``).
    """
    if type(validator) is not Draft202012Validator or validator.TYPE_CHECKER is not Draft202012Validator.TYPE_CHECKER:
        return _never  # another dialect or custom types: not mirrored
    compiler = _Compiler(format_asserted=validator.format_checker is not None)
    try:
        return compiler.node(validator.schema, resolver, root=True)[0]
    except _Unsupported:
        return _never
