"""``phistack data`` as a user runs it: exit codes, one-line errors, and no output after a failure."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.crypto.header import read_header
from tests.support.softhsm import TOKEN_LABEL, SoftHsm, shared_softhsm

ROOT = Path(__file__).resolve().parents[2]
SEG = 4096
OBJ = "mri-brain-0042"
TENANT = "st-mary"


@pytest.fixture(scope="session")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    return shared_softhsm(tmp_path_factory)


def phistack(
    *args: str, cwd: Path, env: dict[str, str] | None = None, python: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**(env or os.environ), "PYTHONPATH": str(ROOT)}
    command = python or [sys.executable, "-m", "phistack"]
    return subprocess.run(
        [*command, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120, check=False
    )


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single error line on stderr (warnings about a development KEK may precede it)."""
    errors = [line for line in result.stderr.splitlines() if not line.startswith("phistack: warning:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("phistack: error: "), result.stderr
    return errors[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """File KEKs ``k.key`` and ``k2.key``, plaintext ``in`` and its ``in.enc``, made once through the CLI."""
    root = tmp_path_factory.mktemp("data-cli")
    assert phistack("data", "keygen", "-o", "k", cwd=root).returncode == 0
    assert phistack("data", "keygen", "-o", "k2", cwd=root).returncode == 0
    (root / "in").write_bytes(os.urandom(5 * SEG + 99))
    result = phistack(
        "data", "encrypt", "in", "-o", "in.enc", "--object-id", OBJ, "--tenant", TENANT,
        "--kek", "file:k.key", "--segment-size", "4KiB", cwd=root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def work(template: Path, tmp_path: Path) -> Path:
    """A private copy of the template directory."""
    for item in template.iterdir():
        shutil.copy2(item, tmp_path / item.name)
    return tmp_path


def decrypt(
    work: Path, src: str = "in.enc", *, object_id: str = OBJ, tenant: str = TENANT, kek: str = "file:k.key"
):
    return phistack(
        "data",
        "decrypt",
        src,
        "-o",
        "out",
        "--object-id",
        object_id,
        "--tenant",
        tenant,
        "--kek",
        kek,
        cwd=work,
    )


def records(blob: bytes) -> list[tuple[int, int]]:
    stream = io.BytesIO(blob)
    read_header(stream)
    pos, out = stream.tell(), []
    while pos < len(blob):
        (word,) = struct.unpack_from(">I", blob, pos)
        size = 4 + (word & 0x7FFF_FFFF) + 16
        out.append((pos, size))
        pos += size
    return out


def assert_no_output(work: Path) -> None:
    leftovers = sorted(
        p.name for p in work.iterdir() if p.name not in {"k.key", "k2.key", "in", "in.enc", "bad.enc"}
    )
    assert leftovers == [], leftovers


def test_every_data_command_has_help(tmp_path: Path) -> None:
    top = phistack("data", "--help", cwd=tmp_path)
    assert top.returncode == 0
    for action in ("encrypt", "decrypt", "rewrap", "keygen", "info"):
        assert action in top.stdout
        result = phistack("data", action, "--help", cwd=tmp_path)
        assert result.returncode == 0 and "usage: phistack data " + action in result.stdout


def test_keygen_writes_a_private_key_and_refuses_to_overwrite(tmp_path: Path) -> None:
    result = phistack("data", "keygen", "-o", "dev", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == f"file:{tmp_path / 'dev.key'}\n"
    assert "for development only" in result.stderr
    assert (tmp_path / "dev.key").stat().st_mode & 0o777 == 0o600
    again = phistack("data", "keygen", "-o", "dev", cwd=tmp_path)
    assert again.returncode == 2
    assert error_line(again) == "phistack: error: refusing to overwrite an existing key file without --force (dev.key)"


def test_round_trip_and_info(work: Path) -> None:
    result = decrypt(work)
    assert result.returncode == 0, result.stderr
    assert (work / "out").read_bytes() == (work / "in").read_bytes()
    assert (
        result.stderr.splitlines()[-1]
        == "phistack: decrypted in.enc -> out: 20,579 bytes, every segment verified"
    )
    assert result.stderr.splitlines()[0].startswith(
        "phistack: warning: file KEK k.key is for development only"
    )
    info = phistack("data", "info", "in.enc", cwd=work)
    assert info.returncode == 0
    assert "segment size    4096" in info.stdout and "kek id          file:" in info.stdout


def tamper(work: Path, edit: Callable[[bytearray], bytearray]) -> None:
    blob = bytearray((work / "in.enc").read_bytes())
    (work / "bad.enc").write_bytes(bytes(edit(blob)))


def _flip(blob: bytearray) -> bytearray:
    offset, _ = records(bytes(blob))[3]
    blob[offset + 50] ^= 0x04
    return blob


def _truncate(blob: bytearray) -> bytearray:
    offset, _ = records(bytes(blob))[-1]
    return blob[:offset]


def _cut(blob: bytearray) -> bytearray:
    return blob[:-10]


def _append(blob: bytearray) -> bytearray:
    return blob + b"\x00" * 7


def _swap(blob: bytearray) -> bytearray:
    (a, size), (b, _) = records(bytes(blob))[1:3]
    return blob[:a] + blob[b : b + size] + blob[a : a + size] + blob[b + size :]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_flip, "segment 3 failed authentication: its bytes were modified (bad.enc)"),
        (_truncate, "truncated: the object ends after segment 4; the final segment is missing (bad.enc)"),
        (_cut, "truncated: segment 5 is cut short (109 of 119 bytes present) (bad.enc)"),
        (_append, "7 unexpected bytes after the final segment (segment 5): data was appended (bad.enc)"),
        (
            _swap,
            "segment 1 failed authentication: it is segment 2 of this object "
            "(segments reordered or duplicated) (bad.enc)",
        ),
    ],
    ids=["flipped-bit", "truncated", "cut-mid-segment", "appended", "reordered"],
)
def test_tampered_objects_are_refused_without_output(
    work: Path, edit: Callable[[bytearray], bytearray], message: str
) -> None:
    tamper(work, edit)
    result = decrypt(work, "bad.enc")
    assert result.returncode == 1
    assert error_line(result) == f"phistack: error: {message}"
    assert_no_output(work)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"object_id": "mri-brain-0043"},
            "object id mismatch: the object was not encrypted as 'mri-brain-0043' (in.enc)",
        ),
        (
            {"tenant": "st-luke"},
            "tenant mismatch: the object was not encrypted for tenant 'st-luke' (in.enc)",
        ),
        ({"kek": "file:k2.key"}, "wrong KEK: the data key is wrapped by KEK file:"),
    ],
    ids=["object-id", "tenant", "kek"],
)
def test_wrong_identity_or_key_is_refused_without_output(
    work: Path, kwargs: dict[str, str], message: str
) -> None:
    result = decrypt(work, **kwargs)
    assert result.returncode == 1
    assert error_line(result).startswith(f"phistack: error: {message}")
    assert_no_output(work)


