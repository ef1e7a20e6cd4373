"""The Pulumi CLI as phistack uses it: found up front, pointed at a backend, given a passphrase.

The Automation API shells out to ``pulumi`` for everything; without the CLI it fails deep inside with
a ``FileNotFoundError``. phistack looks for the CLI first and says, in one line, how to install it.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from pathlib import Path

from phistack.errors import ExitCode, InputError, PhistackError
from phistack.stackconfig import StackSettings

INSTALL_URL = "https://www.pulumi.com/docs/iac/download-install/"
INSTALL_HINT = (
    "the Pulumi CLI (`pulumi`) is not on PATH: install it with `curl -fsSL https://get.pulumi.com | sh` "
    f"(or see {INSTALL_URL}); `phistack check STACK` gates a stack offline without it"
)
STATE_DIR = ".state"  # the project's state folder: local backend, decision records (gitignored)
PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


class DeployError(PhistackError):
    """The Pulumi CLI could not do what was asked (missing, misconfigured, or the program failed): exit 2."""

    exit_code = ExitCode.USAGE


class PulumiCliMissing(DeployError):
    """No ``pulumi`` executable on PATH."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


def require_cli() -> str:
    """The path of the ``pulumi`` executable; raise :class:`PulumiCliMissing` when there is none."""
    found = shutil.which("pulumi")
    if found is None:
        raise PulumiCliMissing()
    return found


def state_dir(project_root: Path) -> Path:
    return project_root.resolve() / STATE_DIR


def default_backend(project_root: Path) -> str:
    """The local file backend in the project's state folder."""
    return state_dir(project_root).as_uri()


def prepare_backend(url: str) -> None:
    """Create the directory of a ``file://`` backend (the CLI refuses a missing one)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != "file":
        return
    path = Path(urllib.parse.unquote(parsed.path))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"--backend {url}: cannot create the state directory {path}: {err.strerror or err}") from err


def display_backend(url: str) -> str:
    """The backend URL without credentials, for records and messages."""
    parsed = urllib.parse.urlparse(url)
    if parsed.password is None and parsed.username is None:
        return url
    host = parsed.hostname or ""
    if parsed.port is not None:
        host = f"{host}:{parsed.port}"
    return urllib.parse.urlunparse(parsed._replace(netloc=host))


def _uses_passphrase(backend: str, stack: StackSettings) -> bool:
    """DIY backends (file, s3, azblob, gs, postgres) default to the passphrase secrets provider."""
    if urllib.parse.urlparse(backend).scheme in ("http", "https"):
        return False  # Pulumi Cloud or a self-hosted service manages the stack's secrets
    provider = stack.settings.get("secretsprovider")
    return not provider or str(provider).startswith("passphrase")


def cli_env(backend: str, stack: StackSettings) -> dict[str, str]:
    """Environment for every CLI call: the backend, the passphrase when one is needed, no update check."""
    env = {"PULUMI_BACKEND_URL": backend, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    if _uses_passphrase(backend, stack):
        present = [name for name in PASSPHRASE_VARS if name in os.environ]
        if not present:
            raise InputError(
                f"{stack.path}: the {display_backend(backend)} backend encrypts stack secrets with a passphrase: "
                "set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE"
            )
        for name in present:
            env[name] = os.environ[name]
    return env
