"""Every report format: mapped, well-formed, and carrying findings, waivers, digests and what was in scope."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from phistack.engine import load_policy_set
from phistack.findings import Coverage, Decision, Status
from phistack.gate import evaluate
from phistack.plan.offline import plan_stack
from phistack.plan.pulumi_import import plan_from_preview
from phistack.report import Format, ReportContext, formatter_for, summary_line
from phistack.waivers import load_waivers
from tests.support.paths import FIXTURES, MINI_PROJECT, REPO, SARIF_SCHEMA, STARTER_POLICIES
from tests.support.waivers import NETSEC_KEY, with_test_approvers, write_signed

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
CONTEXT = ReportContext("stacks/Pulumi.runc.yaml", "0.1.0")


@pytest.fixture(scope="module")
def decisions(tmp_path_factory) -> dict[str, Decision]:
    policies = with_test_approvers(load_policy_set(STARTER_POLICIES))
    base = tmp_path_factory.mktemp("w")
    waiver = write_signed(
        base / "waivers.yaml",
        "waivers:\n  - id: WVR-7\n    rule: FIX-ADV-001\n    stack: runc\n    resource: '*'\n"
        "    justification: Single replica accepted during the pilot.\n    approver: netsec@example-hospital.org\n"
        "    compensating_control: Pager alert on restart within five minutes.\n    expires: 2027-01-10\n",
        NETSEC_KEY,
    )
    # Signed by an approver who may waive FIX-ADV-001 only: refused for FIX-CC-001.
    refused = write_signed(
        base / "refused.yaml",
        "waivers:\n  - id: WVR-8\n    rule: FIX-CC-001\n    stack: runc\n    resource: '*'\n"
        "    justification: Sandbox runtime accepted during the pilot.\n    approver: netsec@example-hospital.org\n"
        "    compensating_control: Namespace holds synthetic data only.\n    expires: 2027-01-10\n",
        NETSEC_KEY,
    )
    runc = plan_stack(MINI_PROJECT, "runc")
    return {
        "denied": evaluate(runc, policies, now=NOW, waivers=load_waivers(waiver, NOW.date())),
        "refused": evaluate(runc, policies, now=NOW, waivers=load_waivers(refused, NOW.date())),
        "allowed": evaluate(plan_stack(MINI_PROJECT, "dev"), policies, now=NOW),
        # Real `pulumi preview --json` output of AWS types: the starter rules understand only its stack.
        "aws": evaluate(plan_from_preview(FIXTURES / "pulumi" / "aws-unknown-types.preview.json"), policies, now=NOW),
    }


def test_every_format_has_a_formatter(decisions) -> None:
    for fmt in Format:
        assert formatter_for(fmt)(decisions["denied"], CONTEXT).strip()


def test_text_table_and_verdict(decisions) -> None:
    text = formatter_for(Format.TEXT)(decisions["denied"], CONTEXT)
    assert "RULE" in text and "SEVERITY" in text and "HIPAA" in text
    assert "FIX-CC-001" in text and "Deployment box-app" in text and "45 CFR 164.312(a)(2)(iv)" in text
    waived = "[waived: WVR-7, expires 2027-01-10] FIX-ADV-001 on Deployment box-app; approved by netsec@"
    assert waived in text
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
    assert "Approved by netsec@example-hospital.org (Network security lead; key sha256:" in suppression["justification"]
    location = results["FIX-CC-001"]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "stacks/Pulumi.runc.yaml"
    assert location["logicalLocations"][0]["fullyQualifiedName"].endswith("::box-app")


def test_junit_has_one_case_per_rule_and_failures(decisions) -> None:
    root = ET.fromstring(formatter_for(Format.JUNIT)(decisions["denied"], CONTEXT))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "4" and suite.get("failures") == "1"
    cases = {case.get("name", "").split()[0]: case for case in suite.iter("testcase")}
    assert set(cases) == {"FIX-ADV-001", "FIX-CC-001", "FIX-NS-001", "PHISTACK-COVERAGE"}
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


# --- coverage: every format says how much of the plan the rules understood ---------------------------

COMPLETE = Coverage(resources=37, in_scope=37, unknown_types=(), inert=1)
PARTIAL = Coverage(35, 33, ("aws:s3/bucketV2:BucketV2",), {"aws:s3/bucketV2:BucketV2": 2}, inert=1)
NOTHING = Coverage(
    12,
    2,
    ("aws:ec2/instance:Instance", "aws:s3/bucketV2:BucketV2"),
    {"aws:ec2/instance:Instance": 3, "aws:s3/bucketV2:BucketV2": 7},
    inert=2,
)
NOTHING_TEXT = "NOTHING IN SCOPE: none of the 12 resources is of a type any rule judges"
TYPES_TEXT = "aws:ec2/instance:Instance (3), aws:s3/bucketV2:BucketV2 (7)"


def _with(decision: Decision, coverage: Coverage) -> Decision:
    return dataclasses.replace(decision, coverage=coverage)


def test_the_gate_reads_coverage_from_the_policy_set_and_the_plan(decisions) -> None:
    aws = decisions["aws"].coverage
    assert (aws.resources, aws.in_scope, aws.inert) == (5, 1, 1)  # the stack; random is outside the starter set
    assert aws.unknown_types == (
        "aws:ec2/instance:Instance",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:s3/bucketV2:BucketV2",
        "random:index/randomId:RandomId",
    )
    assert aws.nothing_in_scope and decisions["aws"].allowed and not decisions["aws"].findings
    mini = decisions["allowed"].coverage
    assert (mini.resources, mini.in_scope, mini.inert, mini.nothing_in_scope) == (6, 3, 1, False)
    assert mini.unknown_counts == {
        "kubernetes:core/v1:Secret": 1,
        "mini:test:Box": 1,
        "tls:index/privateKey:PrivateKey": 1,
    }


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_states_nothing_in_scope(decisions, fmt: Format) -> None:
    report = formatter_for(fmt)(_with(decisions["allowed"], NOTHING), CONTEXT)
    assert NOTHING_TEXT in report, report
    assert "this decision does not show the plan is compliant" in report
    assert "2 are the stack itself, providers, key material or random values" in report
    for name in NOTHING.unknown_types:
        assert name in report


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_states_partial_and_full_coverage(decisions, fmt: Format) -> None:
    partial = formatter_for(fmt)(_with(decisions["allowed"], PARTIAL), CONTEXT)
    assert "in scope: 33 of 35 resources" in partial.replace("In scope", "in scope")
    assert "aws:s3/bucketV2:BucketV2" in partial and "NOTHING IN SCOPE" not in partial
    full = formatter_for(fmt)(_with(decisions["allowed"], COMPLETE), CONTEXT)
    full = full.replace("In scope", "in scope")
    assert "in scope: 37 of 37 resources (every type is one the rules understand)" in full


def test_text_states_coverage_before_the_verdict(decisions) -> None:
    lines = formatter_for(Format.TEXT)(_with(decisions["allowed"], NOTHING), CONTEXT).rstrip().splitlines()
    assert lines[-1].startswith("ALLOWED:")  # the verdict stays the last line
    statement = next(i for i, line in enumerate(lines) if line.startswith(NOTHING_TEXT))
    assert lines[statement + 1] == f"types no rule understands: {TYPES_TEXT}"
    partial = formatter_for(Format.TEXT)(_with(decisions["allowed"], PARTIAL), CONTEXT)
    assert "in scope: 33 of 35 resources\ntypes no rule understands: aws:s3/bucketV2:BucketV2 (2)\n" in partial


def test_summary_line_says_nothing_in_scope(decisions) -> None:
    assert "NOTHING IN SCOPE" in summary_line(_with(decisions["allowed"], NOTHING))
    assert "(12 resources)" in summary_line(_with(decisions["allowed"], NOTHING))
    assert summary_line(_with(decisions["allowed"], PARTIAL)).endswith(
        "— 2 of 35 resources of types no rule understands"
    )
    assert summary_line(_with(decisions["allowed"], COMPLETE)).endswith("(regorus)")


def test_json_carries_the_coverage_object(decisions) -> None:
    doc = json.loads(formatter_for(Format.JSON)(_with(decisions["allowed"], NOTHING), CONTEXT))
    assert doc["coverage"].pop("statement") == f"{NOTHING_TEXT} (2 are the stack itself, providers, key material or " \
        f"random values, which hold no data) — this decision does not show the plan is compliant; " \
        f"types no rule understands: {TYPES_TEXT}"
    assert doc["coverage"] == {
        "resources": 12,
        "in_scope": 2,
        "unknown_types": ["aws:ec2/instance:Instance", "aws:s3/bucketV2:BucketV2"],
        "unknown_type_counts": {"aws:ec2/instance:Instance": 3, "aws:s3/bucketV2:BucketV2": 7},
        "inert": 2,
        "nothing_in_scope": True,
    }
    assert json.loads(formatter_for(Format.JSON)(decisions["denied"], CONTEXT))["coverage"]["nothing_in_scope"] is False


@pytest.mark.parametrize("coverage", [NOTHING, PARTIAL, COMPLETE], ids=["nothing", "partial", "complete"])
def test_sarif_states_coverage_and_stays_valid(decisions, coverage: Coverage) -> None:
    log = json.loads(formatter_for(Format.SARIF)(_with(decisions["denied"], coverage), CONTEXT))
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(log)
    run = log["runs"][0]
    assert run["properties"]["coverage"]["resources"] == coverage.resources
    assert run["properties"]["coverage"]["in_scope"] == coverage.in_scope
    notifications = run["invocations"][0].get("toolExecutionNotifications", [])
    if coverage is COMPLETE:
        assert notifications == []
        return
    [note] = notifications
    assert note["descriptor"] == {"id": "PHISTACK-COVERAGE", "index": 0}
    assert run["tool"]["driver"]["notifications"][0]["id"] == "PHISTACK-COVERAGE"
    assert note["level"] == ("warning" if coverage is NOTHING else "note")
    assert note["properties"]["unknown_types"] == list(coverage.unknown_types)
    if coverage is NOTHING:
        assert note["message"]["text"].startswith(NOTHING_TEXT) and note["message"]["text"].endswith(TYPES_TEXT)


def test_junit_reports_coverage_in_properties_and_a_test_case(decisions) -> None:
    root = ET.fromstring(formatter_for(Format.JUNIT)(_with(decisions["allowed"], NOTHING), CONTEXT))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("skipped") == "1" and suite.get("failures") == "0"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert (props["coverage.resources"], props["coverage.in_scope"], props["coverage.inert"]) == ("12", "2", "2")
    assert props["coverage.nothing_in_scope"] == "true" and props["coverage.unknown_types"] == TYPES_TEXT
    assert str(props["coverage"]).startswith(NOTHING_TEXT)
    [case] = [c for c in suite.iter("testcase") if c.get("name", "").startswith("PHISTACK-COVERAGE")]
    skipped = case.find("skipped")
    assert skipped is not None and str(skipped.get("message")).startswith(NOTHING_TEXT)
    assert "aws:s3/bucketV2:BucketV2: 7 resource(s) no rule understands" in (skipped.text or "")
    full = ET.fromstring(formatter_for(Format.JUNIT)(_with(decisions["allowed"], COMPLETE), CONTEXT))
    [case] = [c for c in full.iter("testcase") if c.get("name", "").startswith("PHISTACK-COVERAGE")]
    assert case.find("skipped") is None and "37 of 37" in (case.findtext("system-out") or "")
    assert full.find("testsuite").get("skipped") == "0"  # type: ignore[union-attr]


def test_markdown_states_coverage_as_a_sentence_and_a_list(decisions) -> None:
    md = formatter_for(Format.MARKDOWN)(_with(decisions["allowed"], NOTHING), CONTEXT)
    assert md.startswith("### ⚠️ phistack gate: `dev` is **allowed** — nothing in scope")
    assert f"> ⚠️ **{NOTHING_TEXT}" in md
    assert "- `aws:ec2/instance:Instance` — 3 resources" in md and "- `aws:s3/bucketV2:BucketV2` — 7 resources" in md
    partial = formatter_for(Format.MARKDOWN)(_with(decisions["allowed"], PARTIAL), CONTEXT)
    assert partial.startswith("### ✅") and "In scope: 33 of 35 resources." in partial
    assert "- `aws:s3/bucketV2:BucketV2` — 2 resources" in partial


def test_a_hostile_type_name_cannot_write_its_own_report_lines(decisions) -> None:
    """A plan is input: a type token with a line break must not forge a coverage or verdict line."""
    forged = "x:y:Z\nin scope: 9 of 9 resources (every type is one the rules understand)\nALLOWED: 0 blocking"
    coverage = Coverage(2, 1, (forged,), {forged: 1}, inert=1)
    text = formatter_for(Format.TEXT)(_with(decisions["denied"], coverage), CONTEXT)
    assert not any(line.startswith("in scope: 9 of 9") for line in text.splitlines())
    assert text.rstrip().splitlines()[-1].startswith("DENIED:")
    md = formatter_for(Format.MARKDOWN)(_with(decisions["denied"], Coverage(2, 1, ("a`b",), {"a`b": 1}, 1)), CONTEXT)
    assert re.search(r"- `` a`b `` — 1 resource", md)


# --- remediation, and the rule id said once -------------------------------------------------------------


def test_text_has_a_remediation_column_and_says_the_rule_id_once(decisions) -> None:
    text = formatter_for(Format.TEXT)(decisions["denied"], CONTEXT)
    header = text.splitlines()[2]
    assert header.split() == ["RULE", "SEVERITY", "RESOURCE", "MESSAGE", "HIPAA", "REMEDIATION"]
    assert _cell(text, "FIX-CC-001", "REMEDIATION") == "Set runtimeClassName to a confidential runtime class."
    assert _cell(text, "FIX-ADV-001", "REMEDIATION") == "Run at least two replicas."
    assert _cell(text, "FIX-CC-001", "MESSAGE") == "box-app: runtime class runc is not confidential"
    assert "FIX-CC-001: " not in text and "FIX-ADV-001: " not in text


def _cell(text: str, rule: str, column: str) -> str:
    """The text of one cell of the terminal table, its wrapped lines joined."""
    lines = text.splitlines()
    header = lines[2]
    start = header.index(column)
    names = header.split()
    following = names[names.index(column) + 1] if column != names[-1] else None
    end = header.index(following) if following else None
    first = next(i for i, line in enumerate(lines) if line.startswith(rule + " "))
    parts = [lines[first][start:end].strip()]
    for line in lines[first + 1 :]:
        if not line.startswith(" "):  # the next row, or the end of the table
            break
        parts.append(line[start:end].strip())
    return " ".join(p for p in parts if p)


def test_markdown_has_a_remediation_column_and_says_the_rule_id_once(decisions) -> None:
    md = formatter_for(Format.MARKDOWN)(decisions["denied"], CONTEXT)
    assert "| Rule | Severity | Enforcement | Resource | Message | HIPAA | Remediation | Status |" in md
    assert (
        "| FIX-CC-001 | critical | mandatory | `Deployment box-app` | box-app: runtime class runc is not confidential "
        "| 45 CFR 164.312(a)(2)(iv) (addressable) | Set runtimeClassName to a confidential runtime class. | open |"
    ) in md
    assert "FIX-CC-001: " not in md


def test_machine_readable_formats_keep_the_message_whole(decisions) -> None:
    """JSON, SARIF and JUnit messages are quoted alone (logs, code-scanning alerts): they keep the rule id."""
    doc = json.loads(formatter_for(Format.JSON)(decisions["denied"], CONTEXT))
    cc = next(f for f in doc["findings"] if f["id"] == "FIX-CC-001")
    assert cc["message"] == "FIX-CC-001: box-app: runtime class runc is not confidential"
    assert cc["remediation"] == "Set runtimeClassName to a confidential runtime class."


def test_only_the_findings_own_id_is_stripped(decisions) -> None:
    finding = next(f for f in decisions["denied"].findings if f.id == "FIX-CC-001")
    assert finding.detail == "box-app: runtime class runc is not confidential"
    other = dataclasses.replace(finding, message="FIX-NS-001: a message naming another rule")
    assert other.detail == "FIX-NS-001: a message naming another rule"
    bare = dataclasses.replace(finding, message="no id here")
    assert bare.detail == "no id here"


def test_a_rule_without_remediation_shows_a_dash(decisions) -> None:
    bare = [dataclasses.replace(f, remediation="") for f in decisions["denied"].findings]
    md = formatter_for(Format.MARKDOWN)(dataclasses.replace(decisions["denied"], findings=bare), CONTEXT)
    assert "| 45 CFR 164.312(a)(2)(iv) (addressable) | — | open |" in md


# --- SARIF: results on the line of the stack config that declares their resource ------------------------

STACK_YAML = """\
# A stack config whose components sit on known lines.
config:
  phistack:description: locations
  phistack:provider:
    name: helix-gpu
  phistack:cluster:
    name: gpu
    namespaces:
      - {name: cds, data_classification: phi}
  phistack:workloads:
    - name: cds
      namespace: cds
    - namespace: cds
      name: cds-inference
  phistack:endpoints:
    - {name: api, workload: cds-inference}
