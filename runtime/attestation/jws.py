"""ES384 JSON Web Signature verification against a pinned JSON Web Key Set (RFC 7515/7517/7518).

Only ES384 is accepted (NRAS signs with it); ``alg: none`` and every other algorithm are refused.
The ``kid`` must name a key in the pinned set. ``exp`` is required and checked, like ``nbf``,
against an injected time.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from runtime.attestation.errors import AttestationError
from runtime.errors import InputError

ALGORITHM = "ES384"
_COORDINATE = 48  # P-384 field size in bytes


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; raise AttestationError when malformed."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise AttestationError("token segment is not base64url") from None


def b64url_encode(data: bytes) -> str:
    """Encode as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class JsonWebKeySet:
    """Pinned P-384 verification keys by ``kid``."""

    keys: Mapping[str, ec.EllipticCurvePublicKey]

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> JsonWebKeySet:
        """Accept EC P-384 keys given by ``x``/``y`` or by an ``x5c`` certificate; skip other key types."""
        keys: dict[str, ec.EllipticCurvePublicKey] = {}
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise InputError("JWKS has no 'keys' list")
        for entry in entries:
            if not isinstance(entry, Mapping) or entry.get("kty") != "EC" or entry.get("crv") != "P-384":
                continue
            kid = entry.get("kid")
            if not isinstance(kid, str) or not kid:
                raise InputError("JWKS key without a 'kid'")
            try:
                if "x" in entry and "y" in entry:
                    numbers = ec.EllipticCurvePublicNumbers(
                        int.from_bytes(b64url_decode(entry["x"]), "big"),
                        int.from_bytes(b64url_decode(entry["y"]), "big"),
                        ec.SECP384R1(),
                    )
                    keys[kid] = numbers.public_key()
                else:
                    certificate = x509.load_der_x509_certificate(base64.b64decode(entry["x5c"][0]))
                    key = certificate.public_key()
                    if not isinstance(key, ec.EllipticCurvePublicKey):
                        raise ValueError("x5c certificate does not hold an EC key")
                    keys[kid] = key
            except (AttestationError, ValueError, KeyError, IndexError, TypeError) as err:
                raise InputError(f"JWKS key {kid!r} is malformed: {err}") from err
        if not keys:
            raise InputError("JWKS holds no EC P-384 key")
        return cls(keys)

    @classmethod
    def load(cls, path: Path) -> JsonWebKeySet:
        """Read a JWKS JSON file."""
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except OSError as err:
            raise InputError(f"{path}: cannot read JWKS: {err.strerror or err}") from err
        except json.JSONDecodeError as err:
            raise InputError(f"{path}:{err.lineno}: JWKS is not JSON: {err.msg}") from err


def _decode_json_segment(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(segment))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AttestationError(f"token {what} is not JSON") from None
    if not isinstance(value, dict):
        raise AttestationError(f"token {what} is not a JSON object")
    return value


def unverified_header(token: str) -> dict[str, Any]:
    """The token's protected header, without any verification (for diagnostics only)."""
    return _decode_json_segment(token.split(".", 1)[0], "header")


def verify_es384(
    token: str,
    jwks: JsonWebKeySet,
    *,
    at_time: dt.datetime,
    issuer: str | None = None,
    leeway_s: int = 0,
) -> dict[str, Any]:
    """Verify a compact ES384 JWS and its time claims; return the payload's claims."""
    if not isinstance(token, str):
        raise AttestationError("token is not a string")
    parts = token.split(".")
    if len(parts) != 3:
        raise AttestationError(f"token is not a compact JWS (has {len(parts)} segments, 3 expected)")
    header = _decode_json_segment(parts[0], "header")
    if header.get("alg") != ALGORITHM:
        raise AttestationError(f"token algorithm {header.get('alg')!r} refused; only {ALGORITHM} is accepted")
    if "crit" in header:
        raise AttestationError("token header has critical extensions this verifier does not understand")
    kid = header.get("kid")
    key = jwks.keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise AttestationError(f"token key id {kid!r} is not in the pinned key set")
    signature = b64url_decode(parts[2])
    if len(signature) != 2 * _COORDINATE:
        raise AttestationError(f"token signature is {len(signature)} bytes, {2 * _COORDINATE} expected for ES384")
    der = utils.encode_dss_signature(
        int.from_bytes(signature[:_COORDINATE], "big"), int.from_bytes(signature[_COORDINATE:], "big")
    )
    try:
        key.verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"), ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        raise AttestationError(f"token signature does not verify with pinned key {kid!r}") from None
    claims = _decode_json_segment(parts[1], "payload")
    now = at_time.timestamp()
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise AttestationError("token has no numeric 'exp' claim")
    if now > exp + leeway_s:
        raise AttestationError(
            f"token expired at {dt.datetime.fromtimestamp(exp, dt.UTC).isoformat()} (checked at {at_time.isoformat()})"
        )
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and not isinstance(nbf, bool) and now + leeway_s < nbf:
        raise AttestationError(f"token not valid before {dt.datetime.fromtimestamp(nbf, dt.UTC).isoformat()}")
    if issuer is not None and claims.get("iss") != issuer:
        raise AttestationError(f"token issuer {claims.get('iss')!r} is not the expected {issuer!r}")
    return claims
