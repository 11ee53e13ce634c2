"""The Kubernetes API, as the AKS target uses it: JSON in, JSON out.

The official ``kubernetes`` client signs requests in (kubeconfig, with
``azure/aks-set-context``'s or kubelogin's exec credentials, or the pod's own
service account in a cluster) and carries them; the objects stay plain dicts,
the shapes the API server sends, so the rollout rules read like the API's own
documentation. Every manifest is applied with server-side apply under one field
manager, so a second apply of the same manifests changes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import urllib3

from mlops_actions.errors import BackendError, UsageError

FIELD_MANAGER = "mlops-actions"
#: what the client raises when no answer came (urllib3's errors are not OSErrors)
UNANSWERED: tuple[type[BaseException], ...] = (OSError, urllib3.exceptions.HTTPError)
#: seconds one API call may take before it counts as failed
CALL_TIMEOUT_S = 30.0
#: plural resource names of the kinds the target writes or reads
PLURALS = {
    "Deployment": "deployments",
    "ReplicaSet": "replicasets",
    "Service": "services",
    "ServiceAccount": "serviceaccounts",
    "Pod": "pods",
    "Event": "events",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "PodMonitor": "podmonitors",
}
API_VERSIONS = {
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Service": "v1",
    "ServiceAccount": "v1",
    "Pod": "v1",
    "Event": "v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "PodDisruptionBudget": "policy/v1",
    "PodMonitor": "monitoring.coreos.com/v1",
}


def connect(kubeconfig: Path | None = None, context: str | None = None) -> Any:
    """An API client: from ``kubeconfig`` (else ``$KUBECONFIG`` or
    ``~/.kube/config``), or the pod's service account inside a cluster."""
    try:
        from kubernetes import config
    except ImportError:
        raise UsageError(
            "the AKS target needs the kubernetes client: "
            "pip install 'mlops-actions[aks]'"
        ) from None
    if kubeconfig is not None and not kubeconfig.is_file():
        raise UsageError(f"--kubeconfig {kubeconfig}: no such file")
    # $KUBECONFIG read now: the client reads it once, when first imported
    chosen = str(kubeconfig) if kubeconfig else os.environ.get("KUBECONFIG")
    try:
        return config.new_client_from_config(
            config_file=chosen or None, context=context
        )
    except config.ConfigException as exc:
        if kubeconfig is None and context is None:
            try:
                config.load_incluster_config()
            except config.ConfigException:
                pass
            else:
                from kubernetes import client

                return client.ApiClient()
        raise UsageError(
            f"no cluster to deploy to: {exc}; pass --kubeconfig, or run "
            "azure/aks-set-context first"
        ) from None


def path_of(kind: str, namespace: str, name: str | None = None) -> str:
    """The REST path of ``kind`` objects in ``namespace`` (of one, by name)."""
    version = API_VERSIONS[kind]
    root = "/api/v1" if version == "v1" else f"/apis/{version}"
    path = f"{root}/namespaces/{namespace}/{PLURALS[kind]}"
    return f"{path}/{name}" if name else path


