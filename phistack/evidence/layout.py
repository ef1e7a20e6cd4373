"""Which files a pack holds and where, for one stack or for every stack (``--all``).

One stack (``DIR/``)::

    index.html  evidence.md  evidence.json  decision.json  plan.json  matrix.html  matrix.md

Every stack (``DIR/``)::

    index.html (= matrix.html)  matrix.html  matrix.md
    stacks/<stack>/index.html  evidence.md  evidence.json  decision.json  plan.json

Both also hold ``SHA256SUMS`` (written by :func:`phistack.evidence.pack.write_pack`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from phistack.evidence import render
from phistack.evidence.catalogue import Control
from phistack.evidence.model import MatrixRow, StackEvidence
from phistack.plan.document import dump_plan
from phistack.report import Format, ReportContext, formatter_for

Files = dict[str, str]


def _stack_documents(
    evidence: StackEvidence, matrix: dict[str, object], matrix_href: str, version: str
) -> Files:
    decision_json = formatter_for(Format.JSON)(evidence.decision, ReportContext(evidence.artifact, version))
    links = {"matrix": matrix_href, "decision": "decision.json", "plan": "plan.json"}
    return {
        "index.html": render.stack_html(evidence, matrix, links, version),
        "evidence.md": render.stack_markdown(evidence, matrix, version),
        "evidence.json": render.json_text(evidence.to_json()),
        "decision.json": decision_json,
        "plan.json": dump_plan(evidence.plan),
    }


def _matrix_documents(
    rows: list[MatrixRow], controls: list[Control], link_for: Callable[[str], str | None], reference: StackEvidence,
    version: str, current: str | None = None,
) -> Files:
    context = render.matrix_context(rows, controls, link_for, current)
    page = render.matrix_html(
        context,
        project=reference.project,
        generated_at=reference.generated_at,
        policy_digest=reference.decision.policy_digest,
        version=version,
    )
    markdown = render.matrix_markdown(context, project=reference.project, generated_at=reference.generated_at)
    return {"matrix.html": page, "matrix.md": markdown}


def single_stack(
    evidence: StackEvidence, rows: list[MatrixRow], controls: list[Control], version: str
) -> Files:
    """A pack for one stack; ``rows`` (possibly empty) is the matrix embedded in its page."""

    def link_for(stack: str) -> str | None:
        return "index.html" if stack == evidence.stack else None

    matrix = render.matrix_context(rows, controls, link_for, evidence.stack)
    files = _stack_documents(evidence, matrix, "matrix.html", version)
    if rows:
        files.update(_matrix_documents(rows, controls, link_for, evidence, version, evidence.stack))
    return files


def all_stacks(
    built: Mapping[str, StackEvidence], rows: list[MatrixRow], controls: list[Control], version: str
) -> Files:
    """A pack for every stack: the matrix as the index, and a page per stack that could be evaluated."""
    if not built:
        return {}
    reference = next(iter(built.values()))
    files = _matrix_documents(rows, controls, lambda s: f"stacks/{s}/index.html" if s in built else None, reference,
                              version)
    files["index.html"] = files["matrix.html"]
    for stack, evidence in built.items():

        def link_for(other: str) -> str | None:
            return f"../{other}/index.html" if other in built else None

        matrix = render.matrix_context(rows, controls, link_for, stack)
        for name, content in _stack_documents(evidence, matrix, "../../matrix.html", version).items():
            files[f"stacks/{stack}/{name}"] = content
    return files
