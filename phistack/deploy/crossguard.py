"""The phistack gate as a Pulumi CrossGuard policy pack: the same Rego, evaluated inside ``pulumi preview/up``.

CrossGuard hands a stack validation policy every resource of the stack as a ``PolicyResource``. This module
converts them into the Plan document (``phistack.plan/v1``, source ``preview``), evaluates the policy set
with :func:`phistack.gate.evaluate` and reports each finding as a violation: mandatory findings from the
mandatory policy, advisory and waived ones from the advisory policy.

Unknown values fail closed. During preview CrossGuard wraps properties in a proxy that raises
``UnknownValueError`` when a policy reads an unknown value, and the SDK turns that error into an *advisory*
diagnostic: a mandatory rule that touched an unknown would silently pass. Here the proxies are unwrapped
without reading through them, every CrossGuard unknown sentinel becomes ``{"__unknown__": true}`` in the
plan (with its path in ``unknowns``), and the rules — written to deny what they cannot decide — see it.
Anything that stops the gate from deciding (a policy error, a malformed plan) is a mandatory violation.

The plan exists only in memory here; CrossGuard hands stack validations plaintext secret values, and
they are not marked, so violation messages come from the rules (which name resources, not values).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    PolicyResource,
    ReportViolation,
    Secret,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import proxy as policy_proxy

from phistack.engine import load_policy_set
from phistack.errors import PhistackError
from phistack.findings import Decision, Enforcement, Finding, Status
from phistack.plan import plan_digest
from phistack.plan.document import PLAN_SCHEMA_VERSION, finalize_plan
from phistack.plan.values import SECRET, UNKNOWN_SENTINEL, normalize
from phistack.plan.view import Plan
from phistack.report.common import citation_text, refusal_text
from phistack.session import GateSettings, decide

MANDATORY_POLICY = "phistack-hipaa-mandatory"
ADVISORY_POLICY = "phistack-hipaa-advisory"
_STACK_TYPE = "pulumi:pulumi:Stack"
_HIPAA = PolicyComplianceFramework(
    name="HIPAA Security Rule",
    reference="https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C",
    specification="45 CFR Part 164 Subpart C",
)

# Every kind of unknown CrossGuard can hand over (one sentinel per value type).
_UNKNOWNS = frozenset(
    {
        policy_proxy.UNKNOWN_BOOLEAN_VALUE,
        policy_proxy.UNKNOWN_NUMBER_VALUE,
        policy_proxy.UNKNOWN_STRING_VALUE,
        policy_proxy.UNKNOWN_ARRAY_VALUE,
        policy_proxy.UNKNOWN_ASSET_VALUE,
        policy_proxy.UNKNOWN_ARCHIVE_VALUE,
        policy_proxy.UNKNOWN_OBJECT_VALUE,
    }
)


def unwrap(value: Any) -> Any:
    """Plain JSON-like data from CrossGuard props, without tripping the unknown-checking proxy.

    The proxies return their raw target for the key ``"__target"`` (the SDK's own escape hatch);
    unknown sentinels of any type become Pulumi's string unknown, which :func:`normalize` marks.
    """
    if isinstance(value, policy_proxy._DictProxy | policy_proxy._ListProxy):
        value = value["__target"]
    if isinstance(value, str):
        return UNKNOWN_SENTINEL if value in _UNKNOWNS else value
    if isinstance(value, Secret):
        return dict(SECRET)
    if isinstance(value, Mapping):
        return {str(key): unwrap(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [unwrap(item) for item in value]
    if isinstance(value, pulumi.Asset | pulumi.Archive):  # record where it comes from, not its content
        return {"__asset__": getattr(value, "path", None) or getattr(value, "uri", None) or "<inline>"}
    return value


def _split_urn(urn: str) -> tuple[str, str]:
    """``urn:pulumi:<stack>::<project>::...`` → (stack, project)."""
    parts = urn.removeprefix("urn:pulumi:").split("::")
    if not urn.startswith("urn:pulumi:") or len(parts) < 4:
        raise PhistackError(f"CrossGuard handed over a resource with a malformed URN: {urn!r}")
    return parts[0], parts[1]


def _is_custom(resource: PolicyResource) -> bool:
    # CrossGuard does not say custom/component; the engine attaches a provider to every custom resource.
    return resource.provider is not None or resource.resource_type.startswith("pulumi:providers:")


def plan_from_resources(resources: Sequence[PolicyResource]) -> Plan:
    """The Plan document of the stack CrossGuard is validating."""
    entries: list[dict[str, Any]] = []
    spec: Any = None
    for resource in resources:
        unknowns: list[str] = []
        inputs = normalize(unwrap(resource.props), "", unknowns)
        inputs = inputs if isinstance(inputs, dict) else {}
        parent = resource.parent.urn if resource.parent is not None else getattr(resource.opts, "parent", None)
        entries.append(
            {
                "urn": resource.urn,
                "type": resource.resource_type,
                "name": resource.name,
                "custom": _is_custom(resource),
                "parent": parent or None,
                "provider": resource.provider.urn if resource.provider is not None else None,
                "dependencies": [dep.urn for dep in resource.dependencies],
                "property_dependencies": {
                    key: [dep.urn for dep in deps] for key, deps in resource.property_dependencies.items()
                },
                "inputs": inputs,
                "unknowns": unknowns,
            }
        )
        if resource.resource_type == _STACK_TYPE and isinstance(inputs.get("spec"), dict):
            spec = inputs["spec"]  # the program exports its validated StackSpec as the stack output "spec"
    if not entries:
        raise PhistackError("CrossGuard handed over no resources")
    stack, project = _split_urn(entries[0]["urn"])
    document = {
        "schema_version": PLAN_SCHEMA_VERSION,
        "source": "preview",
        "project": project,
        "stack": stack,
        "spec": spec,
        "resources": entries,
    }
    return finalize_plan(document)


def finding_message(finding: Finding) -> str:
    """One violation line: rule id, severity, the rule's message, unknown paths, HIPAA citations, remedy."""
    message = finding.message if finding.message.startswith(finding.id) else f"{finding.id}: {finding.message}"
    parts = [f"[{finding.severity}] {message}"]
    if finding.unknown:
        parts.append(f"unknown until deployment, so it blocks: {', '.join(finding.unknown)}")
    if finding.status is Status.WAIVED and finding.waiver is not None:
        parts.append(f"waived by {finding.waiver['id']} until {finding.waiver['expires']}")
    elif finding.status is Status.WAIVER_EXPIRED and finding.waiver is not None:
        parts.append(f"waiver {finding.waiver['id']} expired {finding.waiver['expires']}")
    elif finding.status is Status.WAIVER_REFUSED and finding.waiver is not None:
        parts.append(f"waiver {finding.waiver['id']} {refusal_text(finding.waiver)}")
    if finding.citations:
        parts.append(f"HIPAA {citation_text(finding)}")
    if finding.remediation:
        parts.append(f"fix: {finding.remediation}")
    return " — ".join(parts)


class CrossGuardGate:
    """Evaluates the policy set once per distinct plan (both policies of the pack share the result)."""

    def __init__(
        self,
        policy_root: Path,
        project_root: Path | None = None,
        *,
        engine: str = "regorus",
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.policy_root = policy_root
        self.project_root = project_root
        self.engine = engine
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._settings_loaded: GateSettings | None = None
        self._cache: tuple[str, Decision] | None = None
        self._lock = threading.Lock()  # the analyzer serves requests from a thread pool

    def _settings(self) -> GateSettings:
        # Loaded on the first decision, not at import: a broken policy set must block as a violation.
        if self._settings_loaded is None:
            self._settings_loaded = GateSettings(
                project=self.project_root, policies=load_policy_set(self.policy_root), engine=self.engine
            )
        return self._settings_loaded

    def decide(self, resources: Sequence[PolicyResource]) -> Decision:
        """The gate's decision on ``resources``; raises :class:`PhistackError` when it cannot decide."""
        with self._lock:
            plan = plan_from_resources(resources)
            digest = plan_digest(plan)
            if self._cache is not None and self._cache[0] == digest:
                return self._cache[1]
            decision = decide(self._settings().at(self._clock()), plan)
            self._cache = (digest, decision)
            return decision

    def _decide_or_report(self, args: StackValidationArgs, report: ReportViolation) -> Decision | None:
        try:
            return self.decide(args.resources)
        except PhistackError as err:
            report(f"the phistack gate could not decide, so it blocks: {err.diagnostic()}", None)
        except policy_proxy.UnknownValueError as err:  # defensive: nothing above reads through the proxy
            report(f"the phistack gate met an unknown value, so it blocks: {err.message}", None)
        return None

    def validate_mandatory(self, args: StackValidationArgs, report: ReportViolation) -> None:
        """Report every blocking finding (mandatory, not waived); report gate failures as blocking too."""
        decision = self._decide_or_report(args, report)
        if decision is None:
            return
        urns = {resource.urn for resource in args.resources}
        for finding in decision.findings:
            if finding.blocks:
                report(finding_message(finding), finding.urn if finding.urn in urns else None)

    def validate_advisory(self, args: StackValidationArgs, report: ReportViolation) -> None:
        """Report advisory findings, and waived mandatory ones so that waivers stay visible."""
        try:
            decision = self.decide(args.resources)
        except (PhistackError, policy_proxy.UnknownValueError):
            return  # the mandatory policy reports it, and blocks
        urns = {resource.urn for resource in args.resources}
        for finding in decision.findings:
            if finding.enforcement is Enforcement.ADVISORY or not finding.blocks:
                report(finding_message(finding), finding.urn if finding.urn in urns else None)

    def policies(self) -> list[Policy]:
        """The pack's two stack validation policies: one mandatory, one advisory."""
        return [
            StackValidationPolicy(
                name=MANDATORY_POLICY,
                description="phistack HIPAA gate: mandatory Rego findings block the deployment (unknown values block)",
                validate=self.validate_mandatory,
                enforcement_level=EnforcementLevel.MANDATORY,
                severity=Severity.CRITICAL,
                framework=_HIPAA,
                remediation_steps="Fix the resource as the finding says, or file a waiver (docs/CONTRACTS.md).",
            ),
            StackValidationPolicy(
                name=ADVISORY_POLICY,
                description="phistack HIPAA gate: advisory and waived Rego findings, reported without blocking",
                validate=self.validate_advisory,
                enforcement_level=EnforcementLevel.ADVISORY,
                severity=Severity.LOW,
                framework=_HIPAA,
            ),
        ]
