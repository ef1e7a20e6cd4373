"""Reading YAML configuration and validating it with pydantic: every error names the file, line or key path.

One place for what every config reader needs (waivers, stack specs, the key broker, price and control
catalogues, job specs), so they all fail the same way: one line, exit 2, never a traceback.

Config files are small: anything over :data:`MAX_CONFIG_BYTES` (16 MiB) is refused before it is parsed, so a
huge or endless file (a device, a FIFO fed forever) cannot hang a command.
"""

from __future__ import annotations

import difflib
import os
import stat
import types
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, Union, get_args, get_origin

import yaml

from runtime.errors import InputError

if TYPE_CHECKING:  # pydantic is imported where a model is validated: readers of key paths and YAML need none
    from pydantic import BaseModel, ValidationError
    from pydantic_core import ErrorDetails

Model = TypeVar("Model", bound="BaseModel")

MAX_CONFIG_BYTES = 16 * 1024 * 1024
"""The largest config file any command reads (YAML stack configs, job files, waivers, broker config)."""

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def key_path(loc: Iterable[Any], root: str = "") -> str:
    """A location as a key path: ``("waivers", 0, "expires")`` → ``waivers[0].expires``.

    ``root`` names the document itself (``$`` gives JSONPath, ``$.resources[3].urn``); without one the top
    level is ``(top level)``. Every reader's errors, the plan validator's included, write key paths this way.
    """
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def read_config_text(path: Path, what: str) -> str:
    """The text of a config file, refused at once when it is over :data:`MAX_CONFIG_BYTES`."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError(21, "Is a directory")
            if stat.S_ISREG(info.st_mode) and info.st_size > MAX_CONFIG_BYTES:
                raise _too_large(path, what)
            data = handle.read(MAX_CONFIG_BYTES + 1)  # a stream has no size: read one byte past the limit
        if len(data) > MAX_CONFIG_BYTES:
            raise _too_large(path, what)
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise InputError(f"{path}: cannot read {what}: {reason}") from err


def _too_large(path: Path, what: str) -> InputError:
    return InputError(f"{path}: cannot read {what}: larger than the {MAX_CONFIG_BYTES // (1024 * 1024)} MiB limit")


def _yaml_error(err: yaml.YAMLError, path: Path, what: str) -> InputError:
    mark = getattr(err, "problem_mark", None)
    where = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(err, "problem", None) or str(err)
    return InputError(f"{path}{where}: invalid YAML in {what}: {problem}")


def parse_yaml(text: str, path: Path, what: str) -> Any:
    """Parse YAML text; a syntax error names ``path:line``."""
    return parse_yaml_nodes(text, path, what)[0]


def parse_yaml_nodes(text: str, path: Path, what: str) -> tuple[Any, yaml.Node | None]:
    """Parse YAML text once into ``(value, node tree)``; the nodes carry the line numbers of every key."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    except yaml.YAMLError as err:
        raise _yaml_error(err, path, what) from err
    except RecursionError as err:
        raise InputError(f"{path}: invalid YAML in {what}: nested too deeply") from err
    finally:
        loader.dispose()


def load_yaml(path: Path, what: str) -> Any:
    """Read and parse a YAML file; unreadable, oversized or malformed files are InputError naming the file."""
    return parse_yaml(read_config_text(path, what), path, what)


def load_yaml_nodes(path: Path, what: str) -> tuple[Any, yaml.Node | None]:
    """:func:`load_yaml`, with the node tree for :func:`line_of`."""
    return parse_yaml_nodes(read_config_text(path, what), path, what)


def line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the key at ``loc`` in a YAML node tree (or of its deepest existing parent)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):  # the last of duplicate keys wins, as in loading
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child, line = value, key.start_mark.line + 1  # the key is where a reader looks
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


# --- which error to report, and a hint ------------------------------------------------------------------


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside a field annotation (``X | None``, ``list[X]``, ``dict[str, X]``)."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if hasattr(annotation, "__metadata__"):  # Annotated[X, ...]
        return _models_in(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType, list, dict):
        return [m for arg in get_args(annotation) for m in _models_in(arg)]
    return []


def model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model that holds the keys at ``loc`` (list indexes and dict keys skipped), or None."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int) or part not in current.model_fields:
            continue  # an index of a list, or a key of a dict of models
        found = _models_in(current.model_fields[part].annotation)
        current = found[0] if len(found) == 1 else None
    return current


def did_you_mean(word: str, known: list[str]) -> str | None:
    """The known key ``word`` was probably meant to be: a close spelling, else a known key it contains as a
    ``_``-separated part (``cluster_name`` → ``name``)."""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.7)
    if close:
        return close[0]
    parts = word.lower().replace("-", "_").split("_")
    joined = [("_".join(parts[i:j]), j - i) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)]
    candidates = sorted((-size, key) for key, size in joined if key in known and key != word)
    return candidates[0][1] if candidates else None


class Problem(NamedTuple):
    """The validation error a user should fix first."""

    loc: tuple[Any, ...]
    """Its key path."""
    message: str
    """What is wrong (with a hint for an unknown key)."""
    more: int
    """How many other errors there are."""
    detail: ErrorDetails
    """pydantic's error, for callers that map their own errors."""


def explain(model: type[BaseModel], err: ValidationError) -> Problem:
    """The error a user should fix first.

    Unknown keys come first: a misspelt key also makes the key it was meant to be "missing", and the typo is
    the mistake to name. The hint names the key it was probably meant to be; a missing-key error that the
    hint explains is not counted among the others. Other messages are pydantic's.
    """
    errors: list[ErrorDetails] = err.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(first["loc"])
    explained = 0
    if first["type"] == "extra_forbidden":
        holder = model_at(model, loc[:-1])
        guess = did_you_mean(str(loc[-1]), list(holder.model_fields)) if holder is not None else None
        message = f"unknown key; did you mean {guess}?" if guess else "unknown key"
        if guess and any(e["type"] == "missing" and tuple(e["loc"]) == (*loc[:-1], guess) for e in errors):
            explained = 1
    else:
        message = first["msg"].removeprefix("Value error, ")
    return Problem(loc, message, len(errors) - 1 - explained, first)


def more_suffix(more: int) -> str:
    """`` (and N more)`` for the errors not shown."""
    return f" (and {more} more)" if more > 0 else ""


def validate(model: type[Model], document: Any, path: Path, root: yaml.Node | None = None) -> Model:
    """Validate ``document``; the error to fix first names the file (and line, given the node tree) and its
    key path."""
    from pydantic import ValidationError

    try:
        return model.model_validate(document)
    except ValidationError as err:
        loc, message, more, _ = explain(model, err)
        line = line_of(root, loc) if root is not None else None
        where = f"{path}:{line}" if line else str(path)
        raise InputError(f"{where}: {key_path(loc)}: {message}{more_suffix(more)}") from err
