"""Errors of the gate; the base classes live in :mod:`runtime.errors` so both CLIs share them."""

from runtime.errors import ExitCode, InputError, PhistackError, PolicyError, VerificationError

__all__ = ["ExitCode", "InputError", "PhistackError", "PolicyError", "VerificationError"]
