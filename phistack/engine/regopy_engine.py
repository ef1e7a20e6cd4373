"""regopy (Microsoft's rego-cpp): the second-opinion engine. Quadratic on large inputs; fine for tests."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import regopy

from phistack.engine.base import UNDEFINED, Evaluator
from phistack.engine.policyset import PolicySet
from phistack.errors import PolicyError

# rego-cpp reports "(error <n>:<file>|<offset>|<length> (errormsg <n>:<message>) ...)"
_ERROR_RE = re.compile(r"\(error \d+:(?P<file>[^|]*)\|(?P<offset>\d+)\|\d+\s*\(errormsg \d+:(?P<msg>[^)]*)\)")


_LIBC = ctypes.CDLL(None)

# A plain rule reference (data.a.b.rule) can be a bundle entrypoint ("a/b/rule").
_REFERENCE_RE = re.compile(r"data(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


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
        self._bundle: regopy.Bundle | None = None
        self._entrypoints: dict[str, str] = {}
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
            text = " ".join(report.split())[:200]
            if text in ("", "<error>"):
                # regopy's Python binding hands back an error node whose detail it does not expose.
                return "regopy reports an error without detail; run again with --engine regorus for its file and line"
            return text
        path, message = match.group("file"), match.group("msg").strip()
        source = self._sources.get(path)
        if source is None:
            return f"{path}: {message}" if path else message
        return f"{path}:{_line_of(source, int(match.group('offset')))}: {message}"

    @property
    def prepared_references(self) -> frozenset[str]:
        """The references that run from the compiled bundle."""
        return frozenset(self._entrypoints)

    def prepare(self, references: Sequence[str]) -> None:
        """Compile ``references`` once into a bundle.

        rego-cpp re-compiles every module for each ad-hoc query (about a second for the HIPAA
        library); a bundle entrypoint runs the compiled plan instead. A reference the bundle
        cannot take keeps the ad-hoc path, which stays the reference behaviour.
        """
        entrypoints = {
            ref: ref.removeprefix("data.").replace(".", "/") for ref in references if _REFERENCE_RE.fullmatch(ref)
        }
        if not entrypoints:
            return
        try:
            with _quiet_native_output():
                bundle = self._interpreter.build(None, list(entrypoints.values()))
        except regopy.RegoError:
            return
        if bundle.ok():
            self._bundle, self._entrypoints = bundle, entrypoints

    def _run(self, query: str, input_document: Mapping[str, Any]) -> Any:
        try:
            with _quiet_native_output():
                self._interpreter.set_input(dict(input_document))
                entrypoint = self._entrypoints.get(query)
                if entrypoint is not None and self._bundle is not None:
                    output = self._interpreter.query_bundle_entrypoint(self._bundle, entrypoint)
                else:
                    output = self._interpreter.query(query)
        except regopy.RegoError as err:
            raise PolicyError(f"policy error: {self._describe(str(err))}") from err
        except ValueError:
            # regopy 1.5.2 parses rego-cpp's output as JSON itself; some results (an object.get
            # default over `data`, for one) come back as text that is not JSON.
            raise PolicyError(f"policy error: regopy could not read its own result for {query}") from None
        if not output.ok():
            raise PolicyError(f"policy error: {self._describe(str(output))}")
        text = str(output)
        if text == "undefined":
            return UNDEFINED
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            raise PolicyError(f"policy error: regopy returned a result that is not JSON for {query}") from None
        first = parsed[0] if isinstance(parsed, list) else parsed
        expressions = first.get("expressions") or []
        return expressions[0] if expressions else UNDEFINED

    def query(self, query: str, input_document: Mapping[str, Any] | None) -> Any:
        return self._run(query, input_document or {})
