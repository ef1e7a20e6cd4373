"""Every command that reads a file, fed what a careless operator or an attacker would give it: a missing file, a
directory, an empty file, random bytes, a file past the size limit, the wrong JSON/YAML type and a symlink
loop. Each must answer with one line on stderr, no traceback, within seconds, and never exit 0.

Verification commands (decrypt, verify) may call garbage a failed verification (exit 1) rather than bad input
(exit 2); both are documented (docs/CONTRACTS.md). Every other command must say bad input: exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.paths import REPO

BAD_INPUT = {2}
REFUSED = {1, 2}
OVERSIZED = 17 << 20  # past the 16 MiB limit of the config reader

# (id, module, argv with FILE for the fuzzed input and KEY for a valid key where one is needed, exit codes)
COMMANDS = [
    ("check --plan", "phistack", ["check", "--plan", "FILE"], BAD_INPUT),
    ("check --waivers", "phistack", ["check", "--plan", "PLAN", "--waivers", "FILE"], BAD_INPUT),
    ("plan --from-preview", "phistack", ["plan", "--from-preview", "FILE", "-o", "OUT"], BAD_INPUT),
    ("plan --from-state", "phistack", ["plan", "--from-state", "FILE", "-o", "OUT"], BAD_INPUT),
    ("render --plan", "phistack", ["render", "--plan", "FILE", "-o", "OUT"], BAD_INPUT),
    ("evidence --plan", "phistack", ["evidence", "--plan", "FILE", "-o", "OUT"], BAD_INPUT),
    ("cost --catalogue", "phistack", ["cost", "clinical-nlp", "--catalogue", "FILE"], BAD_INPUT),
    ("decision verify", "phistack", ["decision", "verify", "FILE", "--key", "PUB"], REFUSED),
    ("decision verify --key", "phistack", ["decision", "verify", "RECORD", "--key", "FILE"], BAD_INPUT),
    ("audit verify", "phistack", ["audit", "verify", "FILE", "--key", "PUB"], REFUSED),
    ("waiver verify", "phistack", ["waiver", "verify", "FILE"], BAD_INPUT),
    ("waiver sign --key", "phistack", ["waiver", "sign", "WAIVERS", "--key", "FILE"], BAD_INPUT),
    ("data info", "phistack", ["data", "info", "FILE"], REFUSED),
    ("data decrypt", "phistack", ["data", "decrypt", "FILE", "-o", "OUT", "--object-id", "o", "--kek", "KEK"], REFUSED),
    ("data encrypt --kek", "phistack", ["data", "encrypt", "PLAIN", "-o", "OUT", "--object-id", "o", "--kek", "FKEK"],
     BAD_INPUT),
    ("keybroker serve", "phistack", ["keybroker", "serve", "--config", "FILE"], BAD_INPUT),
    ("runtime run", "runtime", ["run", "FILE"], BAD_INPUT),
]
KINDS = ["missing", "directory", "empty", "random bytes", "oversized", "wrong type", "symlink loop"]


def _make(kind: str, path: Path) -> None:
    if kind == "missing":
        return
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random bytes":
        path.write_bytes(os.urandom(4096))
    elif kind == "oversized":
        with path.open("wb") as handle:
            handle.truncate(OVERSIZED)  # sparse: the size is what counts
    elif kind == "wrong type":
        path.write_text("- 1\n- 2\n")  # a list where a mapping (or a key, or a header) is expected
    elif kind == "symlink loop":
        path.symlink_to(path)


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Valid files for the arguments that are not fuzzed."""
    root = tmp_path_factory.mktemp("valid")
    files = {"PLAN": REPO / "tests" / "fixtures" / "plans" / "phi-compliant.json", "PLAIN": root / "plain"}
    files["PLAIN"].write_bytes(b"scan")
    assert run_cli("decision", "keygen", "-o", str(root / "gate")).returncode == 0
    files["PUB"], files["PRIV"] = root / "gate.pub", root / "gate.key"
    assert run_cli("data", "keygen", "-o", str(root / "k")).returncode == 0
    files["KEK"] = root / "k.key"
    record = root / "record.json"
    signed = run_cli("check", "--plan", str(files["PLAN"]), "--sign", str(files["PRIV"]), "--record", str(record))
    assert signed.returncode == 0, signed.stderr
    files["RECORD"] = record
    waivers = root / "waivers.yaml"
    waivers.write_text("waivers: []\n")
    files["WAIVERS"] = waivers
    return files


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("name", "module", "argv", "codes"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_garbage_input_is_one_line_never_a_pass(
    tmp_path: Path, valid: dict[str, Path], name: str, module: str, argv: list[str], codes: set[int], kind: str
) -> None:
    target = tmp_path / "input"
    _make(kind, target)
    out = tmp_path / "out"
    words = []
    for word in argv:
        if word == "FILE":
            word = str(target)
        elif word == "FKEK":
            word = f"file:{target}"
        elif word == "OUT":
            word = str(out)
        elif word == "KEK":
            word = f"file:{valid['KEK']}"
        elif word in valid:
            word = str(valid[word])
        words.append(word)
    proc = run_cli(*words, module=module, cwd=tmp_path, timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in codes, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip() and ": warning:" not in line]
    assert len(lines) == 1, proc.stderr
    assert ": error: " in lines[0] or lines[0].startswith(("REFUSED", "FAILED")), lines[0]
    assert not out.exists(), "a failed command left its output behind"
