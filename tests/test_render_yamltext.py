"""phistack.render.yamltext writes exactly the bytes yaml.safe_dump writes, or lets PyYAML write them."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from phistack.plan.offline import plan_stack
from phistack.render import manifests_from_plan, yamltext
from phistack.render.manifests import to_yaml
from phistack.stackconfig import stack_names

ROOT = Path(__file__).resolve().parent.parent
SAFE_DUMP = yaml.safe_dump


def pyyaml(document: Any, width: int = yamltext.WIDTH) -> str:
    return SAFE_DUMP(document, sort_keys=False, default_flow_style=False, width=width)


@pytest.fixture
def fallbacks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The documents yamltext hands to PyYAML."""
    seen: list[Any] = []

    real = yamltext._pyyaml

    def spy(document: Any, width: int) -> str:
        seen.append(document)
        return real(document, width)

    monkeypatch.setattr(yamltext, "_pyyaml", spy)
    return seen


def test_every_stack_renders_as_pyyaml(fallbacks: list[Any]) -> None:
    count = 0
    for stack in stack_names(ROOT / "stacks"):
        manifests, _ = manifests_from_plan(plan_stack(ROOT, stack))
        for manifest in manifests:
            body = manifest.body
            head = {k: body[k] for k in ("apiVersion", "kind", "metadata") if k in body}
            ordered = {**head, **{k: body[k] for k in sorted(body) if k not in head}}
            assert to_yaml(body) == pyyaml(ordered), manifest.urn
            count += 1
    assert count > 50
    # Only the few objects with a long sentence (folded) or a multi-line config file go to PyYAML.
    assert len(fallbacks) < count // 5


# Strings whose spelling PyYAML decides: quoted because they read as another type or start with an
# indicator, quotes inside, spaces at either end, and simple-key length limits.
TRICKY = [
    "",
    " ",
    "a b",
    "true",
    "False",
    "yes",
    "null",
    "~",
    "1",
    "0x1f",
    "0o7",
    "09",
    "1_000",
    "1.5",
    "1e3",
    ".inf",
    "2026-01-01",
    "12:30",
    "<<",
    "=",
    "-",
    "- a",
    "? x",
    ": y",
    "a: b",
    "a:b",
    "#c",
    "a #b",
    "'q'",
    "x'y",
    "@a",
    "`a",
    "%a",
    "!a",
    "&a",
    "*a",
    "|",
    ">",
    "[a]",
    "{a}",
    "a,b",
    " lead",
    "trail ",
    "a  b",
    "---",
    "...",
    "nvidia.com/gpu",
    "https://kbs.example-hospital.org/a?b=c#d",
    "k" * 122,
    "k" * 123,
]


def _string(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(TRICKY)
    if roll < 0.8:
        # Words up to and past the width, where PyYAML starts folding.
        return " ".join(rng.choice(["word", "a", "longerword", "x-y", "it's", "q"]) for _ in range(rng.randint(1, 14)))
    return "".join(rng.choice("ab -:#'x.,/ ") for _ in range(rng.randint(0, 60)))


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 4 or roll < 0.5:
        return rng.choice([_string(rng), _string(rng), rng.randint(-(10**6), 10**20), True, False, None])
    if roll < 0.55:
        return {}
    if roll < 0.6:
        return []
    if roll < 0.8:
        keys = [_string(rng) if rng.random() < 0.3 else f"key{i}" for i in range(rng.randint(1, 4))]
        return {key: _value(rng, depth + 1) for key in keys}
    return [_value(rng, depth + 1) for _ in range(rng.randint(1, 4))]


@pytest.mark.parametrize("width", [yamltext.WIDTH, yamltext.DEFAULT_WIDTH])
def test_random_documents_match_pyyaml(width: int, fallbacks: list[Any]) -> None:
    rng = random.Random(20261202)
    for _ in range(400):
        document = {f"top{i}": _value(rng, 0) for i in range(rng.randint(1, 5))}
        assert yamltext.dump(document, width=width) == pyyaml(document, width), document
    assert len(fallbacks) < 200  # most documents are written by yamltext itself


@pytest.mark.parametrize(
    "document",
    [
        {"a": 1.5},  # a float: PyYAML's own spelling
        {"a": "x\ny"},  # over two lines
        {"a": "tab\there"},  # double-quoted
        {"a": "é"},  # not ASCII: double-quoted by safe_dump
        {"a": " ".join(["word"] * 30)},  # folded at the width
        {"k" * 123: 1},  # too long for a simple key
        {"": 1},  # an empty key is not a simple key
        {1: "a"},  # a key that is not a string
        {"a": (1, 2)},  # a tuple: PyYAML refuses it
    ],
)
def test_what_yamltext_leaves_to_pyyaml(document: dict[Any, Any], fallbacks: list[Any]) -> None:
    try:
        expected = pyyaml(document)
    except yaml.YAMLError as err:
        with pytest.raises(type(err)):
            yamltext.dump(document)
    else:
        assert yamltext.dump(document) == expected
    assert len(fallbacks) >= 1


def test_an_object_that_occurs_twice_gets_pyyaml_anchors(fallbacks: list[Any]) -> None:
    labels = {"app": "x"}
    document = {"metadata": {"labels": labels}, "spec": {"selector": labels}}
    text = yamltext.dump(document)
    assert text == pyyaml(document)
    assert "&id001" in text and "*id001" in text
    assert fallbacks == [document]
