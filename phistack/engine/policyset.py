"""Loading a policy set from disk: Rego modules, their METADATA, and data documents.

Layout contract (docs/CONTRACTS.md):
- every ``*.rego`` under the root is a module; ``*_test.rego`` files are tests, loaded only on request;
- every ``*.json`` / ``*.yaml`` inside a directory named ``data`` is mounted at ``data.<file stem>``;
- ``pack/`` (the CrossGuard pack's Python) and dot-directories are ignored.
METADATA comment blocks are parsed here, in Python, because the embedded engines disagree on
``rego.metadata.*`` (regorus lacks it; regopy leaves ``rego.metadata.rule()`` undefined).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from phistack.errors import PolicyError

# libyaml's safe loader where installed: METADATA of every rule is parsed on each run.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_IGNORED_DIRS = {"pack", "__pycache__"}
_PACKAGE_RE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)


@dataclass(frozen=True)
class PolicyModule:
    """One Rego file: its path relative to the policy root, text, package and METADATA blocks."""

    path: str
    text: str
    package: str
    annotations: tuple[dict[str, Any], ...] = ()

    @property
    def is_test(self) -> bool:
        return self.path.endswith("_test.rego")


@dataclass(frozen=True)
class PolicySet:
    """Everything an engine needs: modules, the merged data document, and a content digest."""

    root: Path
    modules: tuple[PolicyModule, ...]
    data: dict[str, Any] = field(default_factory=dict)
    digest: str = ""

    def rules_metadata(self) -> dict[str, dict[str, Any]]:
        """Map stable rule id -> METADATA (title, description, custom.severity, citations...)."""
        rules: dict[str, dict[str, Any]] = {}
        for module in self.modules:
            for annotation in module.annotations:
                rule_id = (annotation.get("custom") or {}).get("id")
                if not rule_id:
                    continue
                if rule_id in rules:
                    raise PolicyError(f"{module.path}: rule id {rule_id} is declared twice")
                rules[rule_id] = {**annotation, "package": module.package, "path": module.path}
        return rules


def parse_metadata(path: str, text: str) -> tuple[dict[str, Any], ...]:
    """Parse every ``# METADATA`` block of a Rego file as YAML; a malformed block is a PolicyError."""
    blocks: list[dict[str, Any]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].strip() != "# METADATA":
            index += 1
            continue
        start = index + 1
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].lstrip().startswith("#"):
            comment = lines[index].lstrip()[1:]
            body.append(comment[1:] if comment.startswith(" ") else comment)
            index += 1
        try:
            parsed = yaml.load("\n".join(body), Loader=_YAML_LOADER)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = start + (mark.line + 1 if mark is not None else 0)
            raise PolicyError(f"{path}:{line}: malformed METADATA block: {getattr(err, 'problem', err)}") from err
        if not isinstance(parsed, dict):
            raise PolicyError(f"{path}:{start}: METADATA block is not a mapping")
        blocks.append(parsed)
    return tuple(blocks)


def _read_text(path: Path, root: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PolicyError(f"{path.relative_to(root)}: cannot read: {err}") from err


def _load_data_file(path: Path, root: Path) -> Any:
    text = _read_text(path, root)
    rel = path.relative_to(root)
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.load(text, Loader=_YAML_LOADER)
    except json.JSONDecodeError as err:
        raise PolicyError(f"{rel}:{err.lineno}: invalid JSON in policy data: {err.msg}") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{rel}{where}: invalid YAML in policy data: {getattr(err, 'problem', err)}") from err


def _walk(root: Path) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if any(part in _IGNORED_DIRS or part.startswith(".") for part in parts[:-1]):
            continue
        if path.is_file():
            files.append(path)
    return files


def load_policy_set(root: Path, *, include_tests: bool = False) -> PolicySet:
    """Load every module and data file under ``root``; raise PolicyError naming the file on failure."""
    if not root.is_dir():
        raise PolicyError(f"{root}: policy directory not found")
    modules: list[PolicyModule] = []
    data: dict[str, Any] = {}
    digest = hashlib.sha256()
    for path in _walk(root):
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".rego":
            if rel.endswith("_test.rego") and not include_tests:
                continue
            text = _read_text(path, root)
            match = _PACKAGE_RE.search(text)
            if match is None:
                raise PolicyError(f"{rel}:1: no package declaration")
            modules.append(PolicyModule(rel, text, match.group(1), parse_metadata(rel, text)))
        elif path.parent.name == "data" and path.suffix in {".json", ".yaml", ".yml"}:
            if path.stem in data:
                raise PolicyError(f"{rel}: data document {path.stem!r} is defined twice")
            data[path.stem] = _load_data_file(path, root)
        else:
            continue
        digest.update(rel.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    if not modules:
        raise PolicyError(f"{root}: no Rego modules found")
    return PolicySet(root=root, modules=tuple(modules), data=data, digest=f"sha256:{digest.hexdigest()}")
