"""The scorer's Kubernetes manifests, rendered from settings (pure).

:func:`render` gives plain dicts, the JSON the API server takes, each with
its namespace, in the order they are applied: ServiceAccount (with an input
log, for workload identity), Deployment, Service, HorizontalPodAutoscaler
(when ``max_replicas > min_replicas``), PodDisruptionBudget, PodMonitor (when
asked). The rollout code (:mod:`.aks`) applies them; ``mlops deploy render``
writes them for review or GitOps.

Tracks: the ``stable`` Deployment is named ``app``, another track's is
``app-TRACK`` (a canary, or blue and green). The Service, PodDisruptionBudget
and PodMonitor are shared by every track: their selector names the app, not
the track, so a canary behind the Service takes traffic by its share of the
ready pods; :func:`service_selector` with a track is the selector a blue-green
switch writes. Each track's Deployment selects its pods by app and track only,
never by model version: a selector is immutable, and a new model version is a
new revision of the same Deployment.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_actions.deploy.pod_template import METRICS_PATH, PORT_NAME, pod_spec
from mlops_actions.errors import UsageError
from mlops_actions.image.dockerfile import PORT
from mlops_actions.aks_config import AksConfig, InputLog

SERVICE_PORT = 80
STABLE = "stable"
#: app.kubernetes.io/name: what runs; app.kubernetes.io/instance is the app
SOFTWARE = "mlops-scorer"
MANAGER = "mlops-actions"
NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
TRACK = "mlops-actions/track"
MODEL_NAME = "mlops-actions/model-name"
MODEL_VERSION = "mlops-actions/model-version"
COMMIT = "mlops-actions/commit"
#: pod template annotation: the image digest (too long for a label value)
IMAGE_DIGEST = "mlops-actions/image-digest"
USE_WORKLOAD_IDENTITY = "azure.workload.identity/use"
WORKLOAD_CLIENT_ID = "azure.workload.identity/client-id"
TRACK_MAX = 15  # with an app of at most 47: APP-TRACK fits 63
IMAGE_BY_DIGEST = re.compile(r"[^\s@]+@(sha256:[0-9a-f]{64})")
_TRACK = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DEFAULT = AksConfig()


@dataclass(frozen=True)
class AksSettings:
    """How the scorer runs on Kubernetes: ``mlops.yaml``'s ``aks:`` with the
    command line's values over it (see :class:`mlops_actions.project.AksConfig`
    for each field). ``min_replicas`` and ``max_replicas`` default to
    ``replicas``."""

    app: str = _DEFAULT.app
    namespace: str = _DEFAULT.namespace
    replicas: int = _DEFAULT.replicas
    min_replicas: int = 0
    max_replicas: int = 0
    target_cpu: int = _DEFAULT.target_cpu
    cpu: str = _DEFAULT.cpu
    memory: str = _DEFAULT.memory
    cpu_limit: str | None = _DEFAULT.cpu_limit
    progress_deadline_seconds: int = _DEFAULT.progress_deadline_seconds
    min_ready_seconds: int = _DEFAULT.min_ready_seconds
    drain_seconds: int = _DEFAULT.drain_seconds
    service_type: str = _DEFAULT.service_type
    pod_monitor: bool = _DEFAULT.pod_monitor
    pod_monitor_api: str = _DEFAULT.pod_monitor_api
    input_log: InputLog | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    canary_weight: int = _DEFAULT.canary.weight
    canary_bake_seconds: float = _DEFAULT.canary.bake_seconds
    canary_max_error_rate: float = _DEFAULT.canary.max_error_rate
    canary_max_p95_ratio: float = _DEFAULT.canary.max_p95_ratio

    def __post_init__(self) -> None:
        for bound in ("min_replicas", "max_replicas"):
            if not getattr(self, bound):
                object.__setattr__(self, bound, self.replicas)

    @classmethod
    def from_config(
        cls, config: AksConfig, overrides: Mapping[str, Any] | None = None
    ) -> AksSettings:
        """``config`` with ``overrides`` over it; None values are ignored.

        Keys are the config's fields (``namespace``, ``replicas``, ``cpu``...)
        and ``canary_weight`` and the like; a bad value is a UsageError
        naming the flag (``--replicas 0: ...``).
        """
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        chosen = config.overridden(given) if given else config
        plain = {
            name: getattr(chosen, name)
            for name in AksConfig.model_fields
            if name not in ("canary", "min_replicas", "max_replicas")
        }
        return cls(
            **plain,
            min_replicas=chosen.min_replicas or chosen.replicas,
            max_replicas=chosen.max_replicas or chosen.replicas,
            canary_weight=chosen.canary.weight,
            canary_bake_seconds=chosen.canary.bake_seconds,
            canary_max_error_rate=chosen.canary.max_error_rate,
            canary_max_p95_ratio=chosen.canary.max_p95_ratio,
        )

    @property
    def autoscaled(self) -> bool:
        """An HPA owns the replica count (``spec.replicas`` is its start)."""
        return self.max_replicas > self.min_replicas


def render(
    settings: AksSettings,
    *,
    image: str,
    model_name: str,
    model_version: str | None,
    commit: str | None,
    track: str = STABLE,
) -> list[dict[str, Any]]:
    """Every manifest of ``track``'s scorer, in the order to apply them.

    ``image`` must be ``REPOSITORY@sha256:<64 hex>`` (a tag can move under a
    running Deployment); anything else is a UsageError naming ``--image``.
    The shared objects (Service, PodDisruptionBudget, PodMonitor,
    ServiceAccount) come out the same for every track; a canary's HPA, if any,
    is the rollout code's to drop.
    """
    check_image(image)
    check_track(track)
    docs = [service_account(settings)] if settings.input_log else []
    docs.append(
        deployment(
            settings,
            image=image,
            model_name=model_name,
            model_version=model_version,
            commit=commit,
            track=track,
        )
    )
    docs.append(service(settings))
    if settings.autoscaled:
        docs.append(autoscaler(settings, track))
    docs.append(disruption_budget(settings))
    if settings.pod_monitor:
        docs.append(pod_monitor(settings))
    return docs


def deployment_name(settings: AksSettings, track: str = STABLE) -> str:
    return settings.app if track == STABLE else f"{settings.app}-{track}"


def service_selector(settings: AksSettings, track: str | None = None) -> dict[str, str]:
    """The app's pods, every track's; with ``track``, that track's only."""
    chosen = {NAME: SOFTWARE, INSTANCE: settings.app}
    return chosen if track is None else {**chosen, TRACK: track}


