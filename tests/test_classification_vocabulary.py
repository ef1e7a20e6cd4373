"""One data-classification vocabulary (runtime/classification.py): the Rego library's copy equals it on both
engines, and every Python consumer accepts exactly it."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from pydantic import TypeAdapter, ValidationError

from modules._common import DATA_CLASSIFICATIONS, DataClassification, check_choice
from phistack.errors import PolicyError
from phistack.gate import _scope
from runtime.classification import CLASSIFICATIONS, SENSITIVE, Classification, ClassificationName
from runtime.job import JobSpec
from stacks import spec
from tests.support.scope import evaluator

ENGINES = ["regorus", "regopy"]
OUTSIDE = ["PHI", "secret", "", "unclassified"]


def test_the_enum_the_literal_and_the_tuple_are_one_vocabulary() -> None:
    assert CLASSIFICATIONS == ("phi", "deidentified", "genetic", "none")
    assert tuple(c.value for c in Classification) == CLASSIFICATIONS == get_args(ClassificationName)
    assert {c.value for c in Classification if c.sensitive} == SENSITIVE == {"phi", "genetic"}


@pytest.mark.parametrize("engine", ENGINES)
def test_the_rego_library_has_the_same_vocabulary_and_sensitive_set(engine: str) -> None:
    query = evaluator(engine).query
    assert sorted(query("data.phistack.lib.hipaa.classes", {})) == sorted(CLASSIFICATIONS)
    assert sorted(query("data.phistack.lib.hipaa.sensitive", {})) == sorted(SENSITIVE)


def _accepts(adapter: TypeAdapter[Any], value: str) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def _module_accepts(value: str) -> bool:
    try:
        check_choice("data_classification", value, DATA_CLASSIFICATIONS)
    except ValueError:
        return False
    return True


def _scope_accepts(value: str) -> bool:
    try:
        _scope({"phi": True, "classifications": [value]})
    except PolicyError:
        return False
    return True


CONSUMERS = {
    "modules": _module_accepts,
    "modules (type)": lambda v: _accepts(TypeAdapter(DataClassification), v),
    "stacks.spec": lambda v: _accepts(TypeAdapter(spec.Classification), v),
    "runtime.job": lambda v: _accepts(TypeAdapter(JobSpec.model_fields["classification"].annotation), v),
    "gate scope (evidence)": _scope_accepts,
}


@pytest.mark.parametrize("consumer", sorted(CONSUMERS))
def test_every_python_consumer_accepts_exactly_the_vocabulary(consumer: str) -> None:
    accepts = CONSUMERS[consumer]
    assert [v for v in CLASSIFICATIONS if not accepts(v)] == []
    assert [v for v in OUTSIDE if accepts(v)] == []


def test_the_stack_spec_fields_use_the_vocabulary() -> None:
    fields = [
        (model.__name__, name)
        for model in vars(spec).values()
        if isinstance(model, type) and issubclass(model, spec.BaseModel) and model is not spec.BaseModel
        for name, info in model.model_fields.items()
        if name == "data_classification"
    ]
    assert fields, "no data_classification field found in stacks.spec"
    for model_name, name in fields:
        annotation = getattr(spec, model_name).model_fields[name].annotation
        assert get_args(annotation) == CLASSIFICATIONS, (model_name, name)
