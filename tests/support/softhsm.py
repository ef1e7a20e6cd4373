"""A real SoftHSM2 token for the tests: its own config and token directory, AES KEKs inside.

SoftHSM reads ``SOFTHSM2_CONF`` once, when a process first initialises the module, and a module can
be initialised only once per process. So there is one token per test process:
:func:`shared_softhsm` creates it on first use (before the module is loaded here) and returns the
same instance afterwards. Subprocesses get the same token through :attr:`SoftHsm.env`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from pkcs11 import Attribute, KeyType, ObjectClass

from runtime.crypto.kek_pkcs11 import load_module

TOKEN_LABEL = "phistack-test"
USER_PIN = "2468-user"
SO_PIN = "1357-so"
# Keys generated inside the HSM (never extractable) and one imported from known bytes (interop tests).
GENERATED_KEKS = ("kek-a", "kek-b")
IMPORTED_KEK = "kek-imported"
NO_WRAP_KEY = "aes-no-wrap"

_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


@dataclass
class SoftHsm:
    """A SoftHSM2 token initialised for the tests."""

    root: Path
    conf: Path
    module: str
    imported_key: bytes
    pin_file: Path
    env: dict[str, str] = field(default_factory=dict)

    def uri(self, label: str, *, pin: bool = True, module: bool = True) -> str:
        """A ``pkcs11:`` URI for key ``label`` on the test token."""
        uri = f"pkcs11:token={quote(TOKEN_LABEL)};object={quote(label)}"
        query = []
        if pin:
            query.append(f"pin-value={quote(USER_PIN)}")
        if module:
            query.append(f"module-path={quote(self.module)}")
        return uri + ("?" + "&".join(query) if query else "")


def find_module() -> str:
    """The SoftHSM2 PKCS#11 module; fails (never skips) when SoftHSM2 is not installed."""
    for candidate in _MODULE_CANDIDATES:
        if os.path.exists(candidate):
            return candidate
    pytest.fail("SoftHSM2 is not installed (libsofthsm2.so not found): run scripts/install-system-deps.sh")


def _create(root: Path) -> SoftHsm:
    util = shutil.which("softhsm2-util")
    if util is None:
        pytest.fail("softhsm2-util not found: run scripts/install-system-deps.sh")
    module = find_module()
    tokens = root / "tokens"
    tokens.mkdir(parents=True)
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    subprocess.run(
        [util, "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", USER_PIN, "--so-pin", SO_PIN],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    # This process initialises the module below, so it must read this config.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    imported = os.urandom(32)
    token = load_module(module).get_token(token_label=TOKEN_LABEL)
    with token.open(rw=True, user_pin=USER_PIN) as session:
        for number, label in enumerate(GENERATED_KEKS, start=1):
            session.generate_key(
                KeyType.AES,
                256,
                label=label,
                id=bytes([number]),
                store=True,
                template={
                    Attribute.WRAP: True,
                    Attribute.UNWRAP: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                },
            )
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.SECRET_KEY,
                Attribute.KEY_TYPE: KeyType.AES,
                Attribute.VALUE: imported,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: True,
                Attribute.LABEL: IMPORTED_KEK,
                Attribute.ID: b"\x10",
                Attribute.WRAP: True,
                Attribute.UNWRAP: True,
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
            }
        )
        session.generate_key(
            KeyType.AES,
            256,
            label=NO_WRAP_KEY,
            id=b"\x20",
            store=True,
            template={Attribute.WRAP: False, Attribute.UNWRAP: False},
        )
    pin_file = root / "pin"
    pin_file.write_text(USER_PIN + "\n")
    pin_file.chmod(0o600)
    return SoftHsm(root=root, conf=conf, module=module, imported_key=imported, pin_file=pin_file, env=env)


_INSTANCE: SoftHsm | None = None


def shared_softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    """The test process's SoftHSM2 token, created on first call."""
    global _INSTANCE
    if _INSTANCE is None:
        _INSTANCE = _create(tmp_path_factory.mktemp("softhsm"))
    return _INSTANCE
