"""The reference of every ``phistack:*`` stack config key, generated from the models in :mod:`stacks.spec`.

``python -m stacks.reference`` rewrites the generated block of docs/MODULES.md (between the marker comments);
``--check`` only compares, exit 1 when the document and the models have drifted apart. A test runs the check.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from runtime.fileio import write_atomic
from stacks import spec

DOC = Path(__file__).resolve().parent.parent / "docs" / "MODULES.md"
BEGIN = "<!-- BEGIN GENERATED: python -m stacks.reference -->"
END = "<!-- END GENERATED -->"

# Patterns of stacks/spec.py's constrained strings, by the name a reader knows them by.
_PATTERNS = {
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$": "DNS label",
    r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$": "quantity (`64`, `512Gi`)",
    r"^sha256:[0-9a-f]{64}$": "`sha256:` + 64 hex",
    r"^https://": "`https://` URL",
    r"^/": "absolute path",
    r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$": "DNS name",
}
_SCALARS: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    datetime.date: "date (`YYYY-MM-DD`)",
}


def _constraints(metadata: list[Any]) -> tuple[str | None, list[str]]:
    """(a named string pattern, numeric and length bounds) from pydantic field metadata."""
    named: str | None = None
    bounds: list[str] = []
    for item in metadata:
        pattern = getattr(item, "pattern", None)
        if pattern:
            named = _PATTERNS.get(pattern, f"string matching `{pattern}`")
        for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(item, attr, None)
            if value is not None:
                bounds.append(f"{sign} {value}")
        min_length = getattr(item, "min_length", None)
        if min_length:
            bounds.append(f"at least {min_length}")
    return named, bounds


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """An ``Annotated[...]`` type and its metadata, ``X | None`` reduced to ``X``."""
    metadata: list[Any] = []
    while True:
        if hasattr(annotation, "__metadata__"):
            metadata.extend(annotation.__metadata__)
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) in (Union, types.UnionType):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation, metadata
            annotation = rest[0]
        else:
            return annotation, metadata


def describe_type(annotation: Any, metadata: list[Any] | None = None) -> str:
    """A type as a stack file's author reads it: ``DNS label``, ``one of `snp`, `tdx`, `off` ``, ``list of ...``."""
    annotation, inner = _unwrap(annotation)
    named, bounds = _constraints([*inner, *(metadata or [])])
    origin = get_origin(annotation)
    if origin is Literal:
        text = "one of " + ", ".join(f"`{v}`" for v in get_args(annotation))
    elif origin is list:
        text = "list of " + _plural(describe_type(get_args(annotation)[0]))
    elif origin is dict:
        text = "mapping of string to " + describe_type(get_args(annotation)[1])
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        text = "mapping"
    else:
        text = named or _SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))
    return f"{text}, {', '.join(bounds)}" if bounds else text


def _plural(text: str) -> str:
    first, _, rest = text.partition(" ")
    if first in ("mapping", "string", "integer", "boolean", "number", "date"):
        return f"{first}s {rest}".rstrip()
    return text


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return "the defaults below"
    return f"`{json.dumps(value)}`"


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds (directly or as list items) and whether it is a list."""
    annotation, _ = _unwrap(annotation)
    if get_origin(annotation) is list:
        item, _ = _unwrap(get_args(annotation)[0])
        return (item, True) if isinstance(item, type) and issubclass(item, BaseModel) else (None, True)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows: list[str] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        description = " ".join((field.description or "").split())
        rows.append(
            f"| `{key}` | {describe_type(field.annotation, field.metadata)} | {_default(field)} | {description} |"
        )
        nested, is_list = _model_of(field.annotation)
        if nested is not None:
            rows.extend(_rows(nested, f"{key}[]." if is_list else f"{key}."))
    return rows


def render() -> str:
    """The generated block, markers included."""
    lines = [
        BEGIN,
        "<!-- Generated from the models in stacks/spec.py by `python -m stacks.reference`; do not edit by hand. -->",
        "",
        "Every key a stack file may set under `config:`, each `phistack:<key>`. Unknown keys are errors (reported "
        "first, with their line and the key probably meant); `a[].b` is key `b` of each entry of list `a`.",
    ]
    for name, field in spec.StackSpec.model_fields.items():
        description = " ".join((field.description or "").split())
        lines += ["", f"### `{spec.NAMESPACE}:{name}`", ""]
        lines.append(f"{description} Type: {describe_type(field.annotation, field.metadata)}; {_default(field)}.")
        nested, is_list = _model_of(field.annotation)
        if nested is not None:
            what = " ".join((nested.__doc__ or "").split())
            lines += ["", f"{what} {'Keys of each entry' if is_list else 'Keys'}:", ""]
            lines += ["| key | type | required / default | description |", "|---|---|---|---|"]
            lines += _rows(nested)
    lines += ["", END]
    return "\n".join(lines) + "\n"


def updated(document: str) -> str:
    """``document`` with its generated block replaced by :func:`render`'s."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the markers {BEGIN} ... {END} are missing")
    return document[:start] + render() + document[end + len(END) :].removeprefix("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.reference", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the document is out of date")
    parser.add_argument("-o", "--output", type=Path, default=DOC, help="the document (default docs/MODULES.md)")
    args = parser.parse_args(argv)
    current = args.output.read_text(encoding="utf-8")
    fresh = updated(current)
    if args.check:
        if fresh != current:
            print(f"{args.output} is out of date: run `python -m stacks.reference`", file=sys.stderr)
            return 1
        return 0
    write_atomic(args.output, fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
