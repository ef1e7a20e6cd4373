"""Run the Rego unit tests under ``policies/`` the way ``opa test`` does, on any registered engine.

Every ``*_test.rego`` module is loaded together with every policy module and data document; each
rule whose name starts with ``test_`` is one test. A test passes when its value is ``true``; false,
undefined and an evaluation error all fail it (an error is reported with its message). A module that
does not compile is not a failing test but a policy error (exit 3): a suite that cannot run must
never look like a suite that passed.

Coverage comes in two grades: every engine reports which rule ids (METADATA ``custom.id``) have a
test module beside them or importing them; regorus also reports covered and uncovered lines.
"""

from __future__ import annotations

import json
import multiprocessing
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from phistack.engine import PolicyModule, PolicySet, Undefined, load_policy_set, make_evaluator
from phistack.errors import InputError, PhistackError, PolicyError

# After `opa fmt`, rule heads start at column 0; a test is any rule named test_*.
_TEST_RULE_RE = re.compile(r"^(test_\w+)\b", re.MULTILINE)
_IMPORT_RE = re.compile(r"^import\s+data\.([\w.]+)", re.MULTILINE)


@dataclass(frozen=True)
class TestCase:
    """One ``test_*`` rule: the module it lives in and its fully qualified query."""

    module: str
    package: str
    name: str

    @property
    def query(self) -> str:
        return f"data.{self.package}.{self.name}"


@dataclass(frozen=True)
class TestResult:
    """The outcome of one test case; ``detail`` explains a failure (value or error)."""

    case: TestCase
    passed: bool
    detail: str = ""


@dataclass
class FileCoverage:
    """Line coverage of one policy module (regorus only)."""

    path: str
    covered: int
    not_covered: int

    @property
    def percent(self) -> float:
        total = self.covered + self.not_covered
        return 100.0 if total == 0 else 100.0 * self.covered / total


@dataclass
class SuiteReport:
    """Results of one run on one engine."""

    engine: str
    results: list[TestResult] = field(default_factory=list)
    rules_tested: dict[str, bool] = field(default_factory=dict)
    line_coverage: list[FileCoverage] | None = None

    @property
    def passed(self) -> int:
        return sum(1 for result in self.results if result.passed)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def to_json(self) -> dict[str, Any]:
        """A machine-readable summary (``--format json``)."""
        data: dict[str, Any] = {
            "engine": self.engine,
            "passed": self.passed,
            "failed": self.failed,
            "tests": [
                {"name": r.case.query, "file": r.case.module, "passed": r.passed, "detail": r.detail}
                for r in self.results
            ],
            "rules_tested": self.rules_tested,
        }
        if self.line_coverage is not None:
            data["line_coverage"] = {
                cov.path: {"covered": cov.covered, "not_covered": cov.not_covered} for cov in self.line_coverage
            }
        return data


def discover(policies: PolicySet, selection: Path | None = None) -> list[TestCase]:
    """Every ``test_*`` rule of every test module, optionally only those under ``selection``."""
    prefix = _selection_prefix(policies.root, selection)
    cases: list[TestCase] = []
    for module in policies.modules:
        if not module.is_test or not _selected(module.path, prefix):
            continue
        seen: set[str] = set()
        for name in _TEST_RULE_RE.findall(module.text):
            # A repeated head is one rule with several bodies (an OR); count it once, as opa does.
            if name not in seen:
                seen.add(name)
                cases.append(TestCase(module.path, module.package, name))
    return cases


def _selection_prefix(root: Path, selection: Path | None) -> str | None:
    if selection is None:
        return None
    resolved = selection.resolve()
    try:
        rel = resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise InputError(f"{selection}: not inside the policy directory {root}") from None
    if not resolved.exists():
        raise InputError(f"{selection}: no such file or directory")
    return "" if rel == "." else rel


def _selected(path: str, prefix: str | None) -> bool:
    if not prefix:
        return True
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def rules_with_tests(policies: PolicySet) -> dict[str, bool]:
    """Map each rule id to whether some test module sits beside its file or imports its package."""
    tests = [module for module in policies.modules if module.is_test]
    tested_dirs = {Path(module.path).parent for module in tests}
    imported = {name for module in tests for name in _IMPORT_RE.findall(module.text)}
    coverage: dict[str, bool] = {}
    for rule_id, meta in sorted(policies.rules_metadata().items()):
        coverage[rule_id] = Path(meta["path"]).parent in tested_dirs or meta["package"] in imported
    return coverage


def _line_coverage(raws: Iterable[str], modules: Iterable[PolicyModule]) -> list[FileCoverage]:
    """Merge regorus coverage reports (one per test group) into per-file line coverage."""
    policy_paths = {module.path for module in modules if not module.is_test}
    covered: dict[str, set[int]] = {}
    not_covered: dict[str, set[int]] = {}
    for raw in raws:
        for entry in json.loads(raw).get("files", []):
            path = entry.get("path")
            if path in policy_paths:
                covered.setdefault(path, set()).update(entry.get("covered", []))
                not_covered.setdefault(path, set()).update(entry.get("not_covered", []))
    return [FileCoverage(path, len(covered[path]), len(not_covered[path] - covered[path])) for path in sorted(covered)]


def _group_policies(policies: PolicySet, module: PolicyModule) -> PolicySet:
    """The policy modules, helper test modules (no test_ rules) and one test module, with the data.

    Each test file runs in its own engine instance, so a test file that breaks an engine (regopy
    1.5.2 crashes on some `with input as` constructs) cannot take the other files down with it.
    """
    keep = tuple(m for m in policies.modules if not m.is_test or m is module or not _TEST_RULE_RE.search(m.text))
    return replace(policies, modules=keep)


