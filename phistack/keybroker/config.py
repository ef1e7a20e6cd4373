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
