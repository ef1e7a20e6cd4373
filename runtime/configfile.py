"""Reading YAML configuration and validating it with pydantic: every error names the file, line or key path.

One place for what every config reader needs (waivers, stack specs, the key broker, price and control
catalogues, job specs), so they all fail the same way: one line, exit 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from runtime.errors import InputError

Model = TypeVar("Model", bound=BaseModel)


def key_path(loc: tuple[Any, ...]) -> str:
    """pydantic's error location as a key path: ``("waivers", 0, "expires")`` → ``waivers[0].expires``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def parse_yaml(text: str, path: Path, what: str) -> Any:
    """Parse YAML text; a syntax error names ``path:line``."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise InputError(f"{path}{where}: invalid YAML in {what}: {problem}") from err


def load_yaml(path: Path, what: str) -> Any:
    """Read and parse a YAML file; unreadable or malformed files are InputError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise InputError(f"{path}: cannot read {what}: {reason}") from err
    return parse_yaml(text, path, what)


def validate(model: type[Model], document: Any, path: Path) -> Model:
    """Validate ``document``; the first error names the file and its key path."""
    try:
        return model.model_validate(document)
    except ValidationError as err:
        first = err.errors()[0]
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise InputError(f"{path}: {key_path(tuple(first['loc']))}: {first['msg']}{more}") from err
