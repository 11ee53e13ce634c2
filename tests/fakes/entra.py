"""A fake Entra ID (Azure AD) token endpoint: HTTPS on 127.0.0.1.

Serves what azure-identity and MSAL ask for: the OpenID configuration
(``/{tenant}/v2.0/.well-known/openid-configuration``, MSAL reads it) and the
token endpoint (``POST /{tenant}/oauth2/v2.0/token``). No instance discovery:
azure-identity's ``ClientAssertionCredential`` does none (it posts straight to
the token endpoint), and MSAL must be given ``instance_discovery=False`` for
an authority Microsoft does not know, or it asks login.microsoftonline.com.

Records each ``client_assertion`` it receives and issues unsigned JWTs whose
``aud`` is the requested scope's resource, living
:attr:`FakeEntra.expires_in` seconds (short, so a long wait must refresh).
:attr:`FakeEntra.fail` answers the next token requests with a status instead.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.tls import Authority


def unsigned_jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def audience(scope: str) -> str:
    """``https://ml.azure.com/.default`` -> ``https://ml.azure.com``: Entra ID
    names the resource without the slash, and azure-ai-ml checks exactly that
    before it submits a pipeline job."""
    return scope.split()[0].removesuffix(".default").rstrip("/")


class FakeEntra:
    def __init__(self, authority: Authority, expires_in: int = 60) -> None:
        self.expires_in = expires_in
        #: every client_assertion received, in order
        self.assertions: list[str] = []
        #: every token request's form fields
        self.token_requests: list[dict[str, str]] = []
        #: statuses to answer the next token requests with, first first
        self.fail: list[int] = []
        self._lock = threading.Lock()
        self._serial = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.socket = authority.server_context().wrap_socket(
            self.server.socket, server_side=True
        )
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "FakeEntra":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.token_requests.append(form)
            if "client_assertion" in form:
                self.assertions.append(form["client_assertion"])
            if self.fail:
                status = self.fail.pop(0)
                return status, {
                    "error": "temporarily_unavailable" if status >= 500 else "bad",
                    "error_description": f"AADSTS90000: fake failure {status}",
                }
            if form.get("grant_type") != "client_credentials" or not form.get(
                "client_assertion"
            ):
                return 400, {"error": "invalid_request", "error_description": "x"}
            self._serial += 1
            now = int(time.time())
            token = unsigned_jwt(
                {
                    "aud": audience(form.get("scope", "")),
                    "appid": form.get("client_id"),
                    "iat": now,
                    "exp": now + self.expires_in,
                    "n": self._serial,
                }
            )
        return 200, {
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "ext_expires_in": self.expires_in,
            "access_token": token,
        }

    def _openid(self, tenant: str) -> dict[str, Any]:
        base = f"{self.url}/{tenant}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "issuer": f"{self.url}/{tenant}/v2.0",
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "response_types_supported": ["code", "token"],
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                segments = [s for s in parts.path.split("/") if s]
                if parts.path.endswith("openid-configuration") and segments:
                    self._answer(200, fake._openid(segments[0]))
                else:
                    self._answer(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                if urlsplit(self.path).path.endswith("/oauth2/v2.0/token"):
                    self._answer(*fake._token(form))
                else:
                    self._answer(404, {"error": "not_found"})

        return Handler
