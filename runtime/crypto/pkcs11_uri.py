"""Parsing of ``pkcs11:`` URIs (RFC 7512) into what a KEK lookup needs.

``pkcs11:token=phistack;object=kek-2026?pin-source=file:/run/secrets/pin&module-path=/usr/lib/x.so``

Path attributes (``;``-separated) select the token and the key; query attributes (``&``-separated)
say how to log in and which module to load. Values are percent-decoded. Unknown or repeated
attributes are refused rather than ignored, so a typo cannot select another key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes

from runtime.crypto.errors import KekError

MODULE_ENV = "PHISTACK_PKCS11_MODULE"
PIN_ENV = "PHISTACK_PKCS11_PIN"

_PATH_ATTRS = {
    "token",
    "manufacturer",
    "serial",
    "model",
    "object",
    "type",
    "id",
    "library-manufacturer",
    "library-description",
    "library-version",
    "slot-description",
    "slot-manufacturer",
    "slot-id",
}
_QUERY_ATTRS = {"pin-source", "pin-value", "module-name", "module-path"}


@dataclass(frozen=True, repr=False)
class Pkcs11Uri:
    """The parts of a ``pkcs11:`` URI a KEK lookup uses (``pin`` is never printed)."""

    token: str | None
    serial: str | None
    slot_id: int | None
    object_label: str | None
    object_id: bytes | None
    module_path: str
    pin: str | None

    def canonical(self) -> str:
        """The URI without PIN or module: the KEK id recorded in headers."""
        parts = []
        if self.token is not None:
            parts.append(f"token={_quote(self.token.encode())}")
        if self.serial is not None:
            parts.append(f"serial={_quote(self.serial.encode())}")
        if self.object_label is not None:
            parts.append(f"object={_quote(self.object_label.encode())}")
        if self.object_id is not None:
            parts.append("id=" + "".join(f"%{b:02X}" for b in self.object_id))
        return "pkcs11:" + ";".join(parts)

    def __repr__(self) -> str:
        return f"Pkcs11Uri({self.canonical()!r}, module={self.module_path!r})"


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _quote(raw: bytes) -> str:
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in raw)


def _split(text: str, sep: str, allowed: set[str], where: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if not text:
        return attrs
    for item in text.split(sep):
        if not item:
            continue
        name, eq, value = item.partition("=")
        name = name.lower()
        if not eq:
            raise KekError(f"malformed pkcs11 URI: {where} attribute {name!r} has no value")
        if name not in allowed and not name.startswith("x-"):
            raise KekError(f"malformed pkcs11 URI: unknown {where} attribute {name!r}")
        if name in attrs:
            raise KekError(f"malformed pkcs11 URI: {where} attribute {name!r} given twice")
        attrs[name] = value
    return attrs


def _read_pin_source(source: str) -> str:
    path = Path(unquote(source[len("file:") :] if source.startswith("file:") else source))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise KekError(f"cannot read pkcs11 pin-source: {err.strerror or err} ({path})") from err
    return lines[0] if lines else ""


def parse_pkcs11_uri(uri: str, *, environ: dict[str, str] | None = None) -> Pkcs11Uri:
    """Parse ``uri``.

    Without ``module-path`` the module is ``$PHISTACK_PKCS11_MODULE``; without ``pin-value`` or
    ``pin-source`` the PIN is ``$PHISTACK_PKCS11_PIN`` (or no login).
    """
    env = os.environ if environ is None else environ
    if not uri.startswith("pkcs11:"):
        raise KekError(f"not a pkcs11 URI: {uri!r}")
    body = uri[len("pkcs11:") :]
    path_part, _, query_part = body.partition("?")
    path_attrs = _split(path_part, ";", _PATH_ATTRS, "path")
    query = _split(query_part, "&", _QUERY_ATTRS, "query")

    kind = unquote(path_attrs.get("type", "secret-key"))
    if kind != "secret-key":
        raise KekError(f"a pkcs11 KEK must be a secret key (type=secret-key), not type={kind}")
    label = unquote(path_attrs["object"]) if "object" in path_attrs else None
    object_id = unquote_to_bytes(path_attrs["id"]) if "id" in path_attrs else None
    if label is None and object_id is None:
        raise KekError("pkcs11 KEK URI must name the key with object= or id=")
    slot_id = None
    if "slot-id" in path_attrs:
        try:
            slot_id = int(unquote(path_attrs["slot-id"]))
        except ValueError as err:
            raise KekError("malformed pkcs11 URI: slot-id must be a decimal number") from err

    if "pin-value" in query and "pin-source" in query:
        raise KekError("pkcs11 URI gives both pin-value and pin-source")
    if "pin-value" in query:
        pin: str | None = unquote(query["pin-value"])
    elif "pin-source" in query:
        pin = _read_pin_source(unquote(query["pin-source"]))
    else:
        pin = env.get(PIN_ENV)
    module = unquote(query["module-path"]) if "module-path" in query else env.get(MODULE_ENV)
    if not module:
        raise KekError(f"pkcs11 URI has no module-path and ${MODULE_ENV} is not set")
    return Pkcs11Uri(
        token=unquote(path_attrs["token"]) if "token" in path_attrs else None,
        serial=unquote(path_attrs["serial"]) if "serial" in path_attrs else None,
        slot_id=slot_id,
        object_label=label,
        object_id=object_id,
        module_path=module,
        pin=pin,
    )
