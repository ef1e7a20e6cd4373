"""Generate docs/POLICIES.md, the HIPAA control matrix, from the rules' METADATA.

The matrix maps each HIPAA requirement (a CFR citation) to the rule ids that enforce it and what
each checks; a second section lists every rule in full. Everything between the generated markers
is rewritten; anything after the end marker (for example "Requests to modules") is kept, so notes
written by hand survive regeneration. ``phistack policy docs [--check]`` runs it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from phistack.engine import load_policy_set
from runtime.fileio import write_atomic

BEGIN = "<!-- BEGIN GENERATED: phistack policy docs -->"
END = "<!-- END GENERATED -->"

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _cfr_key(cfr: str) -> tuple[Any, ...]:
    """Sort "45 CFR 164.308(a)(1)(ii)(B)" by title, section, then paragraph parts (numbers as numbers)."""
    parts = re.findall(r"\d+|[a-z]+|[A-Z]+|[ivx]+", cfr)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def _one_line(text: Any) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def render(policies_root: Path) -> str:
    """The generated block (markers included) for the policies under ``policies_root``."""
    rules = load_policy_set(policies_root).rules_metadata()
    lines = [
        BEGIN,
        "<!-- Generated from the METADATA of every rule under policies/ by `phistack policy docs`;",
        "     edit the rules, not this block. tests/test_policies_docs.py fails when it is stale. -->",
        "",
        "# HIPAA policy library",
        "",
        "Every deploy-time rule lives in `policies/hipaa/<area>/<rule-id>/`, in package",
        "`phistack.rules.<area>.<rule_id>` (dashes as underscores), with its tests beside it in `<package>_test`. A",
        "mandatory rule denies the deployment (`deny`); an advisory rule warns (`warn`). Rules fail closed:",
        "a missing field denies, and a value unknown at plan time denies with the unknown path listed.",
        "Run the Rego tests with `phistack policy test [--engine regorus|regopy]`.",
        "",
        "## Control matrix",
        "",
        "| HIPAA requirement | type | rule ids | what is checked |",
        "|---|---|---|---|",
    ]
    by_cfr: dict[str, dict[str, Any]] = {}
    for rule_id, meta in rules.items():
        for citation in (meta.get("custom") or {}).get("citations") or []:
            entry = by_cfr.setdefault(
                citation["cfr"], {"title": citation.get("title", ""), "type": citation.get("type", ""), "rules": []}
            )
            entry["rules"].append(rule_id)
    for cfr in sorted(by_cfr, key=_cfr_key):
        entry = by_cfr[cfr]
        ids = sorted(entry["rules"])
        checks = "<br>".join(f"{rule_id}: {_one_line(rules[rule_id].get('title'))}" for rule_id in ids)
        lines.append(
            f"| {cfr} {_one_line(entry['title'])} | {entry['type']} | {', '.join(ids)} | {checks} |"
        )
    lines += ["", "## Rules", ""]
    lines += ["| id | severity | enforcement | title |", "|---|---|---|---|"]
    ordered = sorted(rules)
    for rule_id in ordered:
        custom = rules[rule_id].get("custom") or {}
        lines.append(
            f"| [{rule_id}](#{rule_id.lower()}) | {custom.get('severity', '')} | "
            f"{custom.get('enforcement', 'mandatory')} | {_one_line(rules[rule_id].get('title'))} |"
        )
    for rule_id in ordered:
        meta = rules[rule_id]
        custom = meta.get("custom") or {}
        lines += [
            "",
            f"### {rule_id}",
            "",
            f"**{_one_line(meta.get('title'))}** — {custom.get('severity', '')}, "
            f"{custom.get('enforcement', 'mandatory')}{', unwaivable' if custom.get('unwaivable') is True else ''}; "
            f"`{meta['path']}`",
            "",
            _one_line(meta.get("description")),
            "",
            "Citations: "
            + "; ".join(
                f"{c['cfr']} {c.get('title', '')} ({c.get('type', '')})" for c in custom.get("citations") or []
            )
            + ".",
            "",
            f"Remediation: {_one_line(custom.get('remediation'))}",
        ]
        for resource in meta.get("related_resources") or []:
            ref = resource.get("ref", "") if isinstance(resource, dict) else str(resource)
            text = resource.get("description", "") if isinstance(resource, dict) else ""
            lines.append(f"\n> {_one_line(text)} ([source]({ref}))")
    lines += ["", END]
    return "\n".join(lines) + "\n"


def _tail(existing: str) -> str:
    """Whatever follows the generated block in an existing file (hand-written notes)."""
    index = existing.find(END)
    return existing[index + len(END) :].lstrip("\n") if index >= 0 else ""


def build(policies_root: Path, output: Path) -> str:
    """The full file text: the generated block followed by the preserved hand-written tail."""
    existing = output.read_text(encoding="utf-8") if output.exists() else ""
    tail = _tail(existing)
    text = render(policies_root)
    return text + ("\n" + tail if tail else "")


def check_file(policies_root: Path, output: Path) -> bool:
    """True when ``output`` holds exactly what generation would write."""
    if not output.exists():
        return False
    return output.read_text(encoding="utf-8") == build(policies_root, output)


def write_file(policies_root: Path, output: Path) -> None:
    """Regenerate ``output`` atomically."""
    write_atomic(output, build(policies_root, output))