def service(settings: AksSettings, track: str | None = None) -> dict[str, Any]:
    """The Service: port 80 (``http``) to the pods' ``http`` port; the pods
    of every track, or of ``track`` only (a blue-green switch)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(settings, settings.app),
        "spec": {
            "type": settings.service_type,
            "selector": service_selector(settings, track),
            "ports": [
                {
                    "name": PORT_NAME,
                    "port": SERVICE_PORT,
                    "targetPort": PORT_NAME,
                    "protocol": "TCP",
                }
            ],
        },
    }


def label_value(value: str) -> str:
    """``value`` as a Kubernetes label value: at most 63 of ``[A-Za-z0-9._-]``,
    alphanumeric at each end; a longer one keeps a hash of the whole."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", value).strip("._-")
    if len(cleaned) > 63:
        digest = hashlib.sha256(value.encode()).hexdigest()[:8]
        cleaned = f"{cleaned[:54].rstrip('._-')}-{digest}"
    return cleaned


def check_image(image: str) -> str:
    """The image's digest (``sha256:...``); a UsageError unless by digest."""
    found = IMAGE_BY_DIGEST.fullmatch(image)
    if found is None:
        raise UsageError(
            f"--image {image}: not an image by digest: use "
            "REPOSITORY@sha256:<64 hex> (image.json's reference after mlops image "
            "build --push); a tag can move under a running Deployment"
        )
    return found.group(1)


def check_track(track: str) -> None:
    if len(track) > TRACK_MAX or not _TRACK.fullmatch(track):
        raise UsageError(
            f"--track {track}: use a DNS label of at most {TRACK_MAX} characters "
            "(stable, canary, blue, green)"
        )


