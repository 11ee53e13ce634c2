"""A stateful fake Kubernetes API server on 127.0.0.1, for the real client.

The official ``kubernetes`` client (and :class:`mlops_actions.deploy.kube.Kube`)
talks to it over real sockets with a bearer token from the kubeconfig it
writes (HTTPS too, given a :class:`tests.fakes.tls.Authority`; kubectl needs
that). It serves discovery (:mod:`.kinds`), reads with selectors
(:mod:`.store`), the write verbs with the four PATCH flavours, DELETE with
propagation and ``/scale`` (:mod:`.verbs`, :mod:`.patches`, :mod:`.admission`),
and the service and pod proxies (:mod:`.proxy`). A controller thread does what
the garbage collector, the ReplicaSet and Deployment controllers and the
kubelet do (:mod:`.controller`, :mod:`.deployments`, :mod:`.pods`), every
``tick_interval``.

What a test can do (``fake_kube`` fixture, :mod:`.fixtures`):

- ``kubeconfig(path)``, ``api_client()``; ``token``, ``url``;
- ``break_image(image_or_prefix, reason=, message=)``, ``fix_image(...)``,
  ``serve_image(image, url)``, ``set_ready_delay(seconds)``,
  ``fail_next(method, path_prefix, status, times=1, message=)``;
- ``tick()``, ``objects(kind, namespace)``, ``get(kind, namespace, name)``,
  ``create(manifest)``, ``events(namespace, name)``, ``ready_endpoints(...)``,
  ``wait_for(predicate)``;
- ``requests``, ``calls(method, path_prefix)``, ``ready_endpoints_history``,
  ``errors`` (tracebacks of the fake's own failures; the fixture asserts none).

Simplified on purpose: pods are deleted at once (no Terminating, no grace
period), readiness is ``ready_delay`` (probes are not run), apply treats
lists as atomic and never reports a field-manager conflict, there are no
watches (405), Endpoints objects, RBAC or admission webhooks.
"""

from __future__ import annotations

import base64
import copy
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.fakes.kube import http, kinds, verbs
from tests.fakes.kube.controller import Controllers
from tests.fakes.kube.pods import Breakage, Kubelet, is_ready
from tests.fakes.kube.selectors import matches
from tests.fakes.kube.status import failure
from tests.fakes.kube.store import Store
from tests.fakes.tls import Authority

BREAK_REASONS = ("ImagePullBackOff", "CrashLoopBackOff")


@dataclass
class Injected:
    method: str
    path_prefix: str
    status: int
    times: int
    message: str

    def body(self) -> dict[str, Any]:
        return failure(self.status, self.message)


