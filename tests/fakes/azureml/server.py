"""The HTTP side of the fake Azure ML service: parse, record, inject, answer.

Recorded requests carry method, path, query and JSON body, never headers:
the Authorization header (a bearer token) must not end up in test output.
"""

from __future__ import annotations

import json
import traceback
import uuid
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from tests.fakes.azureml.service import FakeAzureML

# the service's error codes for the statuses tests inject
CODES = {
    408: "RequestTimeout",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def handler(fake: "FakeAzureML") -> type[BaseHTTPRequestHandler]:

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, payload: Any, headers: dict) -> None:
            body = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("x-ms-request-id", str(uuid.uuid4()))
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            fake.requests.append(
                {
                    "method": self.command,
                    "path": path,
                    "query": query,
                    "body": body,
                }
            )
            failure = fake._injected(self.command, path)
            if failure:
                code = "TooManyRequests" if failure["status"] == 429 else "Injected"
                self._answer(
                    failure["status"],
                    {
                        "error": {
                            "code": code,
                            "message": f"The request failed ({code}).",
                        }
                    },
                    failure["headers"],
                )
                return
            try:
                status, payload, headers = fake.dispatch(
                    self.command, path, query, body
                )
            except Exception as exc:  # a fake bug: say so, loudly
                status, payload, headers = fake.error(
                    500, "FakeError", f"{type(exc).__name__}: {exc}"
                )
                traceback.print_exc()
            self._answer(status, payload, headers)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _handle

    return Handler
