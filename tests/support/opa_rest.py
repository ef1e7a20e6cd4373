"""A stand-in OPA server for adapter tests: OPA's documented REST shapes on loopback.

It implements the endpoints the adapter uses — ``PUT /v1/policies/{id}``, ``PUT /v1/data/{path}``,
``POST /v1/data/{path}`` — records every request, and answers queries by evaluating the uploaded
modules and data with regorus, so answers can be compared with the embedded engines.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import regorus


@dataclass
class OpaStandIn:
    url: str
    policies: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)

    def evaluate(self, path: str, input_document: Any) -> dict[str, Any]:
        engine = regorus.Engine()
        for policy_id, text in self.policies.items():
            engine.add_policy(policy_id, text)
        engine.add_data_json(json.dumps(self.data))
        engine.set_input_json(json.dumps(input_document))
        answer = json.loads(engine.eval_query_as_json("data." + path.replace("/", ".")))
        results = answer.get("result") or []
        if not results:
            return {}
        return {"result": results[0]["expressions"][0]["value"]}


def _handler(state: OpaStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def _reply(self, status: int, body: Any = None) -> None:
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_PUT(self) -> None:
            body = self._body()
            if self.path.startswith("/v1/policies/"):
                policy_id = self.path[len("/v1/policies/") :]
                state.requests.append(("PUT", self.path, body.decode()))
                state.policies[policy_id] = body.decode()
                self._reply(200, {})
            elif self.path.startswith("/v1/data/"):
                document = json.loads(body)
                state.requests.append(("PUT", self.path, document))
                state.data[self.path[len("/v1/data/") :]] = document
                self.send_response(204)
                self.end_headers()
            else:
                self._reply(404, {"code": "not_found", "message": self.path})

        def do_POST(self) -> None:
            document = json.loads(self._body() or b"{}")
            state.requests.append(("POST", self.path, document))
            if not self.path.startswith("/v1/data/"):
                self._reply(404, {"code": "not_found", "message": self.path})
                return
            self._reply(200, state.evaluate(self.path[len("/v1/data/") :], document.get("input")))

        def do_GET(self) -> None:
            self._reply(200, {"result": [{"id": key} for key in state.policies]})

    return Handler


@contextmanager
def opa_standin_server() -> Iterator[OpaStandIn]:
    """Serve the stand-in on 127.0.0.1 (an ephemeral port) for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = OpaStandIn(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