"""
LINES = {"provider": 4, "cluster": 6, "workload cds": 11, "workload cds-inference": 14, "endpoint api": 16}


def _urn(chain: str, name: str) -> str:
    return f"urn:pulumi:runc::phistack::{chain}::{name}"


LOCATED = {
    _urn("pulumi:pulumi:Stack$phistack:provider:ProviderProfile", "provider"): LINES["provider"],
    _urn("phistack:cluster:ConfidentialGpuCluster$kubernetes:networking.k8s.io/v1:NetworkPolicy", "gpu-cds-allow-dns"):
        LINES["cluster"],
    _urn("pulumi:pulumi:Stack$phistack:workload:AttestedWorkload", "cds"): LINES["workload cds"],
    # "cds" and "cds-inference" both prefix this child's name: the longer is its component.
    _urn("phistack:workload:AttestedWorkload$kubernetes:apps/v1:Deployment", "cds-inference-deployment"):
        LINES["workload cds-inference"],
    _urn("phistack:workload:AttestedWorkload$kubernetes:apps/v1:Deployment", "cds-deployment"): LINES["workload cds"],
    _urn("phistack:network:TlsEndpoint$kubernetes:gateway.networking.k8s.io/v1:Gateway", "api-gateway"):
        LINES["endpoint api"],
    # Not declared in the file: the stack itself, a component the file does not configure, a foreign type.
    _urn("pulumi:pulumi:Stack", "phistack-runc"): 1,
    _urn("phistack:logging:AuditLogShipping$kubernetes:apps/v1:DaemonSet", "audit-logs-daemonset"): 1,
    _urn("pulumi:pulumi:Stack$phistack:workload:AttestedWorkload", "cds-inference-v2"): 1,
    _urn("mini:test:Box$kubernetes:apps/v1:Deployment", "box-app"): 1,
}


def _located(decisions, urns: list[str]) -> Decision:
    template = next(f for f in decisions["denied"].findings if f.id == "FIX-CC-001")
    findings = [dataclasses.replace(template, urn=urn) for urn in urns]
    return dataclasses.replace(decisions["denied"], findings=findings)


def _lines(decision: Decision, artifact: str) -> dict[str, int]:
    log = json.loads(formatter_for(Format.SARIF)(decision, ReportContext(artifact, "0.1.0")))
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(log)
    out: dict[str, int] = {}
    for result in log["runs"][0]["results"]:
        [location] = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == artifact
        out[location["logicalLocations"][0]["fullyQualifiedName"]] = location["physicalLocation"]["region"][
            "startLine"
        ]
    return out


def test_sarif_points_at_the_line_that_declares_the_resource(decisions, tmp_path, monkeypatch) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.runc.yaml").write_text(STACK_YAML)
    for where, line in LINES.items():  # the expected lines are the file's, not guesses
        assert STACK_YAML.splitlines()[line - 1].strip().startswith(("phistack:", "- ", "name:")), where
    monkeypatch.chdir(tmp_path)  # the artifact is relative to the working directory, as the CLI writes it
    assert _lines(_located(decisions, list(LOCATED)), "stacks/Pulumi.runc.yaml") == LOCATED


def test_sarif_points_into_a_plan_file_at_the_resources_urn(decisions, tmp_path, monkeypatch) -> None:
    from phistack.plan.document import dump_plan
    from phistack.plan.offline import plan_stack

    plan = plan_stack(MINI_PROJECT, "runc")
    (tmp_path / "plan.json").write_text(dump_plan(plan))
    monkeypatch.chdir(tmp_path)
    text = dump_plan(plan).splitlines()
    lines = _lines(decisions["denied"], "plan.json")
    assert set(lines) == {f.urn for f in decisions["denied"].findings}
    for urn, line in lines.items():
        assert text[line - 1].strip().removesuffix(",") == f'"urn": {json.dumps(urn)}', (urn, line)


@pytest.mark.parametrize("kind", ["missing", "malformed", "fifo", "not-a-stack-config", "directory"])
def test_sarif_falls_back_to_line_1_and_never_fails_on_its_artifact(decisions, tmp_path, monkeypatch, kind) -> None:
    """Locations are a convenience: an unreadable, hostile or odd artifact gives line 1, never an error or a hang."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "stack.yaml"
    if kind == "malformed":
        path.write_text("config: {phistack:workloads: [\n")
    elif kind == "fifo":
        os.mkfifo(path)  # reading it would block forever
    elif kind == "not-a-stack-config":
        path.write_text("- just\n- a list\n")
    elif kind == "directory":
        path.mkdir()
    urns = list(LOCATED)
    assert set(_lines(_located(decisions, urns), "stack.yaml").values()) == {1}


