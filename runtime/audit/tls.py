"""The TLS client context for shipping: TLS 1.3 only, the server verified against a configured CA."""

from __future__ import annotations

import os
import ssl

from runtime.errors import InputError


def client_context(
    ca_file: str | os.PathLike[str],
    *,
    client_cert: str | os.PathLike[str] | None = None,
    client_key: str | os.PathLike[str] | None = None,
) -> ssl.SSLContext:
    """A context that speaks TLS 1.3 only, trusts only ``ca_file`` and checks the host name.

    ``client_cert`` (with ``client_key``, unless the key is in the same file) presents a client
    certificate for mutual TLS.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    try:
        ctx.load_verify_locations(cafile=os.fspath(ca_file))
    except (OSError, ssl.SSLError) as err:
        raise InputError(f"cannot load the SIEM CA certificate: {err} ({ca_file})") from err
    if client_cert is not None:
        try:
            ctx.load_cert_chain(os.fspath(client_cert), os.fspath(client_key) if client_key else None)
        except (OSError, ssl.SSLError) as err:
            raise InputError(f"cannot load the client certificate or key: {err} ({client_cert})") from err
    elif client_key is not None:
        raise InputError("a client key was given without a client certificate")
    return ctx


def describe_tls_error(err: BaseException, where: str) -> str:
    """A precise, human reason for a failed TLS handshake."""
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"the SIEM at {where} presented a certificate that does not verify: {err.verify_message}"
    text = str(err)
    if any(
        marker in text
        for marker in (
            "PROTOCOL_VERSION",
            "UNSUPPORTED_PROTOCOL",
            "NO_PROTOCOLS_AVAILABLE",
            "protocol version",
            "WRONG_SSL_VERSION",
            "VERSION_TOO_LOW",
        )
    ):
        return f"the SIEM at {where} does not offer TLS 1.3 (refused: {getattr(err, 'reason', None) or text})"
    return f"TLS handshake with the SIEM at {where} failed: {getattr(err, 'reason', None) or text}"
