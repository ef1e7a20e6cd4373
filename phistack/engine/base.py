"""The engine interface and its registry."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Final

from phistack.engine.policyset import PolicySet
from phistack.errors import InputError


class Undefined:
    """The value of a query whose result is undefined in Rego (distinct from null and false)."""

    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = Undefined()


class Evaluator(ABC):
    """A policy set loaded into one engine, ready for queries.

    Construction compiles every module and loads the data; a syntax error raises PolicyError naming
    ``file:line``. ``query`` returns the JSON value of a Rego reference or expression, or UNDEFINED.
    """

    name: str = ""

    def __init__(self, policies: PolicySet) -> None:
        self.policies = policies

    @abstractmethod
    def query(self, query: str, input_document: Mapping[str, Any] | None) -> Any:
        """Evaluate ``query`` against ``input_document``; raise PolicyError on engine errors."""

    def prepare(self, references: Sequence[str]) -> None:  # noqa: B027 - optional hook, no-op by default
        """Hint that ``references`` (``data.pkg.rule``) will be queried, so an engine may compile them once."""


# name -> "module:Class"; imported lazily so a missing optional engine only fails when chosen.
ENGINES: Final[dict[str, str]] = {
    "regorus": "phistack.engine.regorus_engine:RegorusEvaluator",
    "regopy": "phistack.engine.regopy_engine:RegopyEvaluator",
    "opa": "phistack.engine.opa_binary:OpaBinaryEvaluator",
    "opa-server": "phistack.engine.opa_server:OpaServerEvaluator",
}


def register_engine(name: str, target: str) -> None:
    """Add an engine (``"module:Class"``); used by adapters such as OPA."""
    ENGINES[name] = target


def make_evaluator(engine: str, policies: PolicySet, **options: Any) -> Evaluator:
    """Build the evaluator for ``engine`` (one of ENGINES)."""
    try:
        target = ENGINES[engine]
    except KeyError:
        raise InputError(f"unknown engine {engine!r}; choose one of: {', '.join(sorted(ENGINES))}") from None
    module_name, _, class_name = target.partition(":")
    cls: type[Evaluator] = getattr(importlib.import_module(module_name), class_name)
    return cls(policies, **options)
