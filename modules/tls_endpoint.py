"""TlsEndpoint: a TLS 1.3-only Gateway API endpoint with HSTS and optional mutual TLS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from modules._common import check_choice, child, kube, labels, to_props

TYPE = "phistack:network:TlsEndpoint"


@dataclass(kw_only=True)
class Issuer:
    """The cert-manager issuer that signs the endpoint's certificate."""

    name: str
    """Issuer name."""
    kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"
    """``ClusterIssuer`` or ``Issuer``."""


@dataclass(kw_only=True)
class TlsEndpointArgs:
    """Settings of :class:`TlsEndpoint`; every field appears in the plan as a prop."""

    hostname: pulumi.Input[str]
    """DNS name clients use."""
    namespace: str
    """Namespace of the Service, Gateway and route (the workload's namespace)."""
    backend_selector: dict[str, str]
    """Pod labels of the backend."""
    backend_port: int = 8443
    """The backend's TLS port."""
    gateway_class_name: str = "eg"
    """GatewayClass (Envoy Gateway by default: its ClientTrafficPolicy sets the TLS versions)."""
    certificate_source: Literal["cert-manager", "private-ca"] = "cert-manager"
    """``cert-manager`` (a Certificate) or ``private-ca`` (pulumi-tls CA and a kubernetes.io/tls Secret)."""
    issuer: Issuer | None = None
    """The cert-manager issuer; required for ``cert-manager``."""
    min_tls_version: Literal["1.3", "1.2"] = "1.3"
    """Lowest TLS version accepted; ``1.2`` is a weakening."""
    hsts_max_age_seconds: int = 31536000
    """``Strict-Transport-Security`` max-age; 0 sends no header (a weakening)."""
    allow_plaintext_http: bool = False
    """Add a plain-HTTP listener on port 80 (a weakening)."""
    mtls: bool = False
    """Require client certificates signed by ``client_ca_configmap``."""
    client_ca_configmap: str | None = None
    """ConfigMap holding the client CA bundle (``ca.crt``); required with ``mtls``."""
    backend_tls: bool = True
    """Encrypt gateway-to-pod traffic too (BackendTLSPolicy); ``False`` is a weakening."""
    backend_ca_configmap: str | None = "phistack-internal-ca"
    """ConfigMap with the CA that signed the backend's certificate."""


