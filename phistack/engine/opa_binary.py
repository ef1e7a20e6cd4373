"""The reference engine: the ``opa`` binary, when it is on PATH (``opa eval`` with the same policies).

Each query writes the modules, the data document and the input into a temporary bundle directory
and runs ``opa eval --format json --data DIR --input FILE QUERY``. The documented output shapes:
success ``{"result": [{"expressions": [{"value": ...}]}]}`` (no ``result`` key when undefined);
failure (non-zero exit) ``{"errors": [{"message", "code", "location": {"file", "row", "col"}}]}``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from phistack.engine.base import UNDEFINED, Evaluator
from phistack.engine.policyset import PolicySet
from phistack.errors import InputError, PolicyError

INSTALL_HINT = "install it from https://www.openpolicyagent.org/docs/#running-opa or use --engine regorus"


def parse_eval_output(stdout: str, returncode: int, bundle_root: str = "") -> Any:
    """Interpret ``opa eval --format json`` output; raise PolicyError naming file:line on errors."""
    try:
        document = json.loads(stdout) if stdout.strip() else {}
    except json.JSONDecodeError as err:
        raise PolicyError(f"opa eval printed something that is not JSON: {stdout[:120]!r}") from err
    errors = document.get("errors") if isinstance(document, dict) else None
    if returncode != 0 or errors:
        first = (errors or [{}])[0]
        location = first.get("location") or {}
        where = str(location.get("file", "")).removeprefix(bundle_root).lstrip("/")
        prefix = f"{where}:{location.get('row')}: " if where else ""
        raise PolicyError(f"policy error: {prefix}{first.get('message', f'opa exited with {returncode}')}")
    results = document.get("result") or []
    if not results:
        return UNDEFINED
    expressions = results[0].get("expressions") or []
    return expressions[0].get("value", UNDEFINED) if expressions else UNDEFINED


class OpaBinaryEvaluator(Evaluator):
    name = "opa"

    def __init__(self, policies: PolicySet, *, opa_path: str | None = None) -> None:
        super().__init__(policies)
        found = opa_path or shutil.which("opa")
        if not found:
            raise InputError(f"--engine opa: no `opa` executable on PATH; {INSTALL_HINT}")
        self.executable = found

    def command(self, bundle: Path, query: str) -> Sequence[str]:
        return [
            self.executable,
            "eval",
            "--format",
            "json",
            "--data",
            str(bundle / "policy"),
            "--data",
            str(bundle / "data.json"),
            "--input",
            str(bundle / "input.json"),
            query,
        ]

    def query(self, query: str, input_document: Mapping[str, Any] | None) -> Any:
        with tempfile.TemporaryDirectory(prefix="phistack-opa-") as tmp:
            bundle = Path(tmp)
            for module in self.policies.modules:
                target = bundle / "policy" / module.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(module.text, encoding="utf-8")
            (bundle / "data.json").write_text(json.dumps(self.policies.data), encoding="utf-8")
            (bundle / "input.json").write_text(json.dumps(input_document or {}), encoding="utf-8")
            proc = subprocess.run(self.command(bundle, query), capture_output=True, text=True, check=False)
            return parse_eval_output(proc.stdout or proc.stderr, proc.returncode, str(bundle / "policy"))