def service_account(settings: AksSettings) -> dict[str, Any]:
    """The pods' identity: workload identity federated to the managed identity."""
    assert settings.input_log is not None
    meta = _metadata(settings, settings.app)
    meta["annotations"] = {WORKLOAD_CLIENT_ID: settings.input_log.client_id}
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


def deployment(
    settings: AksSettings,
    *,
    image: str,
    model_name: str,
    model_version: str | None,
    commit: str | None,
    track: str = STABLE,
) -> dict[str, Any]:
    selector = {**service_selector(settings), TRACK: track}
    labels = {**_labels(settings), **selector, MODEL_NAME: label_value(model_name)}
    if model_version:
        labels[MODEL_VERSION] = labels["app.kubernetes.io/version"] = label_value(
            model_version
        )
    if commit:
        labels[COMMIT] = label_value(commit[:12])
    pod_labels = dict(labels)
    if settings.input_log:
        pod_labels[USE_WORKLOAD_IDENTITY] = "true"
    annotations = {
        # Azure Monitor managed Prometheus scrapes by these when pod-annotation
        # scraping is on for the namespace; a PodMonitor is the other way.
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(PORT),
        "prometheus.io/path": METRICS_PATH,
        IMAGE_DIGEST: check_image(image),
    }
    meta = _metadata(settings, deployment_name(settings, track))
    meta["labels"] = labels
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            # kept with an HPA too (the rollout reads it): the HPA then owns
            # the count, and each apply starts it from here again
            "replicas": settings.replicas,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": settings.progress_deadline_seconds,
            "minReadySeconds": settings.min_ready_seconds,
            "selector": {"matchLabels": selector},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": pod_labels, "annotations": annotations},
                "spec": pod_spec(settings, image, selector),
            },
        },
    }


def autoscaler(settings: AksSettings, track: str = STABLE) -> dict[str, Any]:
    name = deployment_name(settings, track)
    target = {"type": "Utilization", "averageUtilization": settings.target_cpu}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(settings, name),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": name,
            },
            "minReplicas": settings.min_replicas,
            "maxReplicas": settings.max_replicas,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": target}}
            ],
        },
    }


def disruption_budget(settings: AksSettings) -> dict[str, Any]:
    """At most one pod of the app evicted at a time.

    maxUnavailable, not minAvailable: with one replica, minAvailable 1 would
    allow no eviction at all and block node drains (an AKS upgrade waits on
    it), and maxUnavailable keeps meaning one pod as the HPA scales. Unhealthy
    pods may always go (AlwaysAllow): a stuck rollout must not block a drain.
    """
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(settings, settings.app),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": service_selector(settings)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def pod_monitor(settings: AksSettings) -> dict[str, Any]:
    """Prometheus scraping of ``/metrics`` (``azmonitoring.coreos.com/v1`` for
    Azure managed Prometheus, ``monitoring.coreos.com/v1`` for the operator)."""
    return {
        "apiVersion": settings.pod_monitor_api,
        "kind": "PodMonitor",
        "metadata": _metadata(settings, settings.app),
        "spec": {
            "selector": {"matchLabels": service_selector(settings)},
            "podMetricsEndpoints": [{"port": PORT_NAME, "path": METRICS_PATH}],
        },
    }


def file_names(docs: list[dict[str, Any]]) -> list[str]:
    """``NN-kind-name.yaml`` for each manifest, numbered in apply order."""
    return [
        f"{i:02d}-{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"
        for i, doc in enumerate(docs, start=1)
    ]


def _labels(settings: AksSettings) -> dict[str, str]:
    """On every object: the user's labels, then ours (never in selectors)."""
    return {
        **settings.labels,
        NAME: SOFTWARE,
        INSTANCE: settings.app,
        "app.kubernetes.io/component": "scorer",
        "app.kubernetes.io/part-of": settings.app,
        "app.kubernetes.io/managed-by": MANAGER,
    }


def _metadata(settings: AksSettings, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": settings.namespace, "labels": _labels(settings)}