def _run_group(engine: str, policies: PolicySet, cases: list[TestCase]) -> tuple[list[TestResult], str | None]:
    """Run one test file's cases on a fresh evaluator; return results and a coverage report."""
    options: dict[str, Any] = {"coverage": True} if engine == "regorus" else {}
    evaluator = make_evaluator(engine, policies, **options)
    evaluator.prepare([case.query for case in cases])
    results = []
    for case in cases:
        try:
            value = evaluator.query(case.query, {})
        except PolicyError as err:
            results.append(TestResult(case, False, f"error: {err.diagnostic()}"))
            continue
        if value is True:
            results.append(TestResult(case, True))
        else:
            shown = "undefined" if isinstance(value, Undefined) else json.dumps(value, default=str)
            results.append(TestResult(case, False, f"value: {shown}"))
    raw_engine = getattr(evaluator, "engine", None)
    coverage = None
    if raw_engine is not None and hasattr(raw_engine, "get_coverage_report_as_json"):
        coverage = raw_engine.get_coverage_report_as_json()
    return results, coverage


def _run_group_isolated(engine: str, policies: PolicySet, cases: list[TestCase]) -> tuple[list[TestResult], str | None]:
    """Run a group in a forked child so a native crash becomes a failed test, not a dead process.

    A PhistackError in the child (a policy that does not compile, an engine that is not installed)
    is raised again here with its class and exit code; anything else the engine throws fails the
    file's tests with one line naming it, never a traceback.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child() -> None:
        try:
            sender.send(("ok", _run_group(engine, policies, cases)))
        except PhistackError as err:
            sender.send(("phistack-error", (type(err), err.diagnostic(), err.exit_code)))
        except Exception as err:  # any engine failure becomes a failed file
            sender.send(("engine-error", f"{type(err).__name__}: {' '.join(str(err).split())[:200]}"))
        finally:
            sender.close()

    process = context.Process(target=child)
    process.start()
    sender.close()
    try:
        status, payload = receiver.recv()
    except EOFError:
        status, payload = "crashed", None
    process.join()
    if status == "ok":
        results, coverage = payload
        return results, coverage
    if status == "phistack-error":
        error_class, message, exit_code = payload
        raise error_class(message, exit_code=exit_code)
    if status == "engine-error":
        detail = f"error: the {engine} engine failed on this file ({payload})"
    else:
        detail = f"error: the {engine} engine crashed (exit {process.exitcode}) while running this file"
    return [TestResult(case, False, detail) for case in cases], None


def run_suite(
    root: Path, *, engine: str = "regorus", selection: Path | None = None, isolate: bool | None = None
) -> SuiteReport:
    """Load ``root`` with its tests, run every selected test on ``engine`` and report.

    Each test file gets its own engine instance; with ``isolate`` (the default for regopy, whose
    native code can crash the process) it also runs in a forked child process.
    Raises PolicyError (exit 3) when a module does not compile, InputError (exit 2) when the
    selection is outside ``root`` or holds no tests.
    """
    policies = load_policy_set(root, include_tests=True)
    cases = discover(policies, selection)
    if not cases:
        where = selection if selection is not None else root
        raise InputError(f"{where}: no Rego tests found (rules named test_* in *_test.rego files)")
    if isolate is None:
        isolate = engine != "regorus"
    by_module: dict[str, list[TestCase]] = {}
    for case in cases:
        by_module.setdefault(case.module, []).append(case)
    modules = {module.path: module for module in policies.modules}
    report = SuiteReport(engine=engine, rules_tested=rules_with_tests(policies))
    coverage_reports: list[str] = []
    for path, group in by_module.items():
        group_policies = _group_policies(policies, modules[path])
        runner = _run_group_isolated if isolate else _run_group
        results, coverage = runner(engine, group_policies, group)
        report.results.extend(results)
        if coverage is not None:
            coverage_reports.append(coverage)
    if coverage_reports:
        report.line_coverage = _line_coverage(coverage_reports, policies.modules)
    return report


def format_text(report: SuiteReport, *, verbose: bool = False, coverage: bool = False) -> str:
    """The ``opa test``-like text report: failures (or every test with ``verbose``), counts, coverage."""
    lines: list[str] = []
    current = None
    for result in report.results:
        if result.passed and not verbose:
            continue
        if result.case.module != current:
            current = result.case.module
            lines.append(f"{current}:")
        status = "PASS" if result.passed else "FAIL"
        lines.append(f"{result.case.query}: {status}" + (f" ({result.detail})" if result.detail else ""))
    if lines:
        lines.append("-" * 80)
    total = len(report.results)
    lines.append(f"engine: {report.engine}")
    lines.append(f"PASS: {report.passed}/{total}")
    if report.failed:
        lines.append(f"FAIL: {report.failed}/{total}")
    tested = sum(report.rules_tested.values())
    lines.append(f"rules with tests: {tested}/{len(report.rules_tested)}")
    untested = sorted(rule for rule, ok in report.rules_tested.items() if not ok)
    if untested:
        lines.append(f"rules without tests: {', '.join(untested)}")
    if report.line_coverage is not None:
        covered = sum(cov.covered for cov in report.line_coverage)
        total_lines = covered + sum(cov.not_covered for cov in report.line_coverage)
        percent = 100.0 if total_lines == 0 else 100.0 * covered / total_lines
        lines.append(f"line coverage: {percent:.1f}% ({covered}/{total_lines} lines)")
        if coverage:
            for cov in report.line_coverage:
                lines.append(f"  {cov.percent:6.1f}%  {cov.path}")
    return "\n".join(lines) + "\n"
