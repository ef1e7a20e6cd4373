"""Tamper-evident audit log (45 CFR 164.312(b)): hash-chained records, signed RFC 6962 checkpoints,
a verifier, and real-time shipping to the customer's SIEM over syslog/TLS 1.3.

Public API::

    from runtime.audit import AuditLog
    with AuditLog.open(path, signing_key=key) as log:
        log.append("svc:runtime", "data.access", "s3://bucket/obj", "success", {"bytes": 1024})

See docs/AUDIT.md for the formats and the commands.
"""

from runtime.audit.checkpoint import Checkpoint, read_checkpoints
from runtime.audit.errors import AuditUnavailableError, ShippingError, SpoolFullError
from runtime.audit.log import AuditLog
from runtime.audit.record import OUTCOMES, AuditRecord
from runtime.audit.spool import SpoolPolicy

__all__ = [
    "OUTCOMES",
    "AuditLog",
    "AuditRecord",
    "AuditUnavailableError",
    "Checkpoint",
    "ShippingError",
    "SpoolFullError",
    "SpoolPolicy",
    "read_checkpoints",
]
