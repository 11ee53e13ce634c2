"""The API server's service and pod proxies, in front of real HTTP servers.

``.../services/[SCHEME:]NAME[:PORT]/proxy/PATH`` picks a Ready pod the
Service selects (round-robin) and forwards the request to the backend its
image is served by (:meth:`FakeKube.serve_image`); ``.../pods/NAME[:PORT]/
proxy/PATH`` forwards to that one pod's. Failures answer as the real proxy
does: 503 ``no endpoints available for service "NAME"``, 503 ``no service
port N found``, 503 ``error trying to reach service: dial tcp ...`` for a
backend that is not listening.
"""

from __future__ import annotations

import http.client
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tests.fakes.kube.kinds import PODS, SERVICES, Resource
from tests.fakes.kube.pods import is_ready
from tests.fakes.kube.selectors import matches
from tests.fakes.kube.status import ApiError, not_found

if TYPE_CHECKING:
    from tests.fakes.kube import FakeKube

Answer = tuple[int, bytes, dict[str, str]]
#: headers of the backend's answer the proxy does not pass on as they are
_NOT_PASSED = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "proxy-connection",
    "upgrade",
    "te",
    "trailer",
    "date",
    "server",
}


def _split(target: str) -> tuple[str, str, str]:
    """``[scheme:]name[:port]`` -> (scheme, name, port)."""
    parts = target.split(":")
    if len(parts) == 1:
        return "", parts[0], ""
    if len(parts) == 2:
        return "", parts[0], parts[1]
    if len(parts) == 3 and parts[0] in ("http", "https", ""):
        return parts[0], parts[1], parts[2]
    raise ApiError(400, f"invalid service request {target!r}")


def _service_port(service: dict[str, Any], port: str, target: str) -> dict[str, Any]:
    name = service["metadata"]["name"]
    ports = service["spec"].get("ports") or []
    if port.isdigit():
        found = next((p for p in ports if str(p.get("port")) == port), None)
        if found is None:
            raise ApiError(503, f'no service port {port} found for service "{name}"')
        return found
    found = next((p for p in ports if (p.get("name") or "") == port), None)
    if found is None:
        raise ApiError(503, f'no endpoints available for service "{target}"')
    return found


def _container_port(pod: dict[str, Any], target_port: Any) -> str:
    if isinstance(target_port, int) or str(target_port).isdigit():
        return str(target_port)
    for container in pod["spec"].get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target_port:
                return str(port.get("containerPort"))
    return str(target_port)


def pick(fake: "FakeKube", resource: Resource, namespace: str, target: str) -> tuple:
    """(pod, its address for messages, the backend URL or None); holds the lock."""
    _, name, port = _split(target)
    store = fake.store
    if resource is PODS:
        pod = store.find(PODS, namespace, name)
        if pod is None:
            raise not_found(PODS, name)
        ip = (pod.get("status") or {}).get("podIP")
        if not ip:
            raise ApiError(400, "address not allowed")
        return pod, f"{ip}:{port or 80}", fake.backend_for(pod)
    if resource is not SERVICES:
        raise ApiError(404, "the server could not find the requested resource")
    service = store.find(SERVICES, namespace, name)
    if service is None:
        raise not_found(SERVICES, name)
    selector = service["spec"].get("selector")
    pods = sorted(
        (
            p
            for p in store.items(PODS, namespace)
            if selector
            and is_ready(p)
            and matches({"matchLabels": selector}, p["metadata"].get("labels"))
        ),
        key=lambda p: p["metadata"]["name"],
    )
    service_port = _service_port(service, port, target)
    if not pods:
        raise ApiError(503, f'no endpoints available for service "{name}"')
    key = f"{namespace}/{name}"
    turn = fake.round_robin.get(key, 0)
    fake.round_robin[key] = turn + 1
    pod = pods[turn % len(pods)]
    target_port = service_port.get("targetPort", service_port.get("port"))
    address = f"{pod['status']['podIP']}:{_container_port(pod, target_port)}"
    return pod, address, fake.backend_for(pod)


def forward(
    backend: str | None,
    address: str,
    pod: dict[str, Any],
    method: str,
    path: str,
    query: str,
    body: bytes,
    headers: dict[str, str],
) -> Answer:
    refused = ApiError(
        503,
        f"error trying to reach service: dial tcp {address}: connect: "
        "connection refused",
    )
    if backend is None:
        raise refused
    where = urlsplit(backend)
    sent = {k: v for k, v in headers.items() if k.lower() in ("content-type", "accept")}
    target = "/" + path.lstrip("/") + (f"?{query}" if query else "")
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        connection.request(
            method, (where.path.rstrip("/") + target), body or None, sent
        )
        answer = connection.getresponse()
        data = answer.read()
    except ConnectionRefusedError:
        raise refused from None
    except OSError as exc:
        raise ApiError(503, f"error trying to reach service: {exc}") from None
    finally:
        connection.close()
    passed = {k: v for k, v in answer.getheaders() if k.lower() not in _NOT_PASSED}
    passed["X-Fake-Pod"] = pod["metadata"]["name"]
    return answer.status, data, passed
