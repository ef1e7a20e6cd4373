"""The gate: evaluate a plan against the policy set, enrich findings from METADATA, apply waivers."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from phistack.engine import UNDEFINED, PolicySet, make_evaluator
from phistack.errors import PolicyError
from phistack.findings import SEVERITIES, Citation, Coverage, Decision, Enforcement, Finding, Scope, holds_no_data
from phistack.plan.view import Plan
from runtime.classification import CLASSIFICATIONS, SENSITIVE

if TYPE_CHECKING:
    from phistack.approvers import Approvers
    from phistack.waivers import Waiver

ENTRYPOINT = "data.phistack.main.result"


def gate_input(
    plan: Mapping[str, Any], now: dt.datetime, deid: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The engine's input: the plan, the evaluation time (rules need no time builtins) and the verified
    de-identification manifests of its datasets (``deid``, phistack/deid/facts.py). ``deid`` sits beside
    ``plan``, not in it, so no plan can claim a manifest was verified."""
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    return {
        "plan": plan,
        "now": now.isoformat().replace("+00:00", "Z"),
        "today": now.date().isoformat(),
        "deid": dict(deid or {}),
    }


def _citations(raw: Any, rule_id: str) -> list[Citation]:
    citations = []
    for item in raw or []:
        if isinstance(item, str):
            citations.append(Citation(cfr=item))
        elif isinstance(item, dict) and isinstance(item.get("cfr"), str):
            citations.append(
                Citation(cfr=item["cfr"], title=str(item.get("title", "")), type=str(item.get("type", "")))
            )
        else:
            raise PolicyError(f"rule {rule_id}: METADATA custom.citations entries need a cfr")
    return citations


def _to_finding(raw: Any, enforcement: Enforcement, rules: dict[str, dict[str, Any]]) -> Finding:
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("id", "urn", "msg")):
        raise PolicyError(f"a rule produced a malformed finding (needs string id, urn, msg): {raw!r}")
    meta = rules.get(raw["id"])
    if meta is None:
        raise PolicyError(f"finding {raw['id']} has no rule METADATA with custom.id {raw['id']}")
    custom = meta.get("custom") or {}
    severity = str(custom.get("severity", ""))
    if severity not in SEVERITIES:
        raise PolicyError(f"{meta['path']}: rule {raw['id']}: severity must be one of {', '.join(SEVERITIES)}")
    unknown = raw.get("unknown") or []
    if not isinstance(unknown, list) or not all(isinstance(p, str) for p in unknown):
        raise PolicyError(f"finding {raw['id']}: unknown must be a list of paths")
    return Finding(
        id=raw["id"],
        title=str(meta.get("title", raw["id"])),
        severity=severity,
        enforcement=enforcement,
        urn=raw["urn"],
        message=raw["msg"],
        citations=_citations(custom.get("citations"), raw["id"]),
        remediation=str(custom.get("remediation", "")),
        unknown=sorted(unknown),
    )


