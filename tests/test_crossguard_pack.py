"""The CrossGuard policy pack (policies/pack): its validators called with constructed arguments.

Resources are built the way the pulumi-policy SDK builds them for a stack validation: properties
deserialized and wrapped in the SDK's unknown-checking proxy, parents and dependencies as
``PolicyResource`` objects. One test goes through the SDK's own analyzer servicer (``AnalyzeStack``) to
prove that an unknown value ends as a *mandatory* violation there, not the advisory diagnostic
CrossGuard gives a policy that reads an unknown.
"""

from __future__ import annotations

import datetime as dt
import json
import runpy
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    Secret,
    StackValidationArgs,
)
from pulumi_policy import policy as sdk_policy
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from phistack.deploy import crossguard
from phistack.deploy.crossguard import ADVISORY_POLICY, MANDATORY_POLICY, CrossGuardGate, plan_from_resources
from phistack.plan import validate_plan
from tests.support.paths import REPO, STARTER_POLICIES
from tests.support.waivers import policy_copy_with_test_approvers, sign_waivers

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
PREFIX = "urn:pulumi:dev::mini::"
STACK_URN = PREFIX + "pulumi:pulumi:Stack::mini-dev"
BOX_URN = PREFIX + "mini:test:Box::box"
NS_URN = PREFIX + "mini:test:Box$kubernetes:core/v1:Namespace::box-ns"
APP_URN = PREFIX + "mini:test:Box$kubernetes:apps/v1:Deployment::box-app"
K8S_URN = PREFIX + "pulumi:providers:kubernetes::default_4_34_2"


def _opts(parent: str | None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def _resource(
    type_: str,
    urn: str,
    props: dict[str, Any],
    *,
    parent: PolicyResource | None = None,
    custom: bool = True,
    deps: list[PolicyResource] | None = None,
) -> PolicyResource:
    """A PolicyResource as the SDK builds it: deserialized properties behind the unknown-checking proxy."""
    provider = PolicyProviderResource("pulumi:providers:kubernetes", {}, K8S_URN, "default_4_34_2") if custom else None
    wrapped = unknown_checking_proxy(deserialize_properties(props))
    return PolicyResource(
        type_,
        wrapped,
        urn,
        urn.split("::")[-1],
        _opts(parent.urn if parent else None),
        provider,
        parent,
        list(deps or []),
        {"metadata": list(deps or [])} if deps else {},
    )


def _deployment_props(runtime_class: Any, replicas: Any = 3) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"namespace": "clinical"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "box"}},
            "template": {
                "metadata": {"labels": {"app": "box"}},
                "spec": {"runtimeClassName": runtime_class, "containers": [{"name": "app", "image": "app@sha256:aa"}]},
            },
        },
    }


def stack_resources(runtime_class: Any = "kata-qemu-nvidia-gpu-snp", replicas: Any = 3) -> list[PolicyResource]:
    """A small stack: the root, a component, a restricted namespace and a Deployment that depends on it."""
    stack = _resource(
        "pulumi:pulumi:Stack", STACK_URN, {"spec": {"namespace": "clinical", "replicas": 3}}, custom=False
    )
    box = _resource("mini:test:Box", BOX_URN, {"runtimeClass": "kata-qemu-nvidia-gpu-snp"}, parent=stack, custom=False)
    labels = {"pod-security.kubernetes.io/enforce": "restricted"}
    namespace = _resource(
        "kubernetes:core/v1:Namespace", NS_URN, {"metadata": {"name": "clinical", "labels": labels}}, parent=box
    )
    app = _resource(
        "kubernetes:apps/v1:Deployment",
        APP_URN,
        _deployment_props(runtime_class, replicas),
        parent=box,
        deps=[namespace],
    )
    return [stack, box, namespace, app]


class Recorder:
    """A ``report_violation`` callback that keeps what it was given."""

    def __init__(self) -> None:
        self.violations: list[tuple[str, str | None]] = []

    def __call__(self, message: str, urn: str | None = None) -> None:
        self.violations.append((message, urn))


@pytest.fixture
def gate() -> CrossGuardGate:
    return CrossGuardGate(STARTER_POLICIES, None, clock=lambda: NOW)


def _validate(gate: CrossGuardGate, resources: list[PolicyResource]) -> tuple[Recorder, Recorder]:
    mandatory, advisory = Recorder(), Recorder()
    args = StackValidationArgs(resources)
    gate.validate_mandatory(args, mandatory)
    gate.validate_advisory(args, advisory)
    return mandatory, advisory


def test_compliant_stack_has_no_violations(gate: CrossGuardGate) -> None:
    mandatory, advisory = _validate(gate, stack_resources())
    assert mandatory.violations == []
    assert advisory.violations == []


