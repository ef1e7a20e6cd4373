"""The plan document from all three sources: offline mock run, preview JSON, stack export."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from phistack.errors import InputError
from phistack.plan import dump_plan, load_plan, plan_digest, validate_plan
from phistack.plan.offline import plan_stack
from phistack.plan.pulumi_import import plan_from_preview, plan_from_state
from tests.support.paths import FIXTURES, MINI_PROJECT

PREVIEW = FIXTURES / "pulumi" / "preview.json"
STATE = FIXTURES / "pulumi" / "state.json"


@pytest.fixture(scope="module")
def dev_plan() -> dict:
    return plan_stack(MINI_PROJECT, "dev")


def by_name(plan: dict) -> dict[str, dict]:
    return {r["name"]: r for r in plan["resources"]}


def test_offline_plan_records_every_resource_with_its_graph(dev_plan: dict) -> None:
    resources = by_name(dev_plan)
    assert set(resources) == {"mini-dev", "box", "box-ns", "box-key", "box-tls", "box-app"}
    box, app = resources["box"], resources["box-app"]
    assert box["custom"] is False and box["type"] == "mini:test:Box"
    assert box["inputs"] == {"runtimeClass": "kata-qemu-nvidia-gpu-snp"}  # component props are visible
    assert app["custom"] is True and app["parent"] == box["urn"]
    assert resources["box"]["parent"] == resources["mini-dev"]["urn"]
    assert resources["box-tls"]["urn"] in app["dependencies"]  # depends_on
    assert app["property_dependencies"]["metadata"] == sorted([resources["box-ns"]["urn"], resources["box-key"]["urn"]])
    assert app["inputs"]["spec"]["replicas"] == 2 and isinstance(app["inputs"]["spec"]["replicas"], int)


def test_offline_plan_marks_unknowns_and_redacts_secrets(dev_plan: dict) -> None:
    resources = by_name(dev_plan)
    app = resources["box-app"]
    assert app["inputs"]["metadata"]["annotations"]["example.org/key-fingerprint"] == {"__unknown__": True}
    assert app["unknowns"] == ['metadata.annotations["example.org/key-fingerprint"]']
    assert resources["box-tls"]["inputs"]["stringData"] == {"__secret__": True}
    assert dev_plan["spec"]["token"] == {"__secret__": True}
    assert "v1:AAAA" not in dump_plan(dev_plan)


def test_offline_plan_is_deterministic(dev_plan: dict) -> None:
    again = plan_stack(MINI_PROJECT, "dev")
    assert dump_plan(again) == dump_plan(dev_plan)
    assert plan_digest(again) == plan_digest(dev_plan)


def test_unknown_component_input_is_marked() -> None:
    plan = plan_stack(MINI_PROJECT, "unknown")
    resources = by_name(plan)
    assert resources["box"]["inputs"]["runtimeClass"] == {"__unknown__": True}
    assert "spec.template.spec.runtimeClassName" in resources["box-app"]["unknowns"]


def test_every_offline_plan_validates_against_the_schema(dev_plan: dict) -> None:
    validate_plan(dev_plan)
    assert dev_plan["schema_version"] == "phistack.plan/v1" and dev_plan["source"] == "mock"


@pytest.mark.parametrize(
    ("stack", "message"),
    [
        ("nosuch", "unknown stack 'nosuch'"),
        ("broken", "Pulumi.broken.yaml:3: invalid YAML"),
        ("failing", "stack 'failing' failed: ValueError: replicas must be positive"),
    ],
)
def test_offline_plan_errors_name_the_file(stack: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.")):
        plan_stack(MINI_PROJECT, stack)


def test_preview_import_keeps_what_remains_after_the_deployment() -> None:
    plan = plan_from_preview(PREVIEW)
    resources = by_name(plan)
    assert plan["source"] == "preview" and plan["stack"] == "dev" and plan["project"] == "mini"
    assert set(resources) == {"mini-dev", "box", "box-ns", "box-app"}  # no delete step, no provider
    app = resources["box-app"]
    assert app["inputs"]["metadata"]["annotations"]["phistack.dev/broker-ca"] == {"__unknown__": True}
    assert app["unknowns"] == ['metadata.annotations["phistack.dev/broker-ca"]']
    assert app["provider"].startswith("urn:pulumi:dev::mini::pulumi:providers:kubernetes")
    assert plan["spec"]["token"] == {"__secret__": True}
    assert "s3cr3t" not in dump_plan(plan)


def test_state_import_redacts_secrets_and_skips_deleted() -> None:
    plan = plan_from_state(STATE)
    resources = by_name(plan)
    assert plan["source"] == "state" and plan["stack"] == "prod"
    assert set(resources) == {"mini-prod", "box", "box-tls"}
    assert resources["box-tls"]["inputs"]["stringData"] == {"__secret__": True}
    assert resources["box"]["inputs"] == {"runtimeClass": "runc"}
    assert "c2VjcmV0" not in dump_plan(plan)


def test_three_sources_agree_on_shape(dev_plan: dict) -> None:
    preview = plan_from_preview(PREVIEW)
    mock_app, preview_app = by_name(dev_plan)["box-app"], by_name(preview)["box-app"]
    assert set(mock_app) == set(preview_app)
    assert mock_app["urn"].split("::", 2)[2] == preview_app["urn"].split("::", 2)[2]
    assert mock_app["inputs"]["spec"] == preview_app["inputs"]["spec"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"plan\.json:1: malformed JSON"),
        ('{"schema_version": "phistack.plan/v0"}', "schema_version is 'phistack.plan/v0'"),
        ("[]", "must be a JSON object"),
        ('{"schema_version": NaN}', "malformed JSON in plan: NaN is not a JSON value"),
        ('{"a": -Infinity}', "malformed JSON in plan: -Infinity is not a JSON value"),
    ],
)
def test_load_plan_rejects_bad_documents(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_plan(path)


def test_load_plan_names_the_key_path_of_a_schema_violation(tmp_path: Path, dev_plan: dict) -> None:
    broken = json.loads(dump_plan(dev_plan))
    broken["resources"][2]["custom"] = "yes"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(InputError, match=r"\$\.resources\[2\]\.custom: 'yes' is not of type 'boolean'"):
        load_plan(path)


@pytest.mark.parametrize(
    ("loader", "content", "message"),
    [
        (plan_from_preview, '{"steps": "x"}', "not a `pulumi preview --json` document"),
        (plan_from_preview, '{"steps": [{"op": "create"}]}', r"steps\[0\]\.newState: missing"),
        (plan_from_state, '{"version": 2, "deployment": {"resources": []}}', "unsupported stack export version 2"),
        (plan_from_state, '{"version": 3}', "no deployment.resources"),
    ],
)
def test_importers_reject_wrong_shapes(tmp_path: Path, loader, content: str, message: str) -> None:
    path = tmp_path / "in.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        loader(path)


def test_canonical_text_is_the_standard_library_s_indented_sorted_json(dev_plan: dict) -> None:
    """The digest is documented as sha256 over sorted, two-space-indented JSON: the fast encoder must write
    exactly what json.dumps writes for a plan, non-ASCII text and large integers included."""
    plan = json.loads(dump_plan(dev_plan))
    plan["resources"][0]["inputs"]["note"] = {"text": "Zoë’s scan \u2028", "size": 2**63 - 1, "ratio": 0.25}
    expected = json.dumps(plan, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert dump_plan(plan) == expected
    assert plan_digest(plan) == "sha256:" + hashlib.sha256(expected.encode()).hexdigest()
    plan["resources"][0]["inputs"]["huge"] = 2**70  # beyond 64 bits: the standard encoder's text still
    assert dump_plan(plan) == json.dumps(plan, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
