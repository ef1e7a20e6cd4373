"""The gate: evaluate a plan against the policy set, enrich findings from METADATA, apply waivers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from phistack.engine import UNDEFINED, PolicySet, make_evaluator
from phistack.errors import PolicyError
from phistack.findings import SEVERITIES, Citation, Decision, Enforcement, Finding
from phistack.plan import plan_digest
from phistack.waivers import Waiver, apply_waivers

ENTRYPOINT = "data.phistack.main.result"


def gate_input(plan: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The engine's input: the plan and the evaluation time (rules need no time builtins)."""
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    return {"plan": plan, "now": now.isoformat().replace("+00:00", "Z"), "today": now.date().isoformat()}


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


def evaluate(
    plan: dict[str, Any],
    policies: PolicySet,
    *,
    engine: str = "regorus",
    now: dt.datetime | None = None,
    waivers: list[Waiver] | None = None,
    engine_options: dict[str, Any] | None = None,
) -> Decision:
    """Run the gate once. Engine failures and contract violations raise PolicyError (exit 3)."""
    now = now or dt.datetime.now(dt.UTC)
    rules = policies.rules_metadata()
    evaluator = make_evaluator(engine, policies, **(engine_options or {}))
    document = gate_input(plan, now)
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
    outcome = apply_waivers(findings, waivers or [], plan["stack"], dt.date.fromisoformat(document["today"]))
    return Decision(
        stack=plan["stack"],
        findings=findings,
        plan_digest=plan_digest(plan),
        policy_digest=policies.digest,
        engine=engine,
        evaluated_at=document["now"],
        rules=rules,
        waiver_notes=outcome.notes,
        waivers_applied=outcome.applied,
    )