def test_runc_phi_workload_is_a_mandatory_violation_naming_the_rule(gate: CrossGuardGate) -> None:
    mandatory, advisory = _validate(gate, stack_resources(runtime_class="runc", replicas=1))
    [(message, urn)] = mandatory.violations
    assert message.startswith("[critical] FIX-CC-001: box-app: runtime class runc is not confidential")
    assert "HIPAA 45 CFR 164.312(a)(2)(iv) (addressable)" in message
    assert "fix: Set runtimeClassName to a confidential runtime class." in message
    assert urn == APP_URN
    # The advisory finding goes to the advisory policy only.
    assert [(m.split(" — ")[0], u) for m, u in advisory.violations] == [
        ("[low] FIX-ADV-001: box-app runs 1 replica(s)", APP_URN)
    ]


def test_unknown_runtime_class_blocks_instead_of_passing(gate: CrossGuardGate) -> None:
    resources = stack_resources(runtime_class=UNKNOWN_STRING_VALUE)
    # Reading the value through CrossGuard's proxy raises: a policy doing that would fail open (advisory).
    with pytest.raises(UnknownValueError):
        _ = resources[3].props["spec"]["template"]["spec"]["runtimeClassName"]
    mandatory, _ = _validate(gate, resources)
    [(message, urn)] = mandatory.violations
    assert "FIX-CC-001: box-app: runtime class is unknown at plan time" in message
    assert "unknown until deployment, so it blocks: spec.template.spec.runtimeClassName" in message
    assert urn == APP_URN


def test_plan_from_crossguard_resources_marks_unknowns_and_keeps_the_graph() -> None:
    resources = stack_resources(replicas=UNKNOWN_NUMBER_VALUE)
    plan = plan_from_resources(resources)
    validate_plan(plan)
    assert (plan["source"], plan["project"], plan["stack"]) == ("preview", "mini", "dev")
    assert plan["spec"] == {"namespace": "clinical", "replicas": 3}
    by_urn = {r["urn"]: r for r in plan["resources"]}
    app = by_urn[APP_URN]
    assert app["inputs"]["spec"]["replicas"] == {"__unknown__": True}
    assert app["unknowns"] == ["spec.replicas"]
    assert (app["custom"], app["parent"], app["provider"]) == (True, BOX_URN, K8S_URN)
    assert app["dependencies"] == [NS_URN] and app["property_dependencies"] == {"metadata": [NS_URN]}
    assert (by_urn[BOX_URN]["custom"], by_urn[STACK_URN]["custom"]) == (False, False)


def test_secrets_become_markers() -> None:
    secret_ns = PolicyResource(
        "kubernetes:core/v1:Secret",
        {"stringData": {"token": Secret("s3cr3t")}},
        PREFIX + "kubernetes:core/v1:Secret::tok",
        "tok",
        _opts(None),
        PolicyProviderResource("pulumi:providers:kubernetes", {}, K8S_URN, "default"),
        None,
        [],
        {},
    )
    plan = plan_from_resources([secret_ns])
    assert plan["resources"][0]["inputs"] == {"stringData": {"token": {"__secret__": True}}}
    assert "s3cr3t" not in json.dumps(plan)


