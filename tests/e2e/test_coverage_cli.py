"""Coverage end to end: real Pulumi documents of types no rule knows say NOTHING IN SCOPE in every format,
a reference stack shows full coverage, and a signed record cannot be edited to claim otherwise."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support.cli import run_cli
from tests.support.paths import FIXTURES, SARIF_SCHEMA

PULUMI = FIXTURES / "pulumi"
NOW = ["--now", "2026-11-27T12:00:00Z"]
NOTHING = "NOTHING IN SCOPE: none of the {n} resources is of a type any rule judges"
# What each document holds after import (providers are dropped; the stack and the random value remain,
# in scope as holding no data).
EXPECTED: dict[str, dict[str, Any]] = {
    "preview": {
        "resources": 5,
        "unknown": {
            "aws:ec2/instance:Instance": 1,
            "aws:ec2/securityGroup:SecurityGroup": 1,
            "aws:s3/bucketV2:BucketV2": 1,
        },
    },
    "export": {
        "resources": 6,
        "unknown": {
            "aws:ec2/instance:Instance": 1,
            "aws:iam/role:Role": 1,
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": 1,
            "aws:s3/bucketV2:BucketV2": 1,
        },
    },
}


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The two Pulumi documents converted the documented way (`phistack plan --from-preview/--from-state`)."""
    root = tmp_path_factory.mktemp("coverage")
    out = {}
    for source, flag in (("preview", "--from-preview"), ("export", "--from-state")):
        plan = root / f"{source}.plan.json"
        proc = run_cli("plan", flag, str(PULUMI / f"aws-unknown-types.{source}.json"), "-o", str(plan))
        assert proc.returncode == 0, proc.stderr
        out[source] = plan
    return out


def _check(plan: Path, fmt: str, *extra: str) -> tuple[str, str]:
    proc = run_cli("check", "--plan", str(plan), "--format", fmt, *NOW, *extra)
    # The reviewer's case: allowed with zero findings — which is exactly why the report must say more.
    assert proc.returncode == 0, proc.stderr
    assert "NOTHING IN SCOPE: no resource of a type any rule judges" in proc.stderr
    return proc.stdout, proc.stderr


def _types_text(source: str) -> str:
    return ", ".join(f"{t} ({n})" for t, n in EXPECTED[source]["unknown"].items())


@pytest.mark.parametrize("source", ["preview", "export"])
def test_text_says_nothing_in_scope(plans, source: str) -> None:
    out, _ = _check(plans[source], "text")
    lines = out.rstrip().splitlines()
    assert "no findings" in lines and lines[-1].startswith("ALLOWED: 0 blocking")
    n = EXPECTED[source]["resources"]
    statement = next(line for line in lines if line.startswith("NOTHING IN SCOPE"))
    assert statement.startswith(NOTHING.format(n=n)) and "does not show the plan is compliant" in statement
    assert f"types no rule understands: {_types_text(source)}" in lines


@pytest.mark.parametrize("source", ["preview", "export"])
def test_json_says_nothing_in_scope(plans, source: str) -> None:
    out, _ = _check(plans[source], "json")
    coverage = json.loads(out)["coverage"]
    expected = EXPECTED[source]
    assert coverage["nothing_in_scope"] is True
    assert (coverage["resources"], coverage["in_scope"], coverage["inert"]) == (expected["resources"], 2, 2)
    assert coverage["unknown_types"] == sorted(expected["unknown"])
    assert coverage["unknown_type_counts"] == expected["unknown"]
    assert coverage["statement"].startswith(NOTHING.format(n=expected["resources"]))


