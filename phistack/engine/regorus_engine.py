"""regorus (microsoft/regorus, PyPI build ``gordon-to-regorus``): the default, linear-time engine."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson
import regorus

from phistack.engine.base import UNDEFINED, Evaluator
from phistack.engine.policyset import PolicySet
from phistack.errors import PolicyError

_LOCATION_RE = re.compile(r"-->\s*(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+)")
_MESSAGE_RE = re.compile(r"^error:\s*(?P<msg>.+)$", re.MULTILINE)


def describe_regorus_error(err: BaseException) -> str:
    """Turn regorus' multi-line report (with a Rust backtrace) into ``file:line: message``."""
    text = str(err).split("Stack backtrace:")[0]
    location = _LOCATION_RE.search(text)
    message = _MESSAGE_RE.search(text)
    summary = message.group("msg").strip() if message else " ".join(text.split())[:200]
    if location:
        return f"{location.group('file')}:{location.group('line')}: {summary}"
    return summary


def _json_text(document: Mapping[str, Any]) -> str:
    """``document`` as JSON: orjson, since the input of a large plan is megabytes and json.dumps of it costs
    more than reading it; json where orjson refuses (integers beyond 64 bits, which JSON allows)."""
    try:
        return orjson.dumps(document).decode()
    except orjson.JSONEncodeError:
        return json.dumps(document)


class RegorusEvaluator(Evaluator):
    name = "regorus"

    def __init__(self, policies: PolicySet, *, coverage: bool = False) -> None:
        super().__init__(policies)
        self._engine = regorus.Engine()
        if coverage:
            self._engine.set_enable_coverage(True)
        for module in policies.modules:
            try:
                self._engine.add_policy(module.path, module.text)
            except RuntimeError as err:
                raise PolicyError(f"policy error: {describe_regorus_error(err)}") from err
        try:
            self._engine.add_data_json(json.dumps(policies.data))
        except RuntimeError as err:
            raise PolicyError(f"policy data rejected: {describe_regorus_error(err)}") from err

    def query(self, query: str, input_document: Mapping[str, Any] | None) -> Any:
        try:
            self._engine.set_input_json(_json_text(input_document if input_document is not None else {}))
            raw = self._engine.eval_query_as_json(query)
        except RuntimeError as err:
            raise PolicyError(f"evaluation error: {describe_regorus_error(err)}") from err
        results = json.loads(raw).get("result") or []
        if not results:
            return UNDEFINED
        expressions = results[0].get("expressions") or []
        return expressions[0]["value"] if expressions else UNDEFINED

    @property
    def engine(self) -> Any:
        """The underlying regorus.Engine (coverage reports, test discovery)."""
        return self._engine