def test_both_policies_share_one_evaluation(gate: CrossGuardGate, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = crossguard.decide

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append("decide")
        return real(*args, **kwargs)

    monkeypatch.setattr(crossguard, "decide", counting)
    # CrossGuard builds fresh PolicyResource objects for each policy: the cache is keyed on the plan.
    gate.validate_mandatory(StackValidationArgs(stack_resources("runc")), Recorder())
    gate.validate_advisory(StackValidationArgs(stack_resources("runc")), Recorder())
    assert calls == ["decide"]


def test_a_broken_policy_set_blocks(tmp_path: Path) -> None:
    (tmp_path / "main.rego").write_text("package phistack.main\n\nresult := {\n")
    gate = CrossGuardGate(tmp_path, None, clock=lambda: NOW)
    mandatory, advisory = _validate(gate, stack_resources())
    [(message, urn)] = mandatory.violations
    assert message.startswith("the phistack gate could not decide, so it blocks:")
    assert urn is None
    assert advisory.violations == []


def test_a_waived_finding_stays_visible_as_advisory(tmp_path: Path) -> None:
    waivers = tmp_path / "stacks" / "waivers"
    waivers.mkdir(parents=True)
    (waivers / "dev.yaml").write_text(
        textwrap.dedent(
            """\
            waivers:
              - id: WVR-2026-001
                rule: FIX-CC-001
                stack: dev
                resource: "urn:pulumi:dev::mini::*box-app"
                justification: Migration window for the confidential node pool.
                approver: ciso@example-hospital.org
                compensating_control: Synthetic data only until the pool is ready.
                expires: 2026-12-15
            """
        )
    )
    sign_waivers(waivers / "dev.yaml")
    policies = policy_copy_with_test_approvers(STARTER_POLICIES, tmp_path)
    gate = CrossGuardGate(policies, tmp_path, clock=lambda: NOW)
    mandatory, advisory = _validate(gate, stack_resources("runc"))
    assert mandatory.violations == []
    [(message, urn)] = advisory.violations
    assert "FIX-CC-001" in message and "waived by WVR-2026-001 until 2026-12-15" in message
    assert urn == APP_URN


def test_a_refused_waiver_blocks_and_says_why(tmp_path: Path) -> None:
    """An unsigned waiver waives nothing in the pack either: the violation names it and the reason."""
    waivers = tmp_path / "stacks" / "waivers"
    waivers.mkdir(parents=True)
    (waivers / "dev.yaml").write_text(
        "waivers:\n  - id: WVR-2026-002\n    rule: FIX-CC-001\n    stack: dev\n    resource: '*box-app'\n"
        "    justification: Migration window for the pool.\n    approver: ciso@example-hospital.org\n"
        "    compensating_control: Synthetic data only.\n    expires: 2026-12-15\n"
    )
    gate = CrossGuardGate(policy_copy_with_test_approvers(STARTER_POLICIES, tmp_path), tmp_path, clock=lambda: NOW)
    mandatory, _ = _validate(gate, stack_resources("runc"))
    [(message, urn)] = mandatory.violations
    assert "waiver WVR-2026-002 refused: unsigned" in message and urn == APP_URN


def _analyzer_resource(resource: PolicyResource) -> Any:
    properties = struct_pb2.Struct()
    properties.update(_plain(resource.props))
    request = proto.AnalyzerResource(
        type=resource.resource_type,
        properties=properties,
        urn=resource.urn,
        name=resource.name,
        parent=resource.parent.urn if resource.parent else "",
        dependencies=[dep.urn for dep in resource.dependencies],
    )
    if resource.provider is not None:
        request.provider.CopyFrom(
            proto.AnalyzerProviderResource(type=resource.provider.resource_type, urn=resource.provider.urn, name="p")
        )
    return request


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(crossguard.unwrap(value)))


def test_through_the_sdk_analyzer_an_unknown_is_a_mandatory_violation(gate: CrossGuardGate) -> None:
    servicer = sdk_policy._PolicyAnalyzerServicer("phistack-hipaa", "0.1.0", gate.policies(), EnforcementLevel.ADVISORY)
    request = proto.AnalyzeStackRequest(
        resources=[_analyzer_resource(r) for r in stack_resources(UNKNOWN_STRING_VALUE, replicas=1)]
    )
    response = servicer.AnalyzeStack(request, None)
    diagnostics = [json_format.MessageToDict(d) for d in response.diagnostics]
    by_policy: dict[str, list[dict[str, Any]]] = {}
    for diagnostic in diagnostics:
        by_policy.setdefault(diagnostic["policyName"], []).append(diagnostic)
    [blocking] = by_policy[MANDATORY_POLICY]
    assert blocking["enforcementLevel"] == "MANDATORY"
    assert "FIX-CC-001" in blocking["message"] and "unknown" in blocking["message"]
    assert blocking["urn"] == APP_URN
    [advisory] = by_policy[ADVISORY_POLICY]
    assert "enforcementLevel" not in advisory or advisory["enforcementLevel"] == "ADVISORY"
    assert "FIX-ADV-001" in advisory["message"]


def test_pack_main_builds_a_mandatory_and_an_advisory_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[str, Any] = {}

    def fake_pack(**kwargs: Any) -> None:  # the real PolicyPack starts a gRPC server and never returns
        built.update(kwargs)

    monkeypatch.setattr("pulumi_policy.PolicyPack", fake_pack)
    monkeypatch.setenv("PHISTACK_POLICIES", str(STARTER_POLICIES))
    namespace = runpy.run_path(str(REPO / "policies" / "pack" / "__main__.py"), run_name="__main__")
    assert built["name"] == "phistack-hipaa"
    levels = {policy.name: policy.enforcement_level for policy in built["policies"]}
    assert levels == {MANDATORY_POLICY: EnforcementLevel.MANDATORY, ADVISORY_POLICY: EnforcementLevel.ADVISORY}
    pack_gate: CrossGuardGate = namespace["gate"]
    assert pack_gate.policy_root == STARTER_POLICIES and pack_gate.project_root == REPO
    check: Callable[[StackValidationArgs, Any], None] = built["policies"][0].validate
    recorder = Recorder()
    check(StackValidationArgs(stack_resources("runc")), recorder)
    assert "FIX-CC-001" in recorder.violations[0][0]
