"""The resources the fake serves, and the discovery documents that list them.

Discovery answers the legacy shapes (``APIVersions``, ``APIGroupList``,
``APIResourceList``); a client asking for aggregated discovery gets these and
falls back, as it does against an older server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.2",
    "gitCommit": "5864a4677267e6adeae276ad85882a8714d69d9d",
    "gitTreeState": "clean",
    "buildDate": "2024-10-22T20:28:14Z",
    "goVersion": "go1.22.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update"]


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    #: writes to the object itself leave ``status`` alone
    status: bool = False
    #: ``metadata.generation`` counts changes of ``spec``
    generation: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """How the API server names the resource in messages: ``deployments.apps``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)


# fmt: off
RESOURCES = [
    Resource("apps", "v1", "deployments", "Deployment", short_names=("deploy",),
             status=True, generation=True),
    Resource("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",),
             status=True, generation=True),
    Resource("", "v1", "pods", "Pod", short_names=("po",), status=True),
    Resource("", "v1", "services", "Service", short_names=("svc",), status=True),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",)),
    Resource("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    Resource("", "v1", "events", "Event", short_names=("ev",)),
    Resource("", "v1", "namespaces", "Namespace", namespaced=False,
             short_names=("ns",), status=True),
    Resource("autoscaling", "v2", "horizontalpodautoscalers",
             "HorizontalPodAutoscaler", short_names=("hpa",), status=True,
             generation=True),
    Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget",
             short_names=("pdb",), status=True, generation=True),
    Resource("monitoring.coreos.com", "v1", "podmonitors", "PodMonitor",
             short_names=("pmon",), generation=True),
    Resource("azmonitoring.coreos.com", "v1", "podmonitors", "PodMonitor",
             generation=True),
]
# fmt: on
BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
GROUPS = sorted({r.group for r in RESOURCES if r.group})
DEPLOYMENTS = BY_PATH["apps", "v1", "deployments"]
REPLICASETS = BY_PATH["apps", "v1", "replicasets"]
PODS = BY_PATH["", "v1", "pods"]
SERVICES = BY_PATH["", "v1", "services"]
EVENTS = BY_PATH["", "v1", "events"]
NAMESPACES = BY_PATH["", "v1", "namespaces"]


def by_kind(kind: str, api_version: str | None = None) -> Resource:
    """The resource of ``kind`` (the first one served, unless ``api_version``)."""
    for resource in RESOURCES:
        if resource.kind == kind and api_version in (None, resource.api_version):
            return resource
    raise KeyError(f"the fake serves no kind {kind!r} ({api_version or 'any'})")


def api_versions(address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": address}
        ],
    }


def _group(name: str) -> dict[str, Any]:
    versions = sorted({r.version for r in RESOURCES if r.group == name})
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def group_list() -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(name) for name in GROUPS],
    }


def group(name: str) -> dict[str, Any] | None:
    if name not in GROUPS:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


def resource_list(group_name: str, version: str) -> dict[str, Any] | None:
    served = [r for r in RESOURCES if (r.group, r.version) == (group_name, version)]
    if not served:
        return None
    resources = []
    for r in served:
        resources.append(
            {
                "name": r.plural,
                "singularName": r.kind.lower(),
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": VERBS,
                **({"shortNames": list(r.short_names)} if r.short_names else {}),
            }
        )
        if r.status:
            resources.append(
                {
                    "name": f"{r.plural}/status",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        if r.plural in ("deployments", "replicasets"):
            resources.append(
                {
                    "name": f"{r.plural}/scale",
                    "singularName": "",
                    "namespaced": True,
                    "group": "autoscaling",
                    "version": "v1",
                    "kind": "Scale",
                    "verbs": ["get", "patch", "update"],
                }
            )
        if r.plural in ("services", "pods"):
            resources.append(
                {
                    "name": f"{r.plural}/proxy",
                    "singularName": "",
                    "namespaced": True,
                    "kind": f"{r.kind}ProxyOptions",
                    "verbs": ["create", "delete", "get", "patch", "update"],
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group_name}/{version}" if group_name else version,
        "resources": resources,
    }
