"""The command lines hold up against a careless operator: closed pipes, huge config files, key files in the way,
and no teardown noise at exit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runtime.configfile import MAX_CONFIG_BYTES
from tests.support.cli import assert_one_line_error, run_cli
from tests.support.paths import REPO

# --- a closed stdout -------------------------------------------------------------------------------------


def _with_stdout_closed(*args: str, cwd: Path) -> tuple[int, str]:
    """Run phistack with the read end of its stdout closed before it writes (`... | head -0`)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "phistack", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    return proc.wait(timeout=60), stderr


@pytest.mark.parametrize("args", [("audit", "verify", "audit.log"), ("--help",), ("--version",)], ids=str)
def test_closed_pipe_exits_141_without_a_traceback(tmp_path: Path, args: tuple[str, ...]) -> None:
    append = run_cli(
        "audit", "append", "audit.log", "--actor", "u", "--action", "a", "--object", "o", "--outcome", "success",
        cwd=tmp_path,
    )  # fmt: skip
    assert append.returncode == 0, append.stderr
    code, stderr = _with_stdout_closed(*args, cwd=tmp_path)
    assert (code, stderr) == (141, "")


def test_head_of_a_pipe_keeps_what_it_read(tmp_path: Path) -> None:
    assert run_cli("data", "keygen", "-o", "k", cwd=tmp_path).returncode == 0
    shell = f"{sys.executable} -m phistack audit verify --help | head -1; echo \"${{PIPESTATUS[0]}}\""
    proc = subprocess.run(
        ["bash", "-c", shell], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    first, status = proc.stdout.splitlines()
    assert first.startswith("usage: phistack audit verify")
    assert status in ("0", "141") and "Traceback" not in proc.stderr


# --- no asyncio teardown noise ---------------------------------------------------------------------------


def test_a_failed_check_exits_with_one_line_every_time(tmp_path: Path) -> None:
    # The Pulumi SDK's per-thread event loops used to be collected at exit with a traceback, now and then.
    for _ in range(3):
        proc = run_cli("check", "clinical-nlp", "--waivers", str(tmp_path / "missing.yaml"))
        assert_one_line_error(proc, 2, "missing.yaml", "cannot read waivers")


# --- config files over the size limit ------------------------------------------------------------------


def _huge(path: Path) -> Path:
    """A sparse file one byte over the limit: the size is what matters, not the content."""
    with open(path, "wb") as handle:
        handle.truncate(MAX_CONFIG_BYTES + 1)
    return path


@pytest.fixture(scope="module")
def huge_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("huge")
    (root / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (root / "stacks").mkdir()
    (root / "stacks" / "__main__.py").write_text((REPO / "stacks" / "__main__.py").read_text())
    _huge(root / "stacks" / "Pulumi.huge.yaml")
    return root


@pytest.mark.parametrize(
    ("module", "args", "what"),
    [
        ("phistack", ("plan", "huge"), "stack config"),
        ("phistack", ("check", "huge", "--policies", str(REPO / "policies")), "stack config"),
        ("phistack", ("render", "huge", "-o", "out"), "stack config"),
        ("phistack", ("cost", "huge", "--catalogue", str(REPO / "stacks" / "prices.yaml")), "stack config"),
        ("phistack", ("check", "clinical-nlp", "--waivers", "HUGE"), "waivers"),
        ("phistack", ("keybroker", "serve", "--config", "HUGE"), "key broker config"),
        ("phistack-runtime", ("run", "HUGE"), "job file"),
    ],
    ids=lambda v: v if isinstance(v, str) else " ".join(v)[:40],
)
def test_config_over_the_size_limit_is_refused_at_once(
    huge_project: Path, tmp_path: Path, module: str, args: tuple[str, ...], what: str
) -> None:
    huge = _huge(tmp_path / "huge.yaml")
    args = tuple(str(huge) if a == "HUGE" else a for a in args)
    if args[0] in ("plan", "check", "render", "cost") and "--waivers" not in args:
        args = (*args, "--project", str(huge_project))
    started = time.monotonic()
    proc = run_cli(*args, module="runtime" if module == "phistack-runtime" else "phistack", cwd=tmp_path, timeout=60)
    assert_one_line_error(proc, 2, f"cannot read {what}: larger than the 16 MiB limit")
    assert time.monotonic() - started < 30


# --- keygen never replaces what is there without --force ---------------------------------------------------

KEYGENS = {
    "data": (("data", "keygen", "-o", "k"), ["k.key"]),
    "audit": (("audit", "keygen", "-o", "k"), ["k.key", "k.pub"]),
    "decision": (("decision", "keygen", "-o", "k"), ["k.key", "k.pub"]),
}


@pytest.mark.parametrize("command", sorted(KEYGENS))
def test_keygen_writes_prefix_key_0600_and_prefix_pub(tmp_path: Path, command: str) -> None:
    # Every keygen takes -o PREFIX; a data KEK is symmetric, so it has no PREFIX.pub.
    args, paths = KEYGENS[command]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == paths
    assert (tmp_path / "k.key").stat().st_mode & 0o777 == 0o600
    if "k.pub" in paths:
        assert (tmp_path / "k.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
        assert "(key id sha256:" in proc.stderr


@pytest.mark.parametrize("command", sorted(KEYGENS))
@pytest.mark.parametrize("existing", ["file", "link", "dangling link"])
def test_keygen_refuses_an_existing_path(tmp_path: Path, command: str, existing: str) -> None:
    args, paths = KEYGENS[command]
    target = tmp_path / "precious"
    target.write_bytes(b"keep me")
    victim = tmp_path / paths[-1]
    if existing == "file":
        victim.write_bytes(b"keep me")
    else:
        victim.symlink_to(target if existing == "link" else tmp_path / "nowhere")
    proc = run_cli(*args, cwd=tmp_path)
    assert_one_line_error(proc, 2, "refusing to overwrite an existing key file without --force", paths[-1])
    assert target.read_bytes() == b"keep me"
    assert victim.is_symlink() == (existing != "file")
    assert not (tmp_path / paths[0]).exists() or paths[0] == paths[-1]  # nothing half-made


@pytest.mark.parametrize("command", sorted(KEYGENS))
def test_keygen_force_replaces_the_link_not_its_target(tmp_path: Path, command: str) -> None:
    args, paths = KEYGENS[command]
    target = tmp_path / "precious"
    target.write_bytes(b"keep me")
    for name in paths:
        (tmp_path / name).symlink_to(target)
    proc = run_cli(*args, "--force", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes() == b"keep me"
    for name in paths:
        assert not (tmp_path / name).is_symlink() and (tmp_path / name).stat().st_size > 0
    assert (tmp_path / paths[0]).stat().st_mode & 0o777 == 0o600


def test_keygens_report_on_stderr(tmp_path: Path) -> None:
    # data keygen prints its KEK URI (data, for a script to capture); the key pairs print nothing on stdout.
    data = run_cli("data", "keygen", "-o", "k", cwd=tmp_path)
    assert data.stdout == f"file:{tmp_path / 'k.key'}\n"
    for command in ("audit", "decision"):
        proc = run_cli(command, "keygen", "-o", command, cwd=tmp_path)
        assert proc.returncode == 0 and proc.stdout == ""
        assert proc.stderr.startswith(f"phistack: wrote {command}.key ("), proc.stderr


def test_keygen_force_on_a_link_to_a_device_replaces_the_link(tmp_path: Path) -> None:
    # Without the link being replaced, the private key would go out through the device (/dev/stdout, a tty).
    link = tmp_path / "k.key"
    link.symlink_to("/dev/null")
    proc = run_cli("data", "keygen", "-o", "k", "--force", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not link.is_symlink() and link.stat().st_size == 32 and link.stat().st_mode & 0o777 == 0o600
    assert Path("/dev/null").is_char_device()


# --- garbage config files: exit 2 with one line, never a traceback, a hang or exit 0 -------------------------


def _garbage(kind: str, path: Path) -> None:
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random bytes":
        path.write_bytes(bytes(range(256)) * 8)
    elif kind == "wrong types":
        path.write_text("- a list\n- where a mapping belongs\n")
    elif kind == "symlink loop":
        path.symlink_to(path)


GARBAGE = ["directory", "empty", "random bytes", "wrong types", "symlink loop"]


@pytest.mark.parametrize("kind", GARBAGE)
@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("phistack", ("plan", "x", "--project", "PROJECT")),
        ("phistack", ("cost", "x", "--project", "PROJECT")),
        ("phistack", ("check", "clinical-nlp", "--waivers", "FILE")),
        ("phistack", ("keybroker", "serve", "--config", "FILE")),
        ("runtime", ("run", "FILE")),
    ],
    ids=lambda v: v if isinstance(v, str) else v[0],
)
def test_garbage_config_is_one_line_exit_2(tmp_path: Path, module: str, args: tuple[str, ...], kind: str) -> None:
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (project / "stacks" / "__main__.py").write_text((REPO / "stacks" / "__main__.py").read_text())
    target = project / "stacks" / "Pulumi.x.yaml" if "PROJECT" in args else tmp_path / "config.yaml"
    _garbage(kind, target)
    argv = [str(project) if a == "PROJECT" else str(target) if a == "FILE" else a for a in args]
    proc = run_cli(*argv, module=module, cwd=tmp_path, timeout=60)
    assert_one_line_error(proc, 2)
