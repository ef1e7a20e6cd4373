"""The compiled precheck says yes only where jsonschema does; every verdict and message stays jsonschema's."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from phistack.render import KUBERNETES_VERSION, validate_manifest
from phistack.render.precheck import compile_schema
from phistack.render.validate import ManifestError, _core_validator

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "w0", "namespace": "team", "labels": {"app.kubernetes.io/name": "w0"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "w0"}},
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": "w0"}},
            "spec": {
                "automountServiceAccountToken": False,
                "containers": [
                    {
                        "name": "runtime",
                        "image": "registry.example.org/runtime@sha256:" + "ab" * 32,
                        "args": [],
                        "env": [{"name": "A", "value": "b"}],
                        "ports": [{"containerPort": 8443, "name": "https", "protocol": "TCP"}],
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8443, "scheme": "HTTPS"}},
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "https"}},
                        "resources": {"limits": {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": 1}},
                        "securityContext": {"capabilities": {"drop": ["ALL"]}, "runAsUser": 65532},
                    }
                ],
                "tolerations": [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}],
            },
        },
    },
}


def jsonschema_errors(body: dict[str, Any]) -> list[str]:
    kind = _core_validator(KUBERNETES_VERSION, body["apiVersion"], body["kind"])
    return [error.message for error in kind.validator.iter_errors(body)]


def test_a_valid_object_is_accepted_by_the_precheck_alone() -> None:
    kind = _core_validator(KUBERNETES_VERSION, "apps/v1", "Deployment")
    assert kind.accepts(DEPLOYMENT)
    assert jsonschema_errors(DEPLOYMENT) == []
    assert validate_manifest(DEPLOYMENT) == "core"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("spec", "template", "spec", "containers", 0, "securityContex"), {}, "securityContex"),
        (("spec", "replicas"), "1", "'1' is not of type 'integer', 'null'"),
        (("spec", "replicas"), True, "True is not of type 'integer', 'null'"),
        (("spec", "template", "spec", "containers", 0, "ports", 0, "protocol"), 6, "6 is not of type 'string'"),
        (("spec", "template", "spec", "containers", 0, "livenessProbe", "httpGet", "port"), 1.5, "1.5 is not valid"),
        (("spec", "template", "spec", "containers", 0, "livenessProbe", "httpGet", "port"), None, "None is valid"),
        (("spec", "template", "spec", "tolerations", 0, "tolerationSeconds"), "60", "'60' is not of type"),
        (("metadata", "labelz"), {}, "labelz"),
    ],
)
def test_a_cached_kind_still_rejects_with_jsonschemas_message(path: tuple[Any, ...], value: Any, message: str) -> None:
    validate_manifest(DEPLOYMENT)  # the kind's validator and precheck are built and cached
    body = copy.deepcopy(DEPLOYMENT)
    parent: Any = body
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    kind = _core_validator(KUBERNETES_VERSION, "apps/v1", "Deployment")
    assert not kind.accepts(body)
    errors = jsonschema_errors(body)
    assert errors and message in errors[0]
    with pytest.raises(ManifestError) as caught:
        validate_manifest(body)
    assert errors[0] in str(caught.value)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


VALUES: list[Any] = [None, True, False, 0, 1, -1, 1.0, 1.5, "", "x", "TCP", "1", [], {}, ["x"], {"x": 1}, [{"a": 1}]]


def test_random_mutations_are_never_accepted_where_jsonschema_rejects() -> None:
    rng = random.Random(20261202)
    rejected = accepted = 0
    for _ in range(300):
        body = copy.deepcopy(DEPLOYMENT)
        for _ in range(rng.randint(1, 3)):
            path = rng.choice([p for p in _paths(body) if len(p) > 2])
            parent: Any = body
            for key in path[:-1]:
                parent = parent[key]
            roll = rng.random()
            if roll < 0.6:
                parent[path[-1]] = copy.deepcopy(rng.choice(VALUES))
            elif isinstance(parent, dict):
                if roll < 0.8:
                    del parent[path[-1]]
                else:
                    parent[rng.choice(["bogus", "name", "port", "value"])] = copy.deepcopy(rng.choice(VALUES))
        errors = jsonschema_errors(body)
        if _core_validator(KUBERNETES_VERSION, "apps/v1", "Deployment").accepts(body):
            assert errors == [], body
            accepted += 1
        else:
            rejected += 1
    assert accepted > 20 and rejected > 20


def _check(schema: dict[str, Any], **kwargs: Any) -> Any:
    draft = "https://json-schema.org/draft/2020-12/schema"
    resource: Resource[Any] = Resource.from_contents({"$schema": draft, **schema})
    registry: Registry[Any] = resource @ Registry()
    validator = jsonschema.Draft202012Validator(resource.contents, registry=registry, **kwargs)
    return compile_schema(validator, registry.resolver_with_root(resource)), validator


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"$id": "urn:t", "type": "string", "minLength": 2}, "ab"),  # a keyword it does not compile
        ({"$id": "urn:t", "enum": [1, 2]}, 1),  # enum of non-strings: jsonschema's own equality
        ({"$id": "urn:t", "properties": {"a": {"$ref": "#/$defs/missing"}}}, {"b": 1}),  # unresolvable
        (  # oneOf needs a sure no from every other branch; a $ref is not sure
            {"$id": "urn:t", "oneOf": [{"$ref": "#/$defs/s"}, {"type": "integer"}], "$defs": {"s": {"type": "string"}}},
            1,
        ),
        ({"$id": "urn:t", "properties": {"a": {"$id": "urn:u", "type": "string"}}}, {"a": "x"}),  # nested $id
    ],
)
def test_what_it_does_not_mirror_is_left_to_jsonschema(schema: dict[str, Any], instance: Any) -> None:
    check, validator = _check(schema)
    assert not check(instance)
    assert validator.is_valid(instance)  # the caller asks jsonschema, which accepts it


def test_format_is_left_to_jsonschema_when_a_format_checker_is_set() -> None:
    schema = {"$id": "urn:t", "type": "string", "format": "ipv4"}
    plain, _ = _check(schema)
    assert plain("not an address")  # format is an annotation without a checker, as in jsonschema
    checked, validator = _check(schema, format_checker=jsonschema.FormatChecker())
    assert not checked("10.0.0.1") and validator.is_valid("10.0.0.1")


def test_recursive_references_compile() -> None:
    schema = {
        "$id": "urn:t",
        "$ref": "#/$defs/node",
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                "additionalProperties": False,
            }
        },
    }
    check, validator = _check(schema)
    good = {"children": [{"children": []}, {}]}
    bad = {"children": [{"children": [{"x": 1}]}]}
    assert check(good) and validator.is_valid(good)
    assert not check(bad) and not validator.is_valid(bad)
