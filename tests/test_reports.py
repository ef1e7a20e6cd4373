"""Every report format: mapped, well-formed, and carrying findings, waivers and digests."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from phistack.engine import load_policy_set
from phistack.findings import Decision
from phistack.gate import evaluate
from phistack.plan.offline import plan_stack
from phistack.report import Format, ReportContext, formatter_for
from phistack.waivers import load_waivers
from tests.support.paths import MINI_PROJECT, SARIF_SCHEMA, STARTER_POLICIES

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
CONTEXT = ReportContext("stacks/Pulumi.runc.yaml", "0.1.0")


@pytest.fixture(scope="module")
def decisions(tmp_path_factory) -> dict[str, Decision]:
    policies = load_policy_set(STARTER_POLICIES)
    waiver = tmp_path_factory.mktemp("w") / "waivers.yaml"
    waiver.write_text(
        "waivers:\n  - id: WVR-7\n    rule: FIX-ADV-001\n    stack: runc\n    resource: '*'\n"
        "    justification: Single replica accepted during the pilot.\n    approver: cmo@example.org\n"
        "    compensating_control: Pager alert on restart within five minutes.\n    expires: 2027-01-10\n"
    )
    runc = plan_stack(MINI_PROJECT, "runc")
    return {
        "denied": evaluate(runc, policies, now=NOW, waivers=load_waivers(waiver, NOW.date())),
        "allowed": evaluate(plan_stack(MINI_PROJECT, "dev"), policies, now=NOW),
    }


def test_every_format_has_a_formatter(decisions) -> None:
    for fmt in Format:
        assert formatter_for(fmt)(decisions["denied"], CONTEXT).strip()


def test_text_table_and_verdict(decisions) -> None:
    text = formatter_for(Format.TEXT)(decisions["denied"], CONTEXT)
    assert "RULE" in text and "SEVERITY" in text and "HIPAA" in text
    assert "FIX-CC-001" in text and "Deployment box-app" in text and "45 CFR 164.312(a)(2)(iv)" in text
    assert "[waived: WVR-7, expires 2027-01-10] FIX-ADV-001 on Deployment box-app; approved by cmo@example.org" in text
    assert text.rstrip().splitlines()[-1].startswith("DENIED: 1 blocking, 1 advisory, 1 waived")
    allowed = formatter_for(Format.TEXT)(decisions["allowed"], CONTEXT)
    assert allowed.rstrip().splitlines()[-1].startswith("ALLOWED:")


def test_json_is_traceable(decisions) -> None:
    doc = json.loads(formatter_for(Format.JSON)(decisions["denied"], CONTEXT))
    assert doc["decision"] == "denied" and doc["stack"] == "runc"
    assert doc["plan_digest"] == decisions["denied"].plan_digest
    assert doc["policy_digest"].startswith("sha256:")
    ids = {(f["id"], f["status"]) for f in doc["findings"]}
    assert ids == {("FIX-CC-001", "open"), ("FIX-ADV-001", "waived")}
    assert doc["waivers_applied"][0]["id"] == "WVR-7"


def test_sarif_is_valid_against_the_official_schema(decisions) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text())
    for decision in decisions.values():
        log = json.loads(formatter_for(Format.SARIF)(decision, CONTEXT))
        jsonschema.Draft4Validator(schema).validate(log)


def test_sarif_has_rule_metadata_and_suppressions(decisions) -> None:
    run = json.loads(formatter_for(Format.SARIF)(decisions["denied"], CONTEXT))["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert set(rules) == {"FIX-ADV-001", "FIX-CC-001", "FIX-NS-001"}
    assert rules["FIX-CC-001"]["properties"]["security-severity"] == "9.5"
    assert "45 CFR 164.312(a)(2)(iv)" in rules["FIX-CC-001"]["properties"]["tags"]
    assert str(rules["FIX-CC-001"]["helpUri"]).startswith("https://www.ecfr.gov/")
    results = {r["ruleId"]: r for r in run["results"]}
    assert results["FIX-CC-001"]["level"] == "error" and "suppressions" not in results["FIX-CC-001"]
    assert run["tool"]["driver"]["rules"][results["FIX-CC-001"]["ruleIndex"]]["id"] == "FIX-CC-001"
    [suppression] = results["FIX-ADV-001"]["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert "cmo@example.org" in suppression["justification"]
    location = results["FIX-CC-001"]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "stacks/Pulumi.runc.yaml"
    assert location["logicalLocations"][0]["fullyQualifiedName"].endswith("::box-app")


def test_junit_has_one_case_per_rule_and_failures(decisions) -> None:
    root = ET.fromstring(formatter_for(Format.JUNIT)(decisions["denied"], CONTEXT))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "1"
    cases = {case.get("name", "").split()[0]: case for case in suite.iter("testcase")}
    assert set(cases) == {"FIX-ADV-001", "FIX-CC-001", "FIX-NS-001"}
    failure = cases["FIX-CC-001"].find("failure")
    assert failure is not None and "runtime class runc is not confidential" in (failure.text or "")
    assert cases["FIX-NS-001"].find("failure") is None
    assert "waiver WVR-7" in (cases["FIX-ADV-001"].findtext("system-out") or "")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["decision"] == "denied" and str(props["plan_digest"]).startswith("sha256:")


def test_markdown_for_pull_requests(decisions) -> None:
    md = formatter_for(Format.MARKDOWN)(decisions["denied"], CONTEXT)
    assert md.startswith("### ❌ phistack gate: `runc` is **denied**")
    assert "| FIX-CC-001 | critical | mandatory |" in md
    assert "WVR-7" in md and "Pager alert" in md
    assert formatter_for(Format.MARKDOWN)(decisions["allowed"], CONTEXT).startswith("### ✅")


def test_reports_are_deterministic(decisions) -> None:
    for fmt in Format:
        render = formatter_for(fmt)
        assert render(decisions["denied"], CONTEXT) == render(decisions["denied"], CONTEXT)


def test_schema_file_is_where_the_tests_expect() -> None:
    assert Path(SARIF_SCHEMA).is_file()