def test_bad_input_is_exit_2(work: Path) -> None:
    not_encrypted = decrypt(work, "in")
    assert not_encrypted.returncode == 2
    assert (
        error_line(not_encrypted) == "phistack: error: not a phistack encrypted object (bad magic bytes) (in)"
    )
    missing = decrypt(work, "absent.enc")
    assert missing.returncode == 2
    assert "cannot read input: No such file or directory (absent.enc)" in error_line(missing)
    bad_uri = decrypt(work, kek="kms:key/1")
    assert bad_uri.returncode == 2
    assert "unsupported KEK URI 'kms:key/1'" in error_line(bad_uri)
    usage = phistack("data", "decrypt", "in.enc", "-o", "out", "--kek", "file:k.key", cwd=work)
    assert usage.returncode == 2 and "the following arguments are required: --object-id" in usage.stderr
    assert_no_output(work)


def test_rewrap_rotates_the_kek_in_place(work: Path) -> None:
    before = (work / "in.enc").read_bytes()
    result = phistack(
        "data", "rewrap", "in.enc", "--object-id", OBJ, "--tenant", TENANT, "--kek", "file:k.key",
        "--new-kek", "file:k2.key", cwd=work,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "encrypted data unchanged" in result.stderr.splitlines()[-1]
    after = (work / "in.enc").read_bytes()
    assert after[-SEG:] == before[-SEG:]
    assert decrypt(work, kek="file:k.key").returncode == 1
    assert decrypt(work, kek="file:k2.key").returncode == 0
    refused = phistack(
        "data", "rewrap", "in.enc", "--object-id", OBJ, "--tenant", TENANT, "--kek", "file:k.key",
        "--new-kek", "file:k2.key", cwd=work,
    )  # fmt: skip
    assert refused.returncode == 1 and "wrong KEK" in error_line(refused)
    assert (work / "in.enc").read_bytes() == after


def test_hsm_kek_encrypt_decrypt_and_rotation(work: Path, hsm: SoftHsm) -> None:
    env = {**hsm.env, "PHISTACK_PKCS11_MODULE": hsm.module}
    kek_a = f"pkcs11:token={TOKEN_LABEL};object=kek-a?pin-source=file:{hsm.pin_file}"
    kek_b = f"pkcs11:token={TOKEN_LABEL};object=kek-b?pin-source=file:{hsm.pin_file}"
    enc = phistack(
        "data", "encrypt", "in", "-o", "hsm.enc", "--object-id", OBJ, "--kek", kek_a, cwd=work, env=env
    )
    assert enc.returncode == 0, enc.stderr
    assert "warning" not in enc.stderr
    assert enc.stderr.strip().endswith(f"KEK pkcs11:token={TOKEN_LABEL};object=kek-a")
    rotate = phistack(
        "data", "rewrap", "hsm.enc", "-o", "hsm-b.enc", "--object-id", OBJ,
        "--kek", kek_a, "--new-kek", kek_b, cwd=work, env=env,
    )  # fmt: skip
    assert rotate.returncode == 0, rotate.stderr
    wrong = phistack(
        "data", "decrypt", "hsm-b.enc", "-o", "out", "--object-id", OBJ, "--kek", kek_a, cwd=work, env=env
    )
    assert wrong.returncode == 1
    assert error_line(wrong) == (
        "phistack: error: wrong KEK: the data key is wrapped by KEK "
        f"pkcs11:token={TOKEN_LABEL};object=kek-b, not by pkcs11:token={TOKEN_LABEL};object=kek-a (hsm-b.enc)"
    )
    assert not (work / "out").exists()
    ok = phistack(
        "data", "decrypt", "hsm-b.enc", "-o", "out", "--object-id", OBJ, "--kek", kek_b, cwd=work, env=env
    )
    assert ok.returncode == 0, ok.stderr
    assert (work / "out").read_bytes() == (work / "in").read_bytes()
    bad_pin = phistack(
        "data", "decrypt", "hsm-b.enc", "-o", "out2", "--object-id", OBJ,
        "--kek", f"pkcs11:token={TOKEN_LABEL};object=kek-b?pin-value=0000", cwd=work, env=env,
    )  # fmt: skip
    assert bad_pin.returncode == 2
    assert error_line(bad_pin) == (
        f"phistack: error: PKCS#11 login refused: incorrect PIN (pkcs11:token={TOKEN_LABEL};object=kek-b)"
    )


_MEASURED = (
    "import resource, sys\n"
    "from phistack.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(f'maxrss_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _maxrss_kib(result: subprocess.CompletedProcess[str]) -> int:
    assert result.returncode == 0, result.stderr
    return int(result.stderr.strip().splitlines()[-1].split("=")[1])


def test_peak_rss_does_not_grow_with_the_object(work: Path) -> None:
    size = 128 << 20
    with (work / "big").open("wb") as handle:
        handle.truncate(size)
    python = [sys.executable, "-c", _MEASURED]
    baseline = _maxrss_kib(phistack("data", "info", "in.enc", cwd=work, python=python))
    common = ("--object-id", "big", "--kek", "file:k.key")
    enc = _maxrss_kib(phistack("data", "encrypt", "big", "-o", "big.enc", *common, cwd=work, python=python))
    dec = _maxrss_kib(
        phistack("data", "decrypt", "big.enc", "-o", "big.out", *common, cwd=work, python=python)
    )
    assert (work / "big.out").stat().st_size == size
    # 128 MiB streamed through 1 MiB segments: peak RSS grows by a few MiB, not by the object's size.
    assert enc - baseline < 24 * 1024, (baseline, enc)
    assert dec - baseline < 24 * 1024, (baseline, dec)
