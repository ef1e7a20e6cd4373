"""Assembling a running key broker from its configuration."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from cryptography import x509

from phistack.errors import InputError
from phistack.keybroker.appraisal import Appraiser
from phistack.keybroker.config import BrokerConfig
from phistack.keybroker.nonces import NonceSource, NonceStore, random_nonce
from phistack.keybroker.server import RunningBroker, server_tls_context, start_broker
from phistack.keybroker.service import KeyBroker
from runtime.attestation import JsonWebKeySet, ReferenceMeasurements
from runtime.audit import AuditLog
from runtime.crypto import Kek, open_kek
from runtime.ed25519 import load_private_key


def load_anchor(path: object) -> x509.Certificate:
    """Read the PEM trust anchor for GPU certificate chains."""
    try:
        with open(str(path), "rb") as handle:
            return x509.load_pem_x509_certificate(handle.read())
    except OSError as err:
        raise InputError(f"{path}: cannot read trust anchor: {err.strerror or err}") from err
    except ValueError as err:
        raise InputError(f"{path}: trust anchor is not a PEM certificate: {err}") from err


@contextlib.contextmanager
def serve_from_config(
    config: BrokerConfig, *, nonce_source: NonceSource = random_nonce, port: int | None = None
) -> Iterator[RunningBroker]:
    """Open KEKs and the audit log, start serving, and close everything on exit."""
    with contextlib.ExitStack() as stack:
        signing_key = load_private_key(config.audit.signing_key) if config.audit.signing_key else None
        audit = stack.enter_context(AuditLog.open(config.audit.path, signing_key=signing_key))
        keks: dict[str, Kek] = {}
        for name, dataset in config.datasets.items():
            keks[name] = stack.enter_context(open_kek(dataset.kek))
        references = (
            ReferenceMeasurements.load(config.trust.reference_measurements)
            if config.trust.reference_measurements
            else None
        )
        appraiser = Appraiser(config.policy.root, engine=config.policy.engine)
        stack.callback(appraiser.close)  # the engine must be dropped on its own thread, not at exit
        limits = config.limits
        broker = KeyBroker(
            datasets=keks,
            device_root=load_anchor(config.trust.device_root),
            appraiser=appraiser,
            audit=audit,
            nonces=NonceStore(ttl_s=config.nonce_ttl_s, source=nonce_source, limits=limits.nonces()),
            references=references,
            nras_jwks=JsonWebKeySet.load(config.nras.jwks) if config.nras else None,
            nras_issuer=config.nras.issuer if config.nras else None,
            claims_ttl_s=config.claims_ttl_s,
            audit_window_s=limits.audit_window_s,
            audit_max_bursts=limits.audit_max_bursts,
        )
        context = server_tls_context(config.tls.cert, config.tls.key)
        port = config.listen.port if port is None else port
        running = start_broker(broker, context, config.listen.host, port, limits.http())
        stack.callback(running.stop)
        yield running