def test_sarif_on_a_reference_stack_annotates_the_workload_that_runs_runc(monkeypatch) -> None:
    """End to end on the project's own non-compliant example: the runtime-class finding lands on the workload
    entry of stacks/Pulumi.noncompliant-plaintext-phi.yaml, the line a reviewer changes."""
    stack = "noncompliant-plaintext-phi"
    artifact = f"stacks/Pulumi.{stack}.yaml"
    if not (REPO / artifact).is_file():
        pytest.skip(f"{artifact} is not in this checkout")
    monkeypatch.chdir(REPO)
    decision = evaluate(plan_stack(REPO, stack), load_policy_set(REPO / "policies"), now=NOW)
    lines = _lines(decision, artifact)
    text = (REPO / artifact).read_text().splitlines()
    [runc] = [f for f in decision.findings if f.id == "PHI-CC-001"]
    assert text[lines[runc.urn] - 1].strip() == "- name: cds-inference"
    # Every finding on a resource the file declares (through its component) is placed off line 1.
    declared = [urn for urn in lines if "phistack:" in urn.split("::")[2]]
    assert declared and all(lines[urn] > 1 for urn in declared), lines


REFUSAL = "netsec@example-hospital.org (Network security lead) may waive PHI-TLS-*, FIX-ADV-001, not FIX-CC-001"


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_says_why_a_waiver_was_refused(decisions, fmt: Format) -> None:
    """A refused waiver waives nothing, and every format names it and the reason."""
    decision = decisions["refused"]
    (finding,) = [f for f in decision.findings if f.id == "FIX-CC-001"]
    assert finding.status is Status.WAIVER_REFUSED and finding.blocks and not decision.allowed
    report = formatter_for(fmt)(decision, CONTEXT)
    assert "WVR-8" in report and "waiver-refused" in report
    assert REFUSAL in report.replace("&lt;", "<").replace("&gt;", ">"), report


def test_json_and_sarif_carry_the_refusal_as_data(decisions) -> None:
    doc = json.loads(formatter_for(Format.JSON)(decisions["refused"], CONTEXT))
    (refused,) = doc["waivers_refused"]
    assert refused["id"] == "WVR-8" and refused["refusal"] == REFUSAL and refused["signature_status"] == "verified"
    assert doc["waivers_applied"] == []
    run = json.loads(formatter_for(Format.SARIF)(decisions["refused"], CONTEXT))["runs"][0]
    (result,) = [r for r in run["results"] if r["ruleId"] == "FIX-CC-001"]
    assert result["suppressions"][0]["status"] == "rejected"
    assert result["properties"]["status"] == "waiver-refused" and result["properties"]["waiver_refusal"] == REFUSAL


def test_applied_waiver_names_approver_key_and_signature_status(decisions) -> None:
    (applied,) = decisions["denied"].waivers_applied
    assert applied["approver"] == "netsec@example-hospital.org" and applied["signature_status"] == "verified"
    assert applied["key_id"].startswith("sha256:") and applied["signature"]["key_id"] == applied["key_id"]