@pytest.mark.parametrize("source", ["preview", "export"])
def test_sarif_says_nothing_in_scope(plans, source: str) -> None:
    out, _ = _check(plans[source], "sarif")
    log = json.loads(out)
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(log)
    run = log["runs"][0]
    assert run["results"] == [] and run["properties"]["coverage"]["nothing_in_scope"] is True
    [note] = run["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning" and note["descriptor"]["id"] == "PHISTACK-COVERAGE"
    assert note["message"]["text"].startswith(NOTHING.format(n=EXPECTED[source]["resources"]))
    assert note["message"]["text"].endswith(_types_text(source))


@pytest.mark.parametrize("source", ["preview", "export"])
def test_junit_says_nothing_in_scope(plans, source: str) -> None:
    out, _ = _check(plans[source], "junit")
    suite = ET.fromstring(out).find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("skipped") == "1"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["coverage.nothing_in_scope"] == "true" and props["coverage.in_scope"] == "2"
    assert props["coverage.resources"] == str(EXPECTED[source]["resources"])
    [case] = [c for c in suite.iter("testcase") if c.get("name", "").startswith("PHISTACK-COVERAGE")]
    skipped = case.find("skipped")
    assert skipped is not None and str(skipped.get("message")).startswith("NOTHING IN SCOPE")
    for type_, n in EXPECTED[source]["unknown"].items():
        assert f"{type_}: {n} resource(s) no rule understands" in (skipped.text or "")


@pytest.mark.parametrize("source", ["preview", "export"])
def test_markdown_says_nothing_in_scope(plans, source: str) -> None:
    out, _ = _check(plans[source], "markdown")
    assert out.startswith("### ⚠️ phistack gate:") and "is **allowed** — nothing in scope" in out.splitlines()[0]
    assert f"> ⚠️ **{NOTHING.format(n=EXPECTED[source]['resources'])}" in out
    for type_ in EXPECTED[source]["unknown"]:
        assert f"- `{type_}` — 1 resource" in out


def test_regopy_states_the_same_coverage(plans) -> None:
    regorus = json.loads(_check(plans["preview"], "json")[0])["coverage"]
    regopy = json.loads(_check(plans["preview"], "json", "--engine", "regopy")[0])["coverage"]
    assert regopy == regorus


def test_a_reference_stack_is_fully_in_scope(tmp_path: Path) -> None:
    plan = tmp_path / "clinical-nlp.plan.json"
    assert run_cli("plan", "clinical-nlp", "-o", str(plan)).returncode == 0
    resources = len(json.loads(plan.read_text())["resources"])
    proc = run_cli("check", "--plan", str(plan), "--format", "json", *NOW)
    assert proc.returncode == 0, proc.stderr
    coverage = json.loads(proc.stdout)["coverage"]
    assert coverage["resources"] == coverage["in_scope"] == resources and coverage["unknown_types"] == []
    assert coverage["nothing_in_scope"] is False and coverage["inert"] == 1  # the stack resource
    assert "NOTHING IN SCOPE" not in proc.stderr and "types no rule understands" not in proc.stderr
    text = run_cli("check", "--plan", str(plan), *NOW).stdout
    assert f"in scope: {resources} of {resources} resources (every type is one the rules understand)" in text


def test_a_signed_record_carries_coverage_and_cannot_be_edited(plans, tmp_path: Path) -> None:
    assert run_cli("decision", "keygen", "-o", str(tmp_path / "gate")).returncode == 0
    record = tmp_path / "record.json"
    _check(plans["export"], "json", "--sign", str(tmp_path / "gate.key"), "--record", str(record))
    signed = json.loads(record.read_text())
    assert signed["payload"]["coverage"]["nothing_in_scope"] is True
    verify = ["decision", "verify", "--key", str(tmp_path / "gate.pub"), "--require-allowed", *NOW]
    assert run_cli(*verify[:2], str(record), *verify[2:]).returncode == 0
    # A hostile edit: claim every resource was in scope.
    signed["payload"]["coverage"].update(in_scope=6, inert=1, unknown_types=[], nothing_in_scope=False)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(signed))
    proc = run_cli(*verify[:2], str(forged), *verify[2:])
    assert proc.returncode == 1 and "signature does not match" in proc.stderr