def _count(raw: Any, key: str) -> int:
    value = raw.get(key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an engine may hand a JSON number back as a float
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PolicyError(f"{ENTRYPOINT}.coverage.{key} must be a non-negative integer, got {value!r}")
    return value


def _coverage(raw: Any, plan: Plan) -> Coverage:
    """The policy set's statement of how much of the plan its rules understand, checked against the plan.

    Missing, malformed or inconsistent with the plan is a policy error (exit 3): a report must never
    claim more coverage than the rules have, nor stay silent about it."""
    where = f"{ENTRYPOINT}.coverage"
    if not isinstance(raw, dict):
        raise PolicyError(
            f"{where} is missing or not an object: policies/main.rego must say how much of the plan the rules "
            "understand ({resources, in_scope, unknown_types})"
        )
    resources, in_scope = _count(raw, "resources"), _count(raw, "in_scope")
    unknown = raw.get("unknown_types")
    if not isinstance(unknown, list) or not all(isinstance(t, str) for t in unknown):
        raise PolicyError(f"{where}.unknown_types must be a list of resource type strings, got {unknown!r}")
    if unknown != sorted(set(unknown)):
        raise PolicyError(f"{where}.unknown_types must be sorted and distinct")
    counts = Counter(resource.type for resource in plan.resources)
    if resources != len(plan.resources):
        raise PolicyError(f"{where}.resources is {resources}, but the plan has {len(plan.resources)} resources")
    absent = [t for t in unknown if t not in counts]
    if absent:
        raise PolicyError(f"{where}.unknown_types names types the plan does not have: {', '.join(absent)}")
    outside = sum(counts[t] for t in unknown)
    if in_scope + outside != resources:
        raise PolicyError(
            f"{where} does not add up: {in_scope} in scope and {outside} of types no rule understands, "
            f"but {resources} resources"
        )
    inert = sum(n for t, n in counts.items() if t not in unknown and holds_no_data(t))
    return Coverage(resources, in_scope, tuple(unknown), {t: counts[t] for t in unknown}, inert)


def _scope(raw: Any) -> Scope:
    """The policy set's HIPAA scope decision. Missing or malformed is a policy error (exit 3): evidence must
    never guess whether a plan handles PHI."""
    where = f"{ENTRYPOINT}.scope"
    if not isinstance(raw, dict):
        raise PolicyError(
            f"{where} is missing or not an object: policies/main.rego must say whether the plan is in HIPAA "
            "scope ({phi, classifications})"
        )
    phi = raw.get("phi")
    if not isinstance(phi, bool):
        raise PolicyError(f"{where}.phi must be a boolean, got {phi!r}")
    classes = raw.get("classifications")
    if not isinstance(classes, list) or not all(isinstance(c, str) and c in CLASSIFICATIONS for c in classes):
        raise PolicyError(f"{where}.classifications must be a list of {', '.join(CLASSIFICATIONS)}, got {classes!r}")
    if classes != sorted(set(classes)):
        raise PolicyError(f"{where}.classifications must be sorted and distinct")
    if not phi and SENSITIVE.intersection(classes):
        raise PolicyError(f"{where} does not add up: the plan declares {', '.join(classes)} data but phi is false")
    return Scope(phi, tuple(classes))


def _checked_approvers(waivers: list[Waiver], rules: Mapping[str, Mapping[str, Any]], policies: PolicySet) -> Approvers:
    """Check ``waivers`` against the policy set and read who may approve them, before anything is evaluated.
    Only called when there are waivers: otherwise the waiver models and the approver list are not loaded
    (together a third of a small plan's check)."""
    from phistack.approvers import load_approvers
    from phistack.waivers import check_distinct_ids, check_rules_exist

    # A waiver naming a rule the policy set lacks is bad input before anything is evaluated.
    check_rules_exist(waivers, rules)
    check_distinct_ids(waivers)
    # Who may approve is policy data: read (and validated) before anything is evaluated.
    return load_approvers(policies)


def evaluate(
    plan: Mapping[str, Any],
    policies: PolicySet,
    *,
    engine: str = "regorus",
    now: dt.datetime | None = None,
    waivers: list[Waiver] | None = None,
    engine_options: dict[str, Any] | None = None,
    deid: Mapping[str, Mapping[str, Any]] | None = None,
) -> Decision:
    """Run the gate once. Engine failures and contract violations raise PolicyError (exit 3); a plan that
    is not yet a :class:`Plan` is validated first (InputError, exit 2). ``deid`` is ``input.deid``: without
    it no dataset counts as de-identified."""
    plan = Plan.validated(plan)
    now = now or dt.datetime.now(dt.UTC)
    rules = policies.rules_metadata()
    approvers = _checked_approvers(waivers, rules, policies) if waivers else None
    evaluator = make_evaluator(engine, policies, **(engine_options or {}))
    document = gate_input(plan, now, deid)
    result = evaluator.query(ENTRYPOINT, document)
    if result is UNDEFINED or not isinstance(result, dict):
        raise PolicyError(f"{ENTRYPOINT} is undefined: is policies/main.rego present and valid?")
    findings: list[Finding] = []
    for key, enforcement in (("deny", Enforcement.MANDATORY), ("warn", Enforcement.ADVISORY)):
        raw = result.get(key)
        if not isinstance(raw, list):
            raise PolicyError(f"{ENTRYPOINT}.{key} must be a set of findings")
        findings.extend(_to_finding(item, enforcement, rules) for item in raw)
    findings.sort(key=Finding.sort_key)
    coverage = _coverage(result.get("coverage"), plan)
    today = dt.date.fromisoformat(document["today"])
    outcome = None
    if waivers:
        from phistack.waivers import apply_waivers

        outcome = apply_waivers(findings, waivers, plan.stack, today, rules=rules, approvers=approvers)
    return Decision(
        stack=plan.stack,
        findings=findings,
        plan_digest=plan.digest,
        policy_digest=policies.digest,
        engine=engine,
        evaluated_at=document["now"],
        rules=rules,
        coverage=coverage,
        scope=_scope(result.get("scope")),
        waiver_notes=outcome.notes if outcome else [],
        waivers_applied=outcome.applied if outcome else [],
        waivers_refused=outcome.refused if outcome else [],
    )
