"""Block-style YAML text, byte for byte what ``yaml.safe_dump(width=100, sort_keys=False)`` writes, faster.

PyYAML's pure-Python emitter spends most of ``phistack render`` on a large plan turning about a hundred
thousand short scalars into text through its event machine. The manifests use a small part of YAML:
block mappings with string keys and block sequences of strings, integers, booleans and nulls. For these
the layout is fixed (two-space indent, sequences in a mapping not indented, ``[]``/``{}`` for empty
collections), and how each string is written is decided by PyYAML's own code: its scalar analysis and
its resolver, applied as its emitter applies them, cached per string.

Anything outside that subset makes :func:`dump` hand the whole document to ``yaml.safe_dump``: a
float, a key that is not a string or is too long for a simple key, a string that would be
double-quoted or span lines, a plain or single-quoted string with spaces whose line would reach the
width (PyYAML folds it there), an object that occurs twice (PyYAML writes an anchor and an alias),
or any other type. The output is therefore always PyYAML's.
"""

from __future__ import annotations

import functools
import io
from typing import Any

import yaml
from yaml.emitter import Emitter
from yaml.resolver import Resolver

WIDTH = 100
"""The line width the manifests are written with."""
DEFAULT_WIDTH = 80
"""PyYAML's width when none is given (the kustomization.yaml)."""

_STR = "tag:yaml.org,2002:str"
# "!!str", the tag PyYAML counts in a simple key's length although it does not write it.
_TAG_LENGTH = len("!!str")
_SIMPLE_KEY_LIMIT = 128

_analyser = Emitter(io.StringIO())  # analyze_scalar only reads allow_unicode (None: ASCII only, as safe_dump)
_resolver = Resolver()


class _Fallback(Exception):
    """This document is not in the subset: PyYAML writes it."""


@functools.lru_cache(maxsize=1 << 16)
def _string(text: str) -> tuple[str | None, str | None]:
    """(as a value in block context, as a simple mapping key): the text PyYAML writes, or None if unsure.

    Mirrors ``Emitter.choose_scalar_style`` for a str scalar the SafeRepresenter made (no style, tag str).
    """
    analysis = _analyser.analyze_scalar(text)
    if analysis.multiline:
        return None, None  # line breaks and indentation of its own
    implicit = _resolver.resolve(yaml.ScalarNode, text, (True, False)) == _STR
    written: str | None = None  # double-quoted: escapes and folding of its own
    if implicit and analysis.allow_block_plain:
        written = text
    elif analysis.allow_single_quoted:
        written = "'" + text.replace("'", "''") + "'"
    if analysis.empty or _TAG_LENGTH + len(text) >= _SIMPLE_KEY_LIMIT:
        return written, None  # not a simple key: PyYAML writes "? key"
    return written, written


def _scalar(value: Any, column: int, width: int) -> str:
    """``value`` as written starting at ``column`` (after "key: " or "- ")."""
    kind = type(value)
    if kind is str:
        text = _string(value)[0]
        if text is None:
            raise _Fallback
        # PyYAML breaks a plain or single-quoted scalar at a space once the line is past the width.
        if column + len(text) > width and " " in text:
            raise _Fallback
        return text
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    raise _Fallback  # float (its own spelling), bytes, dates, other types


def _key(key: Any) -> str:
    if type(key) is not str:
        raise _Fallback
    text = _string(key)[1]
    if text is None:
        raise _Fallback
    return text


class _Writer:
    """The lines of one document in the subset; raises _Fallback where it leaves it."""

    def __init__(self, width: int) -> None:
        self.lines: list[str] = []
        self.width = width
        self.seen: set[int] = set()  # containers written so far: one met twice is an alias in PyYAML

    def node(self, value: Any, head: str, gap: str, indent: int) -> None:
        """``value`` after ``head`` ("...key:" with gap " ", or "...- " with gap ""); ``indent`` is head's."""
        kind = type(value)
        if kind is not dict and kind is not list:
            self.lines.append(head + gap + _scalar(value, len(head) + len(gap), self.width))
            return
        if id(value) in self.seen:
            raise _Fallback
        self.seen.add(id(value))
        if not value:
            self.lines.append(head + gap + ("{}" if kind is dict else "[]"))
            return
        # Under a key: on the next lines, a mapping indented by two, a sequence not indented.
        # After a dash: on the same line, both indented by two.
        child = indent if gap and kind is list else indent + 2
        lead = head
        if gap:
            self.lines.append(head)
            lead = " " * child
        if kind is dict:
            self.mapping(value, child, lead)
        else:
            self.sequence(value, child, lead)

    def mapping(self, mapping: dict[Any, Any], indent: int, lead: str) -> None:
        """A non-empty block mapping whose keys start at ``indent``; its first line begins with ``lead``."""
        start, pad = lead, " " * indent
        for key, value in mapping.items():
            self.node(value, f"{start}{_key(key)}:", " ", indent)
            start = pad

    def sequence(self, items: list[Any], indent: int, lead: str) -> None:
        """A non-empty block sequence whose dashes are at ``indent``; its first line begins with ``lead``."""
        start, pad = lead, " " * indent
        for item in items:
            self.node(item, start + "- ", "", indent)
            start = pad


def dump(document: dict[str, Any], width: int = WIDTH) -> str:
    """``yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=width)``."""
    if type(document) is dict and document and width > 4:  # PyYAML takes 80 for a width of 4 or less
        writer = _Writer(width)
        writer.seen.add(id(document))
        try:
            writer.mapping(document, 0, "")
        except _Fallback:
            pass
        else:
            writer.lines.append("")
            return "\n".join(writer.lines)
    return _pyyaml(document, width)


def _pyyaml(document: Any, width: int) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=width)
