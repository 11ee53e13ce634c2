"""A fake GitHub Actions OIDC token endpoint (``ACTIONS_ID_TOKEN_REQUEST_URL``).

Checks the bearer request token and the ``audience`` parameter, and issues a
distinct unsigned JWT per call (its ``jti`` a serial), counting calls.
:attr:`FakeGitHubOidc.fail` answers the next calls with a status instead.
Plain http on 127.0.0.1: the client is urllib, not azure-core.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.fakes.entra import unsigned_jwt


class FakeGitHubOidc:
    def __init__(self, request_token: str = "ghs_oidc-request-token") -> None:
        self.request_token = request_token
        self.calls = 0
        #: audiences asked for, one per call
        self.audiences: list[str | None] = []
        #: every token issued, in order
        self.issued: list[str] = []
        self.fail: list[int] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # GitHub's URL already carries a query string: the client appends &.
        self.url = (
            f"http://127.0.0.1:{self.server.server_address[1]}"
            "/_apis/oidctoken?api-version=2.0"
        )

    def env(self) -> dict[str, str]:
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": self.url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token,
        }

    def __enter__(self) -> "FakeGitHubOidc":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _issue(self, authorization: str, query: dict[str, list[str]]):
        with self._lock:
            self.calls += 1
            aud = query.get("audience", [None])[0]
            self.audiences.append(aud)
            if self.fail:
                return self.fail.pop(0), {"message": "fake failure"}
            if authorization != f"bearer {self.request_token}":
                return 401, {"message": "bad request token"}
            if query.get("api-version") != ["2.0"] or not aud:
                return 400, {"message": "audience and api-version required"}
            now = int(time.time())
            token = unsigned_jwt(
                {
                    "iss": "https://token.actions.githubusercontent.com",
                    "sub": "repo:o/r:ref:refs/heads/main",
                    "aud": aud,
                    "jti": f"oidc-{self.calls}",
                    "iat": now,
                    "exp": now + 300,
                }
            )
            self.issued.append(token)
        return 200, {"count": 1, "value": token}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                status, payload = fake._issue(
                    self.headers.get("Authorization", ""), parse_qs(parts.query)
                )
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
