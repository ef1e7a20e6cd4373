"""The runtime Containerfile, checked by parsing it (no container engine here): base pinned by
digest, non-root user, nothing secret in a layer, only the runtime's requirements, and the same
entrypoint the tests use."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTAINERFILE = ROOT / "runtime" / "Containerfile"
SECRET_NAME = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|_KEY\b|PIN\b)", re.I)


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for raw in CONTAINERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "dangling line continuation"
    out = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in _instructions():
        if keyword == "FROM":
            stages.append([])
        assert stages, f"{keyword} before the first FROM"
        stages[-1].append((keyword, args))
    return stages


def test_every_base_image_is_pinned_by_digest() -> None:
    froms = [args for keyword, args in _instructions() if keyword == "FROM"]
    assert froms
    for args in froms:
        image = args.split()[0]
        assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", image), f"not pinned by digest: {image}"


def test_final_stage_runs_as_a_non_root_user() -> None:
    final = _stages()[-1]
    users = [args for keyword, args in final if keyword == "USER"]
    assert users, "the final stage never drops root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # Nothing after the USER switch may switch back.
    last_user = max(i for i, (k, _) in enumerate(final) if k == "USER")
    assert all(k != "USER" for k, _ in final[last_user + 1 :])


def test_entrypoint_is_phistack_runtime_and_runs_what_the_tests_run() -> None:
    entrypoints = [args for keyword, args in _instructions() if keyword == "ENTRYPOINT"]
    assert entrypoints[-1] == '["phistack-runtime"]'  # exec form: signals reach the runtime
    shim = [args for keyword, args in _instructions() if keyword == "RUN" and "bin/phistack-runtime" in args]
    assert shim and "-m runtime" in shim[0]  # tests run [sys.executable, "-m", "runtime", ...]


def test_installs_only_the_runtime_requirements() -> None:
    installs = [args for keyword, args in _instructions() if keyword == "RUN" and "pip install" in args]
    assert len(installs) == 1
    tokens = shlex.split(installs[0].split("pip install", 1)[1].split("&&")[0])
    assert tokens[-2:] == ["-r", "/tmp/runtime-requirements.txt"]
    copies = [args for keyword, args in _instructions() if keyword == "COPY"]
    assert "runtime/requirements.txt /tmp/runtime-requirements.txt" in copies
    for args in copies:
        sources = [t for t in shlex.split(args)[:-1] if not t.startswith("--")]
        assert all(s.startswith("runtime/") or args.startswith("--from=") for s in sources), args


@pytest.mark.parametrize("line", (ROOT / "runtime" / "requirements.txt").read_text().splitlines())
def test_runtime_requirements_are_exact_pins_without_pulumi(line: str) -> None:
    line = line.split("#", 1)[0].strip()
    if not line:
        return
    assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+\-]+", line), f"not an exact pin: {line}"
    assert not line.lower().startswith("pulumi")
    if line.lower().startswith("torch=="):
        assert line == "torch==2.13.0"


def test_no_secrets_in_layers() -> None:
    for keyword, args in _instructions():
        if keyword in ("ARG", "ENV"):
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args) or [args.split("=")[0]]
            for name in names:
                assert not SECRET_NAME.search(name), f"{keyword} {name} looks like a secret"
        if keyword in ("COPY", "ADD"):
            assert not re.search(r"\.(kek|key|p12|env)\b", args), args
    # And nothing under runtime/ (all that is copied in) holds a private key.
    for path in (ROOT / "runtime").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            assert b"PRIVATE KEY-----" not in path.read_bytes(), path


def test_build_context_filter_keeps_only_runtime_and_no_key_material() -> None:
    ignore = (ROOT / ".containerignore").read_text().splitlines()
    assert ignore[ignore.index("*") + 1] == "!runtime/"  # deny all, then allow runtime/
    for pattern in ("**/*.kek", "**/*.key", "**/*private*", "**/.env"):
        assert pattern in ignore
    docker = ROOT / ".dockerignore"
    assert docker.resolve() == (ROOT / ".containerignore").resolve()
    # No exclusion after "!runtime/" may drop runtime code (a pattern like **/audit/ once did).
    exclusions = [p for p in ignore[ignore.index("!runtime/") + 1 :] if p and not p.startswith(("#", "!"))]
    for path in (ROOT / "runtime").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        for pattern in exclusions:
            regex = re.escape(pattern.rstrip("/")).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
            assert not re.match(regex + "(/|$)", rel), f"{pattern} would drop {rel}"


def test_runtime_code_needs_nothing_outside_runtime() -> None:
    # The image carries runtime/ only: no module in it may import the gate or Pulumi.
    bad = re.compile(r"^\s*(from|import)\s+(phistack|pulumi|modules|stacks)\b", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "runtime").rglob("*.py") if bad.search(p.read_text())]
    assert offenders == []
