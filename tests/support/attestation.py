"""Shared attestation test material: NVIDIA's real vectors (tests/fixtures/nvidia) and a test ES384 signer."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from runtime.attestation.jws import JsonWebKeySet, b64url_encode
from tests.support.paths import NVIDIA_VECTORS

VECTORS = NVIDIA_VECTORS

VALID_NONCE = bytes.fromhex("27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66")
SECOND_GPU_NONCE = bytes.fromhex("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb")
ZERO_NONCE = bytes(32)
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def vector(name: str) -> Path:
    """Path of one NVIDIA test vector file."""
    return VECTORS / name


def report_bytes(name: str = "hopperAttestationReport.txt") -> bytes:
    """A vector report, decoded from its hex text."""
    return bytes.fromhex(vector(name).read_text().strip())


def chain_pem(name: str = "hopperCertChain.txt") -> bytes:
    return vector(name).read_bytes()


def device_root() -> x509.Certificate:
    return x509.load_pem_x509_certificate(vector("verifier_device_root.pem").read_bytes())


def valid_evidence_wire() -> dict[str, Any]:
    """The valid vector in NRAS evidence_list shape."""
    return {
        "evidence": base64.b64encode(report_bytes()).decode(),
        "certificate": base64.b64encode(chain_pem()).decode(),
        "arch": "HOPPER",
    }


class TestSigner:
    """An ES384 key pair standing in for NRAS's signing key; tokens it mints verify against ``jwks``."""

    __test__ = False  # not a pytest class

    def __init__(self, kid: str = "phistack-test-kid") -> None:
        self.kid = kid
        self.key = ec.generate_private_key(ec.SECP384R1())

    def jwks_dict(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "EC",
                    "crv": "P-384",
                    "kid": self.kid,
                    "alg": "ES384",
                    "x": b64url_encode(numbers.x.to_bytes(48, "big")),
                    "y": b64url_encode(numbers.y.to_bytes(48, "big")),
                }
            ]
        }

    def jwks(self) -> JsonWebKeySet:
        return JsonWebKeySet.from_dict(self.jwks_dict())

    def mint(self, claims: Mapping[str, Any], *, alg: str = "ES384", kid: str | None = None) -> str:
        header = {"alg": alg, "kid": kid or self.kid}
        segments = (b64url_encode(json.dumps(part).encode()) for part in (header, claims))
        signing_input = ".".join(segments)
        r, s = utils.decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA384())))
        return f"{signing_input}.{b64url_encode(r.to_bytes(48, 'big') + s.to_bytes(48, 'big'))}"

    def nras_response(
        self, gpus: Mapping[str, Mapping[str, Any]], *, nonce: bytes, now: dt.datetime, **overall_extra: Any
    ) -> list[Any]:
        """An answer in NRAS's shape: overall token with submods digests plus detached per-GPU tokens."""
        detached = {name: self.mint(claims) for name, claims in gpus.items()}
        issued = int(now.timestamp())
        overall = {
            "sub": "NVIDIA-PLATFORM-ATTESTATION",
            "x-nvidia-ver": "3.0",
            "iss": "https://nras.attestation.nvidia.com",
            "iat": issued,
            "nbf": issued,
            "exp": issued + 3600,
            "jti": str(uuid.uuid4()),
            "eat_nonce": nonce.hex(),
            "x-nvidia-overall-att-result": True,
            "submods": {
                name: ["DIGEST", ["SHA-256", hashlib.sha256(token.encode()).hexdigest()]]
                for name, token in detached.items()
            },
            **overall_extra,
        }
        return [["JWT", self.mint(overall)], detached]


def recorded_gpu_claims(name: str = "hopperClaimsv3_decoded.json") -> dict[str, Any]:
    """The real per-GPU claims NRAS returned (``GPU-0`` of the decoded answer, or the remote claims)."""
    document = json.loads(vector(name).read_text())
    return dict(document.get("GPU-0", document))


def passing_gpu_claims(nonce: bytes, now: dt.datetime) -> dict[str, Any]:
    """Real recorded claims re-bound to ``nonce`` and a validity window around ``now``."""
    claims = recorded_gpu_claims()
    issued = int(now.timestamp())
    claims.update(eat_nonce=nonce.hex(), iat=issued, nbf=issued, exp=issued + 3600)
    return claims


def write_tls_material(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for 127.0.0.1/localhost; returns (ca, cert, key) paths."""
    import ipaddress

    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    end = start + dt.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("phistack test broker CA"))
        .issuer_name(name("phistack test broker CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "ca.pem", directory / "broker.pem", directory / "broker.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    paths[2].chmod(0o600)
    return paths


def reference_measurements_file(directory: Path) -> Path:
    """Golden measurements taken from the valid vector (what an operator would enrol)."""
    from runtime.attestation import ReferenceMeasurements, parse_report

    path = directory / "golden.json"
    path.write_text(ReferenceMeasurements.from_report(parse_report(report_bytes())).to_json())
    return path


def read_audit(path: Path) -> list[dict[str, Any]]:
    """The audit log's records as dicts (one JSON object per line)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
