"""An OPA server through its REST API (``opa-python-client``), after loading the policies into it.

Documented endpoints used: ``PUT /v1/policies/{id}`` (Rego text), ``PUT /v1/data/{path}`` (a JSON
document), ``POST /v1/data/{path}`` with ``{"input": ...}`` answering ``{"result": ...}`` (no
``result`` key when undefined). Policy ids are namespaced ``phistack/<path>`` so loading is
idempotent and never clobbers other tenants' policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from opa_client import OpaClient

from phistack.engine.base import UNDEFINED, Evaluator
from phistack.engine.policyset import PolicySet
from phistack.errors import InputError, PolicyError

POLICY_ID_PREFIX = "phistack"


def _client_for(url: str) -> OpaClient:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--opa-url: expected http(s)://HOST:PORT, got {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 8181)
    return OpaClient(host=parts.hostname, port=port, ssl=parts.scheme == "https", timeout=30.0, retries=0)


def query_path(query: str) -> str:
    """``data.phistack.main.result`` → ``phistack/main/result`` (only data references are supported)."""
    if not query.startswith("data.") or any(c in query for c in " [](){}=:"):
        raise PolicyError(f"--engine opa-server evaluates data references only, not {query!r}")
    return query[len("data.") :].replace(".", "/")


class OpaServerEvaluator(Evaluator):
    name = "opa-server"

    def __init__(self, policies: PolicySet, *, opa_url: str | None = None, client: Any = None) -> None:
        super().__init__(policies)
        if client is None and not opa_url:
            raise InputError("--engine opa-server needs --opa-url URL")
        self._client = client or _client_for(str(opa_url))
        try:
            for module in policies.modules:
                self._client.update_policy_from_string(
                    module.text, f"{POLICY_ID_PREFIX}/{module.path}", rego_compat=False
                )
            for name, document in policies.data.items():
                if not isinstance(document, dict):
                    raise PolicyError(f"data document {name!r} must be an object to load into an OPA server")
                self._client.update_or_create_data(document, name)
        except PolicyError:
            raise
        except Exception as err:  # the client raises its own types, or requests' on connection failures
            raise PolicyError(f"OPA server at {opa_url or 'client'} refused the policy set: {err}") from err

    def query(self, query: str, input_document: Mapping[str, Any] | None) -> Any:
        path = query_path(query)
        package, _, rule = path.rpartition("/")
        try:
            answer = self._client.query_rule(dict(input_document or {}), package, rule)
        except Exception as err:
            raise PolicyError(f"OPA server query {query} failed: {err}") from err
        if not isinstance(answer, dict):
            raise PolicyError(f"OPA server answered {query} with a non-object: {answer!r}")
        return answer.get("result", UNDEFINED)