class Kube:
    """JSON calls to one cluster through an authenticated ``ApiClient``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @property
    def host(self) -> str:
        return str(self.client.configuration.host).rstrip("/")

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        missing_ok: bool = False,
    ) -> Any:
        """The decoded answer; None for a 404 when ``missing_ok``."""
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": "application/json", "Content-Type": content_type}
        try:
            answer = self.client.call_api(
                path,
                method,
                query_params=list((query or {}).items()),
                header_params=headers,
                body=body,  # the client encodes it as JSON
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=CALL_TIMEOUT_S,
            )
        except ApiException as exc:
            if exc.status == 404 and missing_ok:
                return None
            if not exc.status:  # the client's wording of a TLS failure
                raise BackendError(f"the Kubernetes API did not answer: {exc.reason}")
            raise BackendError(_api_error(method, path, exc)) from None
        except UNANSWERED as exc:
            raise BackendError(f"the Kubernetes API did not answer: {exc}") from None
        data = answer.data
        return json.loads(data) if data else None

    def apply(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply of one manifest; the live object after it."""
        meta = manifest["metadata"]
        path = path_of(manifest["kind"], meta["namespace"], meta["name"])
        query = {"fieldManager": FIELD_MANAGER, "force": "true"}
        return dict(
            self.call(
                "PATCH",
                path,
                query=query,
                body=manifest,
                content_type="application/apply-patch+yaml",
            )
        )

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.call("GET", path_of(kind, namespace, name), missing_ok=True)

    def list(
        self,
        kind: str,
        namespace: str,
        *,
        labels: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        query = {}
        if labels:
            query["labelSelector"] = ",".join(f"{k}={v}" for k, v in labels.items())
        if fields:
            query["fieldSelector"] = ",".join(f"{k}={v}" for k, v in fields.items())
        found = self.call("GET", path_of(kind, namespace), query=query)
        return list((found or {}).get("items") or [])

    def patch(
        self, kind: str, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A JSON merge patch (what ``kubectl rollout undo`` and ``scale`` send)."""
        path = path_of(kind, namespace, name)
        merged = self.call(
            "PATCH", path, body=patch, content_type="application/merge-patch+json"
        )
        return dict(merged)

    def replace_fields(
        self, kind: str, namespace: str, name: str, values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A JSON patch replacing whole fields (``/spec/template``: the pod
        template exactly, no keys of the old one merged in)."""
        ops = [{"op": "replace", "path": p, "value": v} for p, v in values.items()]
        path = path_of(kind, namespace, name)
        return dict(
            self.call(
                "PATCH", path, body=ops, content_type="application/json-patch+json"
            )
        )

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        """Delete ``name`` (its dependents too); False when it was not there."""
        body = {"kind": "DeleteOptions", "propagationPolicy": "Foreground"}
        path = path_of(kind, namespace, name)
        return self.call("DELETE", path, body=body, missing_ok=True) is not None

    def proxy(
        self,
        method: str,
        namespace: str,
        where: str,
        port: str,
        path: str,
        body: bytes | None = None,
        *,
        timeout: float = CALL_TIMEOUT_S,
    ) -> tuple[int, bytes]:
        """A request through the API server's proxy to ``where``
        (``services/NAME`` or ``pods/NAME``) on ``port``: (status, body).
        Raises OSError when the API server does not answer."""
        from kubernetes.client.exceptions import ApiException

        url = f"{_proxy_path(namespace, where, port)}/{path.lstrip('/')}"
        headers = {"Accept": "*/*", "Content-Type": "application/json"}
        try:
            answer = self.client.call_api(
                url,
                method,
                header_params=headers,
                # the client encodes a JSON body itself: decoded, else it
                # would send a JSON string of the JSON
                body=json.loads(body) if body is not None else None,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout,
            )
        except ApiException as exc:
            if not exc.status:
                raise OSError(f"the Kubernetes API did not answer: {exc.reason}")
            said = exc.body if exc.body is not None else b""
            return exc.status, said if isinstance(said, bytes) else str(said).encode()
        except UNANSWERED as exc:
            raise OSError(f"the Kubernetes API did not answer: {exc}") from None
        return int(answer.status), bytes(answer.data)

    def proxy_url(self, namespace: str, service: str, port: str) -> str:
        """The URL of ``service`` through the API server's service proxy."""
        return self.host + _proxy_path(namespace, f"services/{service}", port)


def _proxy_path(namespace: str, where: str, port: str) -> str:
    return f"/api/v1/namespaces/{namespace}/{where}:{port}/proxy"


def _api_error(method: str, path: str, exc: Any) -> str:
    """One line: the API's own Status message when it sent one."""
    message = exc.reason or ""
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        status = json.loads(body) if body else {}
        message = status.get("message") or message
    except ValueError:
        pass
    first = str(message).splitlines()[0] if message else "no message"
    return f"the Kubernetes API answered {exc.status} to {method} {path}: {first}"


def events_of(kube: Kube, namespace: str, names: Iterable[str]) -> list[str]:
    """The recent events of the named objects, oldest first, one line each
    (one list of the namespace's events, not one per object)."""
    wanted = set(names)
    lines: list[tuple[str, str]] = []
    for event in kube.list("Event", namespace):
        obj = event.get("involvedObject") or {}
        if obj.get("name") not in wanted:
            continue
        when = event.get("lastTimestamp") or event.get("eventTime") or ""
        line = (
            f"{obj.get('kind', '')}/{obj.get('name')}: "
            f"{event.get('reason', '')}: {event.get('message', '')}"
        )
        lines.append((str(when), line))
    return [line for _, line in sorted(lines)[-20:]]
