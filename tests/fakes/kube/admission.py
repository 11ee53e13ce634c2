"""What the API server does to an object before it stores it: defaults, checks.

Defaults are the ones a reader of a live object meets (replicas, strategy,
progressDeadlineSeconds, imagePullPolicy, a Service's clusterIP and
targetPort...), so code comparing live objects with what it applied meets
them too. Checks are the few a wrong manifest or patch trips in practice: a
Deployment's selector must match its template's labels and cannot change,
every container needs a name and an image.
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.fakes.kube.kinds import Resource
from tests.fakes.kube.selectors import matches
from tests.fakes.kube.status import ApiError, invalid

_cluster_ips = itertools.count(10)


def _go_map(labels: dict[str, Any]) -> str:
    inner = ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items()))
    return "map[string]string{" + inner + "}"


def _pull_policy(image: str) -> str:
    if "@" in image:
        return "IfNotPresent"
    tail = image.rsplit("/", 1)[-1]
    tag = tail.split(":", 1)[1] if ":" in tail else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        probe.setdefault(key, value)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("scheme", "HTTP")


def pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for container in itertools.chain(
        spec.get("initContainers") or [], spec.get("containers") or []
    ):
        if not isinstance(container, dict):
            continue
        container.setdefault("resources", {})
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault(
            "imagePullPolicy", _pull_policy(container.get("image", ""))
        )
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            _probe(container.get(probe))


def without_nulls(value: Any) -> Any:
    """What decoding into the typed object does to ``null`` fields: drops them."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def defaults(resource: Resource, obj: dict[str, Any]) -> None:
    spec = obj.get("spec")
    kind = resource.kind
    if kind in ("Deployment", "ReplicaSet") and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        template = spec.setdefault("template", {})
        # a template's metadata.creationTimestamp is a zero time, which the
        # API server (1.31) writes out as null
        template.setdefault("metadata", {})["creationTimestamp"] = None
        if isinstance(template.get("spec"), dict):
            pod_spec(template["spec"])
    if kind == "Deployment" and isinstance(spec, dict):
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
    if kind == "Pod" and isinstance(spec, dict):
        pod_spec(spec)
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("enableServiceLinks", True)
        obj.setdefault("status", {}).setdefault("phase", "Pending")
    if kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if "clusterIP" not in spec:
            n = next(_cluster_ips)
            spec["clusterIP"] = f"10.0.{n // 250}.{n % 250 + 1}"
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        obj.setdefault("status", {"loadBalancer": {}})
    if kind == "HorizontalPodAutoscaler" and isinstance(spec, dict):
        spec.setdefault("minReplicas", 1)
    if kind == "Namespace":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})
        labels = obj["metadata"].setdefault("labels", {})
        labels.setdefault("kubernetes.io/metadata.name", obj["metadata"]["name"])


def _containers(resource: Resource, name: str, spec: Any, field: str) -> None:
    containers = (spec or {}).get("containers") if isinstance(spec, dict) else None
    if not containers:
        raise invalid(resource, name, f"{field}.containers", "Required value")
    for i, container in enumerate(containers):
        for key in ("name", "image"):
            if not (isinstance(container, dict) and container.get(key)):
                where = f"{field}.containers[{i}].{key}"
                raise invalid(resource, name, where, "Required value")


def validate(
    resource: Resource, obj: dict[str, Any], live: dict[str, Any] | None
) -> None:
    name = obj["metadata"]["name"]
    spec = obj.get("spec")
    if resource.kind in ("Deployment", "ReplicaSet"):
        if not isinstance(spec, dict) or not spec.get("selector"):
            raise invalid(resource, name, "spec.selector", "Required value")
        if int(spec.get("replicas") or 0) < 0:
            raise invalid(
                resource,
                name,
                "spec.replicas",
                f"Invalid value: {spec['replicas']}: must be greater than or "
                "equal to 0",
            )
        template = spec.get("template") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        if not matches(spec["selector"], labels) or not labels:
            raise invalid(
                resource,
                name,
                "spec.template.metadata.labels",
                f"Invalid value: {_go_map(labels)}: `selector` does not match "
                "template `labels`",
            )
        _containers(resource, name, template.get("spec"), "spec.template.spec")
        before = ((live or {}).get("spec") or {}).get("selector")
        if live is not None and before != spec["selector"]:
            raise invalid(
                resource,
                name,
                "spec.selector",
                f"Invalid value: {spec['selector']!r}: field is immutable",
            )
    if resource.kind == "Pod" and not (live or {}).get("metadata", {}).get(
        "deletionTimestamp"
    ):
        _containers(resource, name, spec, "spec")
    if resource.kind == "Service":
        ports = (spec or {}).get("ports") if isinstance(spec, dict) else None
        if not ports and (spec or {}).get("clusterIP") != "None":
            raise invalid(resource, name, "spec.ports", "Required value")


def check_names(
    resource: Resource, obj: Any, namespace: str | None, name: str | None
) -> None:
    """The object's namespace and name agree with the URL (400 otherwise)."""
    if not isinstance(obj, dict):
        raise ApiError(400, "the body of the request must be an object")
    meta = obj.get("metadata") or {}
    if (
        resource.namespaced
        and meta.get("namespace")
        and namespace
        and meta["namespace"] != namespace
    ):
        raise ApiError(
            400,
            "the namespace of the provided object does not match the namespace "
            "sent on the request",
        )
    if name is not None and meta.get("name") and meta["name"] != name:
        raise ApiError(
            400,
            f"the name of the object ({meta['name']}) does not match the name "
            f"on the URL ({name})",
        )
    version = obj.get("apiVersion")
    if version and version != resource.api_version:
        raise ApiError(
            400,
            f"the API version in the data ({version}) does not match the "
            f"expected API version ({resource.api_version})",
        )
    if obj.get("kind") and obj["kind"] != resource.kind:
        raise ApiError(
            400,
            f"the kind in the data ({obj['kind']}) does not match the expected "
            f"kind ({resource.kind})",
        )
