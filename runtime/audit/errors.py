"""Errors of the audit log beyond the shared ones in :mod:`runtime.errors`."""

from __future__ import annotations

from runtime.errors import ExitCode, PhistackError


class AuditUnavailableError(PhistackError):
    """An event could not be recorded, so the operation it describes must not go ahead (fail closed)."""

    exit_code = ExitCode.DENIED


class SpoolFullError(AuditUnavailableError):
    """The shipping spool is full and its policy is ``block``: the append was refused."""


class ShippingError(PhistackError):
    """The SIEM could not be reached or refused the connection (TLS version, certificate, network)."""

    exit_code = ExitCode.DENIED
