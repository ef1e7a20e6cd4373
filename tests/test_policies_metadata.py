"""Every HIPAA rule carries complete METADATA, a unique stable id, and follows the Rego habits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phistack.engine import load_policy_set
from phistack.engine.policyset import parse_metadata
from tests.support.paths import REPO

HIPAA = REPO / "policies" / "hipaa"
RULE_FILES = sorted(p for p in HIPAA.glob("*/phi-*/phi_*.rego") if not p.name.endswith("_test.rego"))
ALL_FILES = sorted(HIPAA.rglob("*.rego"))
ID_RE = re.compile(r"^PHI-[A-Z]+-\d{3}$")


def test_there_are_rules() -> None:
    assert len(RULE_FILES) >= 20


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.parent.name)
def test_metadata_complete(path: Path) -> None:
    text = path.read_text()
    blocks = parse_metadata(path.name, text)
    assert len(blocks) == 1, "one METADATA block per rule file"
    meta = blocks[0]
    for key in ("title", "description", "related_resources", "custom"):
        assert meta.get(key), key
    custom = meta["custom"]
    rule_id = custom["id"]
    assert ID_RE.match(rule_id)
    assert path.parent.name == rule_id.lower()
    assert path.stem == rule_id.lower().replace("-", "_")
    assert custom["severity"] in {"critical", "high", "medium", "low"}
    assert custom["enforcement"] in {"mandatory", "advisory"}
    assert custom["remediation"].strip()
    assert custom["citations"]
    for citation in custom["citations"]:
        assert set(citation) == {"cfr", "title", "type"}
        assert re.match(r"^(45|21) CFR \d+\.\d+", citation["cfr"])
        assert citation["type"] in {"required", "addressable"}
    for resource in meta["related_resources"]:
        assert resource["ref"].startswith("https://www.ecfr.gov/")
        assert resource["description"].strip()


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.parent.name)
def test_findings_carry_the_rule_id(path: Path) -> None:
    text = path.read_text()
    rule_id = parse_metadata(path.name, text)[0]["custom"]["id"]
    ids = set(re.findall(r'lib\.(?:unknown_)?finding\("([^"]+)"', text))
    assert ids == {rule_id}
    entry = "warn" if parse_metadata(path.name, text)[0]["custom"]["enforcement"] == "advisory" else "deny"
    assert f"{entry} contains f if {{\n\tsome f in findings(lib.ctx)\n}}" in text


def test_ids_unique_and_read_by_the_engine_loader() -> None:
    rules = load_policy_set(REPO / "policies").rules_metadata()  # raises on a duplicate id
    file_ids = [parse_metadata(p.name, p.read_text())[0]["custom"]["id"] for p in RULE_FILES]
    assert len(file_ids) == len(set(file_ids))
    assert set(file_ids) <= set(rules)


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(HIPAA)))
def test_rego_habits(path: Path) -> None:
    """Rego v1, tab indentation, and none of the constructs one embedded engine gets wrong."""
    text = path.read_text()
    code = "\n".join(line.split(" # ")[0] for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "import rego.v1" in code
    assert "sprintf(" not in code, "regopy quotes %s of function arguments: build strings with concat"
    assert "with input as" not in code, "regopy crashes on `with input as`: call findings(ctx) instead"
    assert not re.search(r"^ +\S", text, re.MULTILINE), "opa fmt indents with tabs"
    if path.name.endswith("_test.rego"):
        assert re.search(r"^package phistack\.(rules\.\w+|lib)\.\w+_test$", text, re.MULTILINE)


RULE_DIR_FILES = sorted(HIPAA.glob("*/phi-*/*.rego"))
PACKAGE_RE = re.compile(r"^package\s+([\w.]+)$", re.MULTILINE)


@pytest.mark.parametrize("path", RULE_DIR_FILES, ids=lambda p: str(p.relative_to(HIPAA)))
def test_the_package_is_the_directory(path: Path) -> None:
    """phistack.rules.<area>.<rule>, both directory names with dashes as underscores; tests add _test."""
    expected = f"phistack.rules.{path.parent.parent.name}.{path.parent.name}".replace("-", "_")
    if path.name.endswith("_test.rego"):
        expected += "_test"
    assert PACKAGE_RE.findall(path.read_text()) == [expected]


# A function head at the start of a line: `name(args) :=`, `name(args) if`, `name(args) {`.
FUNCTION_RE = re.compile(r"^(_?[a-z][a-z0-9_]*)\(([^()]*)\)\s*(?::=|=|if\b|\{)", re.MULTILINE)


def _arities(paths: list[Path]) -> dict[str, dict[int, list[str]]]:
    found: dict[str, dict[int, list[str]]] = {}
    for path in paths:
        for name, args in FUNCTION_RE.findall(path.read_text()):
            arity = len([a for a in args.split(",") if a.strip()])
            found.setdefault(name, {}).setdefault(arity, []).append(path.name)
    return found


def test_a_function_name_has_one_arity_across_the_loaded_modules() -> None:
    """regopy 1.5.2 crashes (SIGSEGV) when two loaded packages define a function of one name with different
    arities. The gate loads every module but the tests, the test runner those plus one test module."""
    modules = sorted(p for p in (REPO / "policies").rglob("*.rego") if not p.name.endswith("_test.rego"))
    shared = _arities(modules)
    assert {name: by for name, by in shared.items() if len(by) > 1} == {}
    for test in sorted((REPO / "policies").rglob("*_test.rego")):
        own = _arities([test])
        clashes = {n: (sorted(by), sorted(shared[n])) for n, by in own.items() if set(by) != set(shared.get(n, by))}
        assert clashes == {}, f"{test.name}: its arity vs the modules' arities"
