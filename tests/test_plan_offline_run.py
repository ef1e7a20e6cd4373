"""How the offline planner runs a program: it waits for everything the program started, reports a failure that
happens after the program's body returned, validates the plan once and leaves the garbage collector as it was."""

from __future__ import annotations

import gc
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import phistack.plan.document as plan_document
from phistack.errors import InputError
from phistack.plan.offline import plan_stack

PROGRAM = '''
import pulumi

mode = pulumi.Config().require("mode")


class Thing(pulumi.CustomResource):
    def __init__(self, name, props, opts=None):
        super().__init__("test:index:Thing", name, props, opts)


first = Thing("first", {"size": 1})


def late(size):
    if mode == "late-failure":
        raise RuntimeError("failed after the program returned")
    # Not how a component should declare children; a program may still do it, and the plan must show it.
    Thing("from-apply", {"size": size + 1}, pulumi.ResourceOptions(depends_on=[first]))
    return size


chained = first.size.apply(late)
Thing("second", {"size": chained})
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: runs\nruntime:\n  name: python\nmain: prog/\nstackConfigDir: prog/\n")
    (tmp_path / "prog").mkdir()
    (tmp_path / "prog" / "__main__.py").write_text(textwrap.dedent(PROGRAM))
    for mode in ("chained", "late-failure"):
        (tmp_path / "prog" / f"Pulumi.{mode}.yaml").write_text(f"config:\n  runs:mode: {mode}\n")
    return tmp_path


@pytest.fixture
def collector_enabled() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_resources_registered_after_the_program_returned_are_in_the_plan(project: Path) -> None:
    plan = plan_stack(project, "chained")
    by_name = {r["name"]: r for r in plan["resources"]}
    assert set(by_name) == {"runs-chained", "first", "second", "from-apply"}
    assert by_name["from-apply"]["inputs"] == {"size": 2}
    assert by_name["from-apply"]["dependencies"] == [by_name["first"]["urn"]]
    assert by_name["second"]["inputs"] == {"size": 1}
    assert by_name["second"]["property_dependencies"] == {"size": [by_name["first"]["urn"]]}


def test_a_failure_after_the_program_returned_names_the_stack(project: Path) -> None:
    message = "stack 'late-failure' failed: RuntimeError: failed after the program returned"
    with pytest.raises(InputError, match=message):
        plan_stack(project, "late-failure")


def test_a_failed_plan_leaves_nothing_behind_for_the_next(project: Path) -> None:
    with pytest.raises(InputError):
        plan_stack(project, "late-failure")
    names = {r["name"] for r in plan_stack(project, "chained")["resources"]}
    assert names == {"runs-chained", "first", "second", "from-apply"}


def test_the_plan_is_validated_once(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    original = plan_document.first_violation

    def counting(document: object) -> object:
        calls.append(document)
        return original(document)

    monkeypatch.setattr(plan_document, "first_violation", counting)
    plan = plan_stack(project, "chained")
    plan_document.write_plan(plan, project / "plan.json")
    assert len(calls) == 1


@pytest.mark.usefixtures("collector_enabled")
def test_the_collector_is_left_as_it_was(project: Path) -> None:
    plan_stack(project, "chained")
    assert gc.isenabled()
    with pytest.raises(InputError):
        plan_stack(project, "late-failure")
    assert gc.isenabled()
    gc.disable()
    plan_stack(project, "chained")
    assert not gc.isenabled()
