"""A fake GitHub REST API on 127.0.0.1: issue comments, as GitHub shapes them.

Implements what the sticky pull request comment uses: list (paginated, with
per_page/page), create and edit issue comments. Records every request, and
can be told to fail with a status for a method.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeGitHub:
    def __init__(self, token: str = "ghs_fake-token") -> None:
        self.token = token
        self.comments: dict[int, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.fail: dict[str, int] = {}  # method -> status to answer
        self._next_id = 1000
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "FakeGitHub":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_comment(self, issue: int, body: str, user: str = "someone") -> int:
        with self._lock:
            self._next_id += 1
            cid = self._next_id
            self.comments[cid] = self._shape(cid, issue, body, user)
        return cid

    def issue_comments(self, issue: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["_issue"] == issue]

    def _shape(self, cid: int, issue: int, body: str, user: str) -> dict[str, Any]:
        return {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{self.url}/repos/o/r/issues/comments/{cid}",
            "html_url": f"https://github.com/o/r/pull/{issue}#issuecomment-{cid}",
            "body": body,
            "user": {"login": user, "type": "Bot"},
            "created_at": "2026-11-26T00:00:00Z",
            "updated_at": "2026-11-26T00:00:00Z",
            "_issue": issue,
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

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                fake.requests.append(
                    {
                        "method": method,
                        "path": parts.path,
                        "query": parse_qs(parts.query),
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": json.loads(raw) if raw else None,
                    }
                )
                if self.headers.get("authorization") != f"Bearer {fake.token}":
                    return self._answer(401, {"message": "Bad credentials"})
                if method in fake.fail:
                    status = fake.fail[method]
                    return self._answer(status, {"message": "Resource not accessible"})
                segments = parts.path.strip("/").split("/")
                if segments[:1] != ["repos"] or len(segments) < 6:
                    return self._answer(404, {"message": "Not Found"})
                if segments[3:5] == ["issues", "comments"] and method == "PATCH":
                    cid = int(segments[5])
                    if cid not in fake.comments:
                        return self._answer(404, {"message": "Not Found"})
                    fake.comments[cid]["body"] = json.loads(raw)["body"]
                    return self._answer(200, self._public(fake.comments[cid]))
                if segments[3] == "issues" and segments[5:] == ["comments"]:
                    issue = int(segments[4])
                    if method == "POST":
                        cid = fake.add_comment(issue, json.loads(raw)["body"], "bot")
                        return self._answer(201, self._public(fake.comments[cid]))
                    query = parse_qs(parts.query)
                    per_page = int(query.get("per_page", ["30"])[0])
                    page = int(query.get("page", ["1"])[0])
                    found = fake.issue_comments(issue)
                    chunk = found[(page - 1) * per_page : page * per_page]
                    return self._answer(200, [self._public(c) for c in chunk])
                return self._answer(404, {"message": "Not Found"})

            @staticmethod
            def _public(comment: dict[str, Any]) -> dict[str, Any]:
                return {k: v for k, v in comment.items() if not k.startswith("_")}

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

        return Handler
