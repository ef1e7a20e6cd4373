"""The key broker's configuration file (YAML or JSON); relative paths are relative to the file.

```yaml
listen: {host: 127.0.0.1, port: 8443}
tls: {cert: broker.pem, key: broker.key}          # TLS 1.3 only
trust:
  device_root: verifier_device_root.pem            # NVIDIA device identity root (GPU chains)
  reference_measurements: golden.json              # optional; without it offline evidence is denied
nras: {jwks: nras-jwks.json, issuer: https://nras.attestation.nvidia.com}   # optional
policy: {root: policies/attestation, engine: regorus}
nonce_ttl_s: 60
claims_ttl_s: 300
audit: {path: broker-audit.log, signing_key: audit-ed25519.pem}
limits: {max_connections: 128, nonce_rate_per_s: 2}   # optional; every key and default in LimitsConfig
datasets:
  chest-ct-2026: {kek: "pkcs11:token=phistack;object=kek-ct?pin-source=file:/run/pin"}
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from phistack.errors import InputError
from phistack.keybroker.appraisal import DEFAULT_POLICY_ROOT
from phistack.keybroker.limits import HttpLimits
from phistack.keybroker.nonces import NonceLimits
from runtime.configfile import load_yaml, validate


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ListenConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8443, ge=0, le=65535)


class TlsConfig(_Strict):
    cert: Path
    key: Path


class TrustConfig(_Strict):
    device_root: Path
    reference_measurements: Path | None = None


class NrasConfig(_Strict):
    jwks: Path
    issuer: str = "https://nras.attestation.nvidia.com"


class PolicyConfig(_Strict):
    root: Path = DEFAULT_POLICY_ROOT
    engine: str = "regorus"


class AuditConfig(_Strict):
    path: Path
    signing_key: Path | None = None


# The defaults live with the limits they set; the config only bounds what an operator may choose.
_HTTP = HttpLimits()
_NONCES = NonceLimits()


class LimitsConfig(_Strict):
    """Bounds against floods and slow clients (docs/ATTESTATION.md, "Limits")."""

    max_connections: int = Field(default=_HTTP.max_connections, ge=1, le=10_000)
    max_connections_per_client: int = Field(default=_HTTP.max_connections_per_client, ge=1, le=10_000)
    handshake_timeout_s: float = Field(default=_HTTP.handshake_timeout_s, gt=0, le=300)
    header_timeout_s: float = Field(default=_HTTP.header_timeout_s, gt=0, le=300)
    body_timeout_s: float = Field(default=_HTTP.body_timeout_s, gt=0, le=600)
    idle_timeout_s: float = Field(default=_HTTP.idle_timeout_s, gt=0, le=600)
    max_path_chars: int = Field(default=_HTTP.max_path_chars, ge=64, le=65_536)
    max_header_bytes: int = Field(default=_HTTP.max_header_bytes, ge=1024, le=1 << 20)
    max_body_bytes: int = Field(default=_HTTP.max_body_bytes, ge=1024, le=64 << 20)
    max_json_depth: int = Field(default=_HTTP.max_json_depth, ge=4, le=256)
    max_outstanding_nonces: int = Field(default=_NONCES.max_outstanding, ge=1, le=1_000_000)
    max_nonces_per_client: int = Field(default=_NONCES.max_per_client, ge=1, le=1_000_000)
    nonce_rate_per_s: float = Field(default=_NONCES.rate_per_s, gt=0, le=10_000)
    nonce_burst: int = Field(default=_NONCES.burst, ge=1, le=1_000_000)
    audit_window_s: float = Field(default=10.0, gt=0, le=3600)
    audit_max_bursts: int = Field(default=1024, ge=1, le=1_000_000)

    def http(self) -> HttpLimits:
        return HttpLimits(
            max_connections=self.max_connections,
            max_connections_per_client=self.max_connections_per_client,
            handshake_timeout_s=self.handshake_timeout_s,
            header_timeout_s=self.header_timeout_s,
            body_timeout_s=self.body_timeout_s,
            idle_timeout_s=self.idle_timeout_s,
            max_path_chars=self.max_path_chars,
            max_header_bytes=self.max_header_bytes,
            max_body_bytes=self.max_body_bytes,
            max_json_depth=self.max_json_depth,
        )

    def nonces(self) -> NonceLimits:
        return NonceLimits(
            max_outstanding=self.max_outstanding_nonces,
            max_per_client=self.max_nonces_per_client,
            rate_per_s=self.nonce_rate_per_s,
            burst=self.nonce_burst,
        )


class DatasetConfig(_Strict):
    kek: str = Field(description="file:PATH (development) or a pkcs11: URI (RFC 7512)")


class BrokerConfig(_Strict):
    listen: ListenConfig = ListenConfig()
    tls: TlsConfig
    trust: TrustConfig
    nras: NrasConfig | None = None
    policy: PolicyConfig = PolicyConfig()
    nonce_ttl_s: float = Field(default=60.0, gt=0, le=3600)
    claims_ttl_s: int = Field(default=300, gt=0, le=86400)
    audit: AuditConfig
    limits: LimitsConfig = LimitsConfig()
    datasets: dict[str, DatasetConfig] = Field(min_length=1)


def _resolve(value: Any, base: Path) -> Any:
    if isinstance(value, Path) and not value.is_absolute():
        return base / value
    if isinstance(value, BaseModel):
        updates = {name: _resolve(getattr(value, name), base) for name in type(value).model_fields}
        return value.model_copy(update=updates)
    if isinstance(value, dict):
        return {key: _resolve(item, base) for key, item in value.items()}
    return value


def load_config(path: Path) -> BrokerConfig:
    """Read and validate the configuration; errors name the key path (exit 2)."""
    document = load_yaml(path, "key broker config")
    if not isinstance(document, dict):
        raise InputError(f"{path}: key broker config must be a mapping")
    config = validate(BrokerConfig, document, path)
    base = path.resolve().parent
    resolved: BrokerConfig = _resolve(config, base)
    datasets = {name: DatasetConfig(kek=_resolve_kek(entry.kek, base)) for name, entry in resolved.datasets.items()}
    return resolved.model_copy(update={"datasets": datasets})


def _resolve_kek(uri: str, base: Path) -> str:
    """Make a relative ``file:`` KEK path relative to the config file, like every other path."""
    if uri.startswith("file:") and not uri.startswith(("file:/", "file://")):
        return f"file:{base / uri[len('file:') :]}"
    return uri