class FakeKube:
    """The fake cluster; serving from construction until :meth:`close`.

    ``ready_delay``: seconds from a pod's creation to Running and Ready.
    ``deadline_scale``: multiplies ``progressDeadlineSeconds`` and
    ``minReadySeconds`` (0.01: a 600 s deadline passes in 6 s).
    ``namespaces``: the namespaces that exist (with ``default``); None: any
    namespace a request names exists, as if created beforehand.
    ``tls``: serve HTTPS with this authority's certificate (the kubeconfig
    then carries its CA); kubectl sends no bearer token over plain HTTP.
    """

    def __init__(
        self,
        *,
        ready_delay: float = 0.2,
        deadline_scale: float = 0.01,
        tick_interval: float = 0.05,
        token: str = "fake-kube-token",
        namespaces: Iterable[str] | None = None,
        tls: Authority | None = None,
    ) -> None:
        self.token = token
        self.tick_interval = tick_interval
        self.lock = threading.RLock()
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []
        #: "NAMESPACE/SERVICE" -> the Ready pods it selected, at each change
        self.ready_endpoints_history: dict[str, list[int]] = {}
        self.backends: dict[str, str] = {}
        self.resolver: Callable[[str], str | None] | None = None
        self.token_predicate: Callable[[str], bool] | None = None
        self.round_robin: dict[str, int] = {}
        self._failures: list[Injected] = []
        self.store = Store(namespaces)
        self.kubelet = Kubelet(self.store, ready_delay)
        self.controllers = Controllers(self.store, self.kubelet, deadline_scale)
        self.store.on_change = self._record_endpoints
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), http.handler(self))
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.tls = tls
        if tls is not None:
            self.server.socket = tls.server_context().wrap_socket(
                self.server.socket, server_side=True
            )
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(
                target=self.server.serve_forever, args=(0.05,), daemon=True
            ),
            threading.Thread(target=self._run_controllers, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # -- lifecycle -------------------------------------------------------
    def __enter__(self) -> "FakeKube":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            thread.join(5)

    def _run_controllers(self) -> None:
        while not self._stopping.wait(self.tick_interval):
            try:
                self.tick()
            except Exception:  # keep ticking; the fixture reports it
                import traceback

                self.errors.append(traceback.format_exc())

    def tick(self) -> None:
        """One pass of every controller (the thread does this on its own)."""
        with self.lock:
            self.controllers.tick()

    # -- what clients connect with ---------------------------------------
    def kubeconfig(self, path: Path | str, context: str = "fake") -> Path:
        """Write a kubeconfig for this server (a bearer token, ``context``
        current) to ``path``."""
        cluster: dict[str, Any] = {"server": self.url}
        if self.tls is not None:
            authority = base64.b64encode(self.tls.bundle.read_bytes()).decode()
            cluster["certificate-authority-data"] = authority
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake-cluster", "cluster": cluster}],
            "users": [{"name": "fake-user", "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": context,
                    "context": {
                        "cluster": "fake-cluster",
                        "user": "fake-user",
                        "namespace": "default",
                    },
                }
            ],
            "current-context": context,
            "preferences": {},
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` loaded from a kubeconfig, as
        ``kube.connect`` loads one."""
        from kubernetes import config

        with tempfile.TemporaryDirectory() as folder:
            path = self.kubeconfig(Path(folder) / "config")
            return config.new_client_from_config(config_file=str(path))

    # -- scenarios -------------------------------------------------------
    def break_image(
        self,
        image_or_prefix: str,
        reason: str = "ImagePullBackOff",
        message: str | None = None,
    ) -> None:
        """Pods of this image (or any image starting with it) never get
        ready: their container waits with ``reason``."""
        if reason not in BREAK_REASONS:
            raise ValueError(f"reason: one of {BREAK_REASONS}, not {reason!r}")
        with self.lock:
            self.kubelet.broken[image_or_prefix] = Breakage(reason, message)

    def fix_image(self, image_or_prefix: str) -> None:
        with self.lock:
            self.kubelet.broken.pop(image_or_prefix, None)

    def serve_image(self, image: str, url: str) -> None:
        """Requests proxied to a pod running ``image`` go to ``url``."""
        with self.lock:
            self.backends[image] = url.rstrip("/")

    def accept_tokens(self, predicate: Callable[[str], bool]) -> None:
        """Bearer tokens ``predicate`` passes are accepted too (an Entra ID
        cluster takes the sign-in's tokens for the AKS server application)."""
        self.token_predicate = predicate

    def token_ok(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token:
            return False
        if token == self.token:
            return True
        return self.token_predicate is not None and self.token_predicate(token)

    def serve_images(self, resolver: Callable[[str], str | None]) -> None:
        """Images :meth:`serve_image` did not name go to ``resolver(image)``'s
        URL (a test that learns the image only when it is pushed)."""
        self.resolver = resolver

    def backend_for(self, pod: dict[str, Any]) -> str | None:
        for container in pod["spec"].get("containers") or []:
            image = container.get("image")
            if image in self.backends:
                return self.backends[image]
            if image and self.resolver is not None:
                url = self.resolver(image)
                if url:
                    with self.lock:
                        self.backends[image] = url.rstrip("/")
                    return url.rstrip("/")
        return None

    def set_ready_delay(self, seconds: float) -> None:
        with self.lock:
            self.kubelet.ready_delay = seconds

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int,
        times: int = 1,
        message: str = "injected failure",
    ) -> None:
        """Answer the next ``times`` ``method`` requests under ``path_prefix``
        with ``status`` and a ``Status`` body."""
        with self.lock:
            self._failures.append(
                Injected(method.upper(), path_prefix, status, times, message)
            )

    def injected(self, method: str, path: str) -> Injected | None:
        with self.lock:
            for failure_ in self._failures:
                if (
                    failure_.times > 0
                    and failure_.method == method
                    and path.startswith(failure_.path_prefix)
                ):
                    failure_.times -= 1
                    return failure_
        return None

    # -- reading the cluster ---------------------------------------------
    def objects(
        self, kind: str, namespace: str | None = None, api_version: str | None = None
    ) -> list[dict[str, Any]]:
        """Copies of the current ``kind`` objects (in ``namespace``)."""
        resource = kinds.by_kind(kind, api_version)
        with self.lock:
            return copy.deepcopy(self.store.items(resource, namespace))

    def get(
        self, kind: str, namespace: str, name: str, api_version: str | None = None
    ) -> dict[str, Any] | None:
        resource = kinds.by_kind(kind, api_version)
        with self.lock:
            return copy.deepcopy(self.store.find(resource, namespace, name))

    def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Store ``manifest`` as a POST would (defaults and checks included)."""
        resource = kinds.by_kind(manifest["kind"], manifest.get("apiVersion"))
        namespace = manifest.get("metadata", {}).get("namespace", "default")
        with self.lock:
            return verbs.create(
                self.store, resource, namespace, copy.deepcopy(manifest), "test"
            )

    def events(self, namespace: str, name: str | None = None) -> list[dict[str, Any]]:
        """Events in ``namespace`` (about the object ``name``), oldest first."""
        return [
            e
            for e in self.objects("Event", namespace)
            if name is None or e["involvedObject"]["name"] == name
        ]

    def ready_endpoints(self, namespace: str, service: str) -> int:
        """The Ready pods the Service selects now."""
        with self.lock:
            found = self.store.find(kinds.SERVICES, namespace, service)
            return self._ready_pods(found) if found else 0

    def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = ""
    ) -> Any:
        """Poll ``predicate`` until it returns something true; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.02)

    def calls(
        self, method: str | None = None, path_prefix: str = ""
    ) -> list[dict[str, Any]]:
        """The recorded requests of ``method`` under ``path_prefix``."""
        return [
            r
            for r in list(self.requests)
            if (method is None or r["method"] == method.upper())
            and r["path"].startswith(path_prefix)
        ]

    # -- bookkeeping -----------------------------------------------------
    def record(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        content_type: str,
        body: Any,
    ) -> None:
        with self.lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "query": query,
                    "content_type": content_type,
                    "body": body,
                }
            )

    def _ready_pods(self, service: dict[str, Any]) -> int:
        selector = (service.get("spec") or {}).get("selector")
        if not selector:
            return 0
        namespace = service["metadata"]["namespace"]
        return sum(
            is_ready(pod)
            and matches({"matchLabels": selector}, pod["metadata"].get("labels"))
            for pod in self.store.items(kinds.PODS, namespace)
        )

    def _record_endpoints(self) -> None:
        for service in self.store.items(kinds.SERVICES):
            key = f"{service['metadata']['namespace']}/{service['metadata']['name']}"
            ready = self._ready_pods(service)
            history = self.ready_endpoints_history.get(key)
            if history is None and ready:
                self.ready_endpoints_history[key] = [ready]
            elif history is not None and history[-1] != ready:
                history.append(ready)


__all__ = ["FakeKube"]
