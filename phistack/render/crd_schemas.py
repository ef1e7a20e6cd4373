"""Structural schemas for the custom resources phistack renders (not in the Kubernetes core schema).

These are hand-written subsets of the upstream CRD schemas (cert-manager v1, Gateway API v1.4 standard
channel, Envoy Gateway v1alpha1): they pin the fields phistack writes, their types and enums, and
reject unknown keys where the upstream object is closed. They do not replace validation by the
API server with the CRDs installed; docs/MODULES.md says so.
"""

from __future__ import annotations

from typing import Any

_NAME = {"type": "string", "minLength": 1, "maxLength": 253}
_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}


def _obj(props: dict[str, Any], required: list[str] | None = None, closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return schema


_REF = _obj(
    {"group": {"type": "string"}, "kind": {"type": "string"}, "name": _NAME, "namespace": {"type": "string"}}, ["name"]
)
_TARGET_REF = _obj(
    {
        "group": {"type": "string"},
        "kind": {"type": "string", "minLength": 1},
        "name": _NAME,
        "sectionName": {"type": "string"},
    },
    ["group", "kind", "name"],
)
_HEADER = _obj({"name": {"type": "string", "minLength": 1}, "value": {"type": "string"}}, ["name", "value"])
_HEADER_MODIFIER = _obj(
    {
        "set": {"type": "array", "items": _HEADER},
        "add": {"type": "array", "items": _HEADER},
        "remove": {"type": "array", "items": {"type": "string"}},
    }
)

CERTIFICATE = _obj(
    {
        "secretName": _NAME,
        "commonName": {"type": "string"},
        "dnsNames": {"type": "array", "items": {"type": "string"}},
        "ipAddresses": {"type": "array", "items": {"type": "string"}},
        "uris": {"type": "array", "items": {"type": "string"}},
        "duration": {"type": "string"},
        "renewBefore": {"type": "string"},
        "isCA": {"type": "boolean"},
        "usages": {
            "type": "array",
            "items": {
                "enum": [
                    "signing",
                    "digital signature",
                    "content commitment",
                    "key encipherment",
                    "key agreement",
                    "data encipherment",
                    "cert sign",
                    "crl sign",
                    "encipher only",
                    "decipher only",
                    "any",
                    "server auth",
                    "client auth",
                    "code signing",
                    "email protection",
                    "s/mime",
                    "ipsec end system",
                    "ipsec tunnel",
                    "ipsec user",
                    "timestamping",
                    "ocsp signing",
                    "microsoft sgc",
                    "netscape sgc",
                ]
            },
        },
        "privateKey": _obj(
            {
                "algorithm": {"enum": ["RSA", "ECDSA", "Ed25519"]},
                "size": {"type": "integer"},
                "encoding": {"enum": ["PKCS1", "PKCS8"]},
                "rotationPolicy": {"enum": ["Never", "Always"]},
            }
        ),
        "issuerRef": _obj({"name": _NAME, "kind": {"type": "string"}, "group": {"type": "string"}}, ["name"]),
    },
    ["secretName", "issuerRef"],
)

GATEWAY = _obj(
    {
        "gatewayClassName": _NAME,
        "listeners": {
            "type": "array",
            "minItems": 1,
            "maxItems": 64,
            "items": _obj(
                {
                    "name": {"type": "string", "minLength": 1, "maxLength": 253},
                    "hostname": {"type": "string"},
                    "port": _PORT,
                    "protocol": {"type": "string", "minLength": 1},
                    "tls": _obj(
                        {
                            "mode": {"enum": ["Terminate", "Passthrough"]},
                            "certificateRefs": {"type": "array", "maxItems": 64, "items": _REF},
                            "options": {"type": "object", "additionalProperties": {"type": "string"}},
                        }
                    ),
                    "allowedRoutes": _obj(
                        {
                            "namespaces": _obj(
                                {"from": {"enum": ["All", "Selector", "Same"]}, "selector": {"type": "object"}}
                            ),
                            "kinds": {
                                "type": "array",
                                "items": _obj({"group": {"type": "string"}, "kind": {"type": "string"}}, ["kind"]),
                            },
                        }
                    ),
                },
                ["name", "port", "protocol"],
            ),
        },
        "addresses": {"type": "array"},
        "infrastructure": {"type": "object"},
    },
    ["gatewayClassName", "listeners"],
)

HTTP_ROUTE = _obj(
    {
        "parentRefs": {
            "type": "array",
            "maxItems": 32,
            "items": _obj(
                {
                    "group": {"type": "string"},
                    "kind": {"type": "string"},
                    "namespace": {"type": "string"},
                    "name": _NAME,
                    "sectionName": {"type": "string"},
                    "port": _PORT,
                },
                ["name"],
            ),
        },
        "hostnames": {"type": "array", "maxItems": 16, "items": {"type": "string"}},
        "rules": {
            "type": "array",
            "maxItems": 16,
            "items": _obj(
                {
                    "name": {"type": "string"},
                    "matches": {
                        "type": "array",
                        "maxItems": 64,
                        "items": _obj(
                            {
                                "path": _obj(
                                    {
                                        "type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]},
                                        "value": {"type": "string", "maxLength": 1024},
                                    }
                                ),
                                "headers": {"type": "array"},
                                "queryParams": {"type": "array"},
                                "method": {
                                    "enum": [
                                        "GET",
                                        "HEAD",
                                        "POST",
                                        "PUT",
                                        "DELETE",
                                        "CONNECT",
                                        "OPTIONS",
                                        "TRACE",
                                        "PATCH",
                                    ]
                                },
                            }
                        ),
                    },
                    "filters": {
                        "type": "array",
                        "maxItems": 16,
                        "items": _obj(
                            {
                                "type": {
                                    "enum": [
                                        "RequestHeaderModifier",
                                        "ResponseHeaderModifier",
                                        "RequestMirror",
                                        "RequestRedirect",
                                        "URLRewrite",
                                        "ExtensionRef",
                                        "CORS",
                                    ]
                                },
                                "requestHeaderModifier": _HEADER_MODIFIER,
                                "responseHeaderModifier": _HEADER_MODIFIER,
                                "requestRedirect": {"type": "object"},
                                "urlRewrite": {"type": "object"},
                                "requestMirror": {"type": "object"},
                                "extensionRef": {"type": "object"},
                                "cors": {"type": "object"},
                            },
                            ["type"],
                        ),
                    },
                    "backendRefs": {
                        "type": "array",
                        "maxItems": 16,
                        "items": _obj(
                            {
                                "group": {"type": "string"},
                                "kind": {"type": "string"},
                                "name": _NAME,
                                "namespace": {"type": "string"},
                                "port": _PORT,
                                "weight": {"type": "integer", "minimum": 0},
                                "filters": {"type": "array"},
                            },
                            ["name"],
                        ),
                    },
                    "timeouts": {"type": "object"},
                    "retry": {"type": "object"},
                    "sessionPersistence": {"type": "object"},
                }
            ),
        },
    }
)

BACKEND_TLS_POLICY = _obj(
    {
        "targetRefs": {"type": "array", "minItems": 1, "maxItems": 16, "items": _TARGET_REF},
        "validation": _obj(
            {
                "caCertificateRefs": {
                    "type": "array",
                    "maxItems": 8,
                    "items": _obj(
                        {"group": {"type": "string"}, "kind": {"type": "string", "minLength": 1}, "name": _NAME},
                        ["group", "kind", "name"],
                    ),
                },
                "wellKnownCACertificates": {"enum": ["System"]},
                "hostname": {"type": "string", "minLength": 1},
                "subjectAltNames": {"type": "array"},
            },
            ["hostname"],
        ),
        "options": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    ["targetRefs", "validation"],
)

_TLS_VERSION = {"enum": ["Auto", "1.0", "1.1", "1.2", "1.3"]}
CLIENT_TRAFFIC_POLICY = _obj(
    {
        "targetRefs": {"type": "array", "items": _TARGET_REF},
        "targetRef": _TARGET_REF,
        "targetSelectors": {"type": "array"},
        "tls": _obj(
            {
                "minVersion": _TLS_VERSION,
                "maxVersion": _TLS_VERSION,
                "ciphers": {"type": "array", "items": {"type": "string"}},
                "ecdhCurves": {"type": "array", "items": {"type": "string"}},
                "signatureAlgorithms": {"type": "array", "items": {"type": "string"}},
                "alpnProtocols": {"type": "array", "items": {"type": "string"}},
                "clientValidation": _obj(
                    {
                        "optional": {"type": "boolean"},
                        "caCertificateRefs": {"type": "array", "items": _REF},
                    }
                ),
                "session": {"type": "object"},
            }
        ),
    },
    closed=False,
)  # many traffic settings besides TLS; only the TLS part is pinned

#: (apiVersion, kind) → schema of ``spec``.
SPEC_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("cert-manager.io/v1", "Certificate"): CERTIFICATE,
    ("gateway.networking.k8s.io/v1", "Gateway"): GATEWAY,
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): HTTP_ROUTE,
    ("gateway.networking.k8s.io/v1", "BackendTLSPolicy"): BACKEND_TLS_POLICY,
    ("gateway.envoyproxy.io/v1alpha1", "ClientTrafficPolicy"): CLIENT_TRAFFIC_POLICY,
}
