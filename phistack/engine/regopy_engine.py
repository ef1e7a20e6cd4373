"""regopy (Microsoft's rego-cpp): the second-opinion engine. Quadratic on large inputs; fine for tests."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

import regopy

from phistack.engine.base import UNDEFINED, Evaluator
from phistack.engine.policyset import PolicySet
from phistack.errors import PolicyError

# rego-cpp reports "(error <n>:<file>|<offset>|<length> (errormsg <n>:<message>) ...)"
_ERROR_RE = re.compile(r"\(error \d+:(?P<file>[^|]*)\|(?P<offset>\d+)\|\d+\s*\(errormsg \d+:(?P<msg>[^)]*)\)")


_LIBC = ctypes.CDLL(None)


@contextlib.contextmanager
def _quiet_native_output() -> Iterator[None]:
    """rego-cpp prints its own error report through C stdio; keep it out of the user's terminal.

    Both descriptors are pointed at a scratch file and C's buffers are flushed before they are
    restored, so nothing written during the call surfaces later (for example at exit).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile() as sink:
        for fd in saved:
            os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            _LIBC.fflush(None)
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


class RegopyEvaluator(Evaluator):
    name = "regopy"

    def __init__(self, policies: PolicySet) -> None:
        super().__init__(policies)
        self._sources = {module.path: module.text for module in policies.modules}
        self._interpreter = regopy.Interpreter()
        try:
            with _quiet_native_output():
                for module in policies.modules:
                    self._interpreter.add_module(module.path, module.text)
                self._interpreter.add_data(policies.data)
        except regopy.RegoError as err:
            raise PolicyError(f"policy error: {self._describe(str(err))}") from err
        # rego-cpp compiles lazily: surface syntax errors now, not at the first query.
        self._run("true", {})

    def _describe(self, report: str) -> str:
        match = _ERROR_RE.search(report)
        if match is None:
            return " ".join(report.split())[:200]
        path, message = match.group("file"), match.group("msg").strip()
        source = self._sources.get(path)
        if source is None:
            return f"{path}: {message}" if path else message
        return f"{path}:{_line_of(source, int(match.group('offset')))}: {message}"

    def _run(self, query: str, input_document: Mapping[str, Any]) -> Any:
        try:
            with _quiet_native_output():
                self._interpreter.set_input(dict(input_document))
                output = self._interpreter.query(query)
        except regopy.RegoError as err:
            raise PolicyError(f"policy error: {self._describe(str(err))}") from err
        if not output.ok():
            raise PolicyError(f"policy error: {self._describe(str(output))}")
        text = str(output)
        if text == "undefined":
            return UNDEFINED
        parsed = json.loads(text)
        first = parsed[0] if isinstance(parsed, list) else parsed
        expressions = first.get("expressions") or []
        return expressions[0] if expressions else UNDEFINED

    def query(self, query: str, input_document: Mapping[str, Any] | None) -> Any:
        return self._run(query, input_document or {})
