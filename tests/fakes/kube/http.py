"""The HTTP side of the fake API server: parse, record, authenticate, route.

Recorded requests carry method, path, query, content type and the decoded
body, never headers: the bearer token must not end up in test output.
"""

from __future__ import annotations

import json
import traceback
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from tests.fakes.kube import kinds, proxy, verbs
from tests.fakes.kube.status import ApiError, failure
from tests.fakes.kube.verbs import require_object

if TYPE_CHECKING:
    from tests.fakes.kube import FakeKube

Answer = tuple[int, bytes, dict[str, str]]
JSON = {"Content-Type": "application/json"}


def _json(status: int, payload: Any) -> Answer:
    return status, json.dumps(payload).encode(), dict(JSON)


def decode(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        pass
    if "yaml" in content_type:
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError:
            pass
    return raw.decode("utf-8", "replace")


def handler(fake: "FakeKube") -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, answer: Answer) -> None:
            status, body, headers = answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            query = {
                k: v[-1]
                for k, v in parse_qs(parts.query, keep_blank_values=True).items()
            }
            raw = self._body()
            content_type = self.headers.get("Content-Type", "")
            fake.record(
                self.command, path, query, content_type, decode(raw, content_type)
            )
            if not fake.token_ok(self.headers.get("Authorization", "")):
                return self._send(_json(401, failure(401, "Unauthorized")))
            injected = fake.injected(self.command, path)
            if injected is not None:
                return self._send(_json(injected.status, injected.body()))
            try:
                answer = route(
                    fake,
                    self.command,
                    path,
                    query,
                    parts.query,
                    raw,
                    {k.lower(): v for k, v in self.headers.items()},
                )
            except ApiError as exc:
                answer = _json(exc.code, exc.body())
            except Exception:  # a bug of the fake: fail loudly, keep serving
                fake.errors.append(traceback.format_exc())
                answer = _json(500, failure(500, traceback.format_exc(limit=3)))
            self._send(answer)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    return Handler


def _discovery(fake: "FakeKube", segments: list[str]) -> Any:
    if segments == ["version"]:
        return kinds.VERSION
    if segments == ["api"]:
        return kinds.api_versions(f"127.0.0.1:{fake.port}")
    if segments == ["api", "v1"]:
        return kinds.resource_list("", "v1")
    if segments == ["apis"]:
        return kinds.group_list()
    if len(segments) == 2 and segments[0] == "apis":
        return kinds.group(segments[1])
    if len(segments) == 3 and segments[0] == "apis":
        return kinds.resource_list(segments[1], segments[2])
    return None


def route(
    fake: "FakeKube",
    method: str,
    path: str,
    query: dict[str, str],
    query_string: str,
    raw: bytes,
    headers: dict[str, str],
) -> Answer:
    segments = [s for s in path.split("/") if s]
    if method == "GET" and (found := _discovery(fake, segments)) is not None:
        return _json(200, found)
    if segments[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", segments[2:]
    elif segments[:1] == ["apis"] and len(segments) > 3:
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        return 404, b"404 page not found\n", {"Content-Type": "text/plain"}
    namespace = None
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    resource = kinds.BY_PATH.get((group, version, rest[0])) if rest else None
    if resource is None or (
        resource.namespaced and namespace is None and len(rest) > 1
    ):
        raise ApiError(404, "the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub == "proxy" and name and namespace:
        with fake.lock:
            pod, address, backend = proxy.pick(fake, resource, namespace, name)
        rest_path = "/".join(rest[3:]) + (
            "/" if path.endswith("/") and rest[3:] else ""
        )
        return proxy.forward(
            backend, address, pod, method, rest_path, query_string, raw, headers
        )
    scalable = resource in (kinds.DEPLOYMENTS, kinds.REPLICASETS)
    if sub not in (None, "status", *(["scale"] if scalable else [])) or len(rest) > 3:
        raise ApiError(404, "the server could not find the requested resource")
    if query.get("watch") in ("true", "1"):
        raise ApiError(405, "the fake API server does not serve watches")
    with fake.lock:
        return _json(
            *_crud(
                fake, resource, method, namespace or "", name, sub, query, raw, headers
            )
        )


def _crud(
    fake: "FakeKube",
    resource: kinds.Resource,
    method: str,
    namespace: str,
    name: str | None,
    sub: str | None,
    query: dict[str, str],
    raw: bytes,
    headers: dict[str, str],
) -> tuple[int, Any]:
    store = fake.store
    agent = headers.get("user-agent") or "unknown"
    manager = query.get("fieldManager") or agent.split("/")[0]
    dry_run = query.get("dryRun") == "All"
    content_type = headers.get("content-type") or ""
    where = namespace if resource.namespaced else ""
    if sub == "scale" and name:
        scale = verbs.scale(
            store, resource, where, name, method, content_type, raw, manager
        )
        return 200, scale
    if method == "GET" and name:
        return 200, store.get(resource, where, name)
    if method == "GET":
        listed = store.list(
            resource,
            namespace or None,
            query.get("labelSelector"),
            query.get("fieldSelector"),
        )
        return 200, listed
    body = decode(raw, content_type)
    if method == "POST" and not name:
        require_object(body)
        return 201, verbs.create(store, resource, where, body, manager, dry_run)
    if method == "PUT" and name:
        require_object(body)
        return 200, verbs.replace(
            store, resource, where, name, body, manager, sub, dry_run
        )
    if method == "PATCH" and name:
        existed = store.find(resource, where, name) is not None
        if "apply-patch" in content_type:  # apply names its manager, or fails
            manager = query.get("fieldManager") or ""
        patched = verbs.patch(
            store, resource, where, name, content_type, raw, manager, sub, dry_run
        )
        return (200 if existed else 201), patched
    if method == "DELETE" and name:
        return 200, verbs.delete(store, resource, where, name, body, dry_run)
    if method == "DELETE":
        listed = store.list(
            resource,
            namespace or None,
            query.get("labelSelector"),
            query.get("fieldSelector"),
        )
        for item in listed["items"]:
            meta = item["metadata"]
            there = meta.get("namespace", "")
            verbs.delete(store, resource, there, meta["name"], body, dry_run)
        return 200, listed
    raise ApiError(
        405, "the server does not allow this method on the requested resource"
    )