class TlsEndpoint(pulumi.ComponentResource):
    """Service, certificate, Gateway (HTTPS only), HTTPRoute with HSTS and TLS version policy."""

    hostname: pulumi.Output[str]
    """The endpoint's DNS name."""

    def __init__(self, name: str, args: TlsEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check_choice("certificate_source", args.certificate_source, ("cert-manager", "private-ca"))
        check_choice("min_tls_version", args.min_tls_version, ("1.3", "1.2"))
        if args.certificate_source == "cert-manager" and args.issuer is None:
            raise ValueError("issuer is required when certificate_source is cert-manager")
        if args.mtls and not args.client_ca_configmap:
            raise ValueError("client_ca_configmap is required when mtls is true")
        if args.backend_tls and not args.backend_ca_configmap:
            raise ValueError("backend_ca_configmap is required when backend_tls is true")
        super().__init__(TYPE, name, to_props(args), opts)
        self.hostname = pulumi.Output.from_input(args.hostname)
        base = labels(name)
        ns = args.namespace
        secret_name = f"{name}-tls"

        service = k8s.core.v1.Service(
            f"{name}-service",
            **kube(
                metadata={"name": name, "namespace": ns, "labels": base},
                spec={
                    "type": "ClusterIP",
                    "selector": args.backend_selector,
                    "ports": [
                        {
                            "name": "https",
                            "port": 443,
                            "targetPort": args.backend_port,
                            "protocol": "TCP",
                            "appProtocol": "https",
                        }
                    ],
                },
            ),
            opts=child(self),
        )

        cert_deps: list[pulumi.Resource] = []
        if args.certificate_source == "cert-manager":
            assert args.issuer is not None
            cert_deps.append(
                k8s.apiextensions.CustomResource(
                    f"{name}-certificate",
                    api_version="cert-manager.io/v1",
                    kind="Certificate",
                    metadata={"name": secret_name, "namespace": ns, "labels": base},
                    spec={
                        "secretName": secret_name,
                        "dnsNames": [args.hostname],
                        "duration": "2160h",
                        "renewBefore": "720h",
                        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                        "usages": ["server auth", "digital signature"],
                        "issuerRef": {"name": args.issuer.name, "kind": args.issuer.kind, "group": "cert-manager.io"},
                    },
                    opts=child(self),
                )
            )
        else:
            ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child(self))
            ca_cert = tls.SelfSignedCert(
                f"{name}-ca-cert",
                private_key_pem=ca_key.private_key_pem,
                is_ca_certificate=True,
                validity_period_hours=24 * 365 * 5,
                allowed_uses=["cert_signing", "crl_signing"],
                subject={"common_name": f"{name} private CA", "organization": "phistack"},
                opts=child(self),
            )
            key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child(self))
            csr = tls.CertRequest(
                f"{name}-csr",
                private_key_pem=key.private_key_pem,
                dns_names=[args.hostname],
                subject={"common_name": args.hostname},
                opts=child(self),
            )
            cert = tls.LocallySignedCert(
                f"{name}-cert",
                cert_request_pem=csr.cert_request_pem,
                ca_private_key_pem=ca_key.private_key_pem,
                ca_cert_pem=ca_cert.cert_pem,
                validity_period_hours=2160,
                early_renewal_hours=720,
                allowed_uses=["digital_signature", "server_auth"],
                opts=child(self),
            )
            cert_deps.append(
                k8s.core.v1.Secret(
                    f"{name}-tls-secret",
                    metadata={"name": secret_name, "namespace": ns, "labels": base},
                    type="kubernetes.io/tls",
                    string_data={
                        "tls.crt": cert.cert_pem,
                        "tls.key": pulumi.Output.secret(cast(Any, key.private_key_pem)),
                    },
                    opts=child(self),
                )
            )

        listeners: list[dict[str, object]] = [
            {
                "name": "https",
                "protocol": "HTTPS",
                "port": 443,
                "hostname": args.hostname,
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": secret_name}]},
                "allowedRoutes": {"namespaces": {"from": "Same"}},
            }
        ]
        if args.allow_plaintext_http:
            listeners.append(
                {
                    "name": "http",
                    "protocol": "HTTP",
                    "port": 80,
                    "hostname": args.hostname,
                    "allowedRoutes": {"namespaces": {"from": "Same"}},
                }
            )
        gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version="gateway.networking.k8s.io/v1",
            kind="Gateway",
            metadata={"name": name, "namespace": ns, "labels": base},
            spec={"gatewayClassName": args.gateway_class_name, "listeners": listeners},
            opts=pulumi.ResourceOptions(parent=self, depends_on=cert_deps),
        )

        filters: list[dict[str, object]] = []
        if args.hsts_max_age_seconds > 0:
            filters.append(
                {
                    "type": "ResponseHeaderModifier",
                    "responseHeaderModifier": {
                        "set": [
                            {
                                "name": "Strict-Transport-Security",
                                "value": f"max-age={args.hsts_max_age_seconds}; includeSubDomains",
                            }
                        ]
                    },
                }
            )
        parent_refs = [{"name": name, "sectionName": str(listener["name"])} for listener in listeners]
        k8s.apiextensions.CustomResource(
            f"{name}-route",
            api_version="gateway.networking.k8s.io/v1",
            kind="HTTPRoute",
            metadata={"name": name, "namespace": ns, "labels": base},
            spec={
                "parentRefs": parent_refs,
                "hostnames": [args.hostname],
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                        "filters": filters,
                        "backendRefs": [{"name": name, "port": 443}],
                    }
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway, service]),
        )

        tls_policy: dict[str, object] = {"minVersion": args.min_tls_version, "maxVersion": "1.3"}
        if args.mtls:
            tls_policy["clientValidation"] = {
                "caCertificateRefs": [{"kind": "ConfigMap", "name": args.client_ca_configmap}]
            }
        k8s.apiextensions.CustomResource(
            f"{name}-client-traffic-policy",
            api_version="gateway.envoyproxy.io/v1alpha1",
            kind="ClientTrafficPolicy",
            metadata={"name": f"{name}-tls", "namespace": ns, "labels": base},
            spec={
                "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": name}],
                "tls": tls_policy,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )

        if args.backend_tls:
            validation: dict[str, object] = {
                "hostname": f"{name}.{ns}.svc.cluster.local",
                "caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": args.backend_ca_configmap}],
            }
            k8s.apiextensions.CustomResource(
                f"{name}-backend-tls-policy",
                api_version="gateway.networking.k8s.io/v1",
                kind="BackendTLSPolicy",
                metadata={"name": f"{name}-backend", "namespace": ns, "labels": base},
                spec={"targetRefs": [{"group": "", "kind": "Service", "name": name}], "validation": validation},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[service]),
            )

        self.register_outputs({"hostname": self.hostname})
