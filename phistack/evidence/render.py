"""Render evidence with Jinja2: a stack page (HTML and Markdown) and the all-stacks matrix page.

HTML is self-contained — inline CSS, no scripts, no external fetches — so a pack opens from a file share,
an email attachment or an air-gapped review machine exactly as it was written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from phistack.evidence.catalogue import Control
from phistack.evidence.model import MatrixRow, StackEvidence
from phistack.evidence.status import ControlStatus
from phistack.report.common import coverage_sentence, resource_label, type_text
from phistack.report.markdown import coverage_markdown

TEMPLATES = Path(__file__).with_name("templates")

LEGEND = [
    (ControlStatus.MET, "its mandatory rules passed on the resources it is about (advisory rules never count)"),
    (
        ControlStatus.NOT_MET,
        "a mandatory finding is open, undecidable at plan time, or its waiver expired or was refused",
    ),
    (ControlStatus.WAIVED, "every mandatory finding is covered by a signed, authorised, unexpired waiver"),
    (ControlStatus.NOT_APPLICABLE, "nothing in the stack falls under the control, or it holds no PHI"),
    (ControlStatus.NOT_ASSESSED, "nothing proved it: no mandatory rule checks it, or nothing in the plan is in scope"),
    (ControlStatus.ERROR, "the stack could not be planned or evaluated"),
]


def _md(value: Any) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    return " ".join(str(value).replace("|", "\\|").split())


def _sections(citations: list[dict[str, str]]) -> str:
    """A control's HIPAA column in one line: ``164.312(e)(1) Transmission security; 164.312(e)(2)(i) ...``."""
    return "; ".join(" ".join(filter(None, (c["cfr"].replace("45 CFR ", ""), c.get("title", "")))) for c in citations)


def _money(value: float | None, currency: str = "USD") -> str:
    if value is None:
        return "not priced"
    return f"${value:,.2f}" if currency == "USD" else f"{value:,.2f} {currency}"


def _short(digest: str, length: int = 19) -> str:
    return digest if len(digest) <= length else digest[:length] + "…"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        md=_md,
        money=_money,
        sections=_sections,
        short=_short,
        label=resource_label,
        coverage_sentence=coverage_sentence,
        coverage_markdown=lambda coverage: "\n".join(coverage_markdown(coverage)).rstrip("\n"),
        type_text=type_text,
    )
    env.globals.update(legend=LEGEND, Status=ControlStatus)
    return env


_ENV = _environment()


def matrix_context(
    rows: list[MatrixRow], controls: list[Control], link_for: Callable[[str], str | None], current: str | None = None
) -> dict[str, Any]:
    return {"rows": rows, "matrix_controls": controls, "link_for": link_for, "current": current}


def stack_html(evidence: StackEvidence, matrix: dict[str, Any], links: dict[str, str], version: str) -> str:
    """The stack page; ``links`` holds ``matrix`` (the matrix page) and ``files`` (the pack's own files)."""
    return _ENV.get_template("stack.html.j2").render(ev=evidence, links=links, version=version, **matrix)


def stack_markdown(evidence: StackEvidence, matrix: dict[str, Any], version: str) -> str:
    return _ENV.get_template("stack.md.j2").render(ev=evidence, version=version, **matrix)


def matrix_html(matrix: dict[str, Any], *, project: str, generated_at: str, policy_digest: str, version: str) -> str:
    return _ENV.get_template("matrix.html.j2").render(
        project=project, generated_at=generated_at, policy_digest=policy_digest, version=version, **matrix
    )


def matrix_markdown(matrix: dict[str, Any], *, project: str, generated_at: str) -> str:
    return _ENV.get_template("matrix.md.j2").render(project=project, generated_at=generated_at, **matrix)


def json_text(document: Any) -> str:
    """Deterministic JSON (sorted keys, two-space indent), like every document phistack writes."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
