"""The one error base class of phistack, shared by the runtime and the gate.

Every user-facing failure raises a subclass of :class:`PhistackError`; the CLIs catch it at the top,
print ``diagnostic()`` as one line and exit with ``exit_code``. Anything else is a bug.
"""

from __future__ import annotations


class ExitCode:
    """Documented exit codes (docs/CONTRACTS.md)."""

    OK = 0
    DENIED = 1  # the gate denied, a verification failed, or a security check refused
    USAGE = 2  # usage error or bad input (files, config, waivers, plans)
    ENGINE = 3  # a policy or engine error: never a pass


class PhistackError(Exception):
    """Base class: a failure with a human diagnostic and a documented exit code."""

    exit_code: int = ExitCode.USAGE

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    def diagnostic(self) -> str:
        """One line for the terminal."""
        return " ".join(str(self).split())


class InputError(PhistackError):
    """Bad input: a file, key path or value the user can fix (exit 2)."""

    exit_code = ExitCode.USAGE


class PolicyError(PhistackError):
    """A policy could not be loaded or evaluated (exit 3)."""

    exit_code = ExitCode.ENGINE


class VerificationError(PhistackError):
    """A security verification failed; the message says precisely why (exit 1)."""

    exit_code = ExitCode.DENIED
