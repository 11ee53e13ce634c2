"""The scorer's pod: its container, probes, security context and volumes
(pure; :mod:`.manifests` puts it into each track's Deployment)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mlops_actions.image.dockerfile import PORT, USER_ID
from mlops_actions.scorer.config import default as scorer_default

if TYPE_CHECKING:
    from mlops_actions.deploy.manifests import AksSettings

PORT_NAME = "http"
CONTAINER = "scorer"
READY_PATH, LIVE_PATH, METRICS_PATH = "/health/ready", "/health/live", "/metrics"
#: the writable emptyDir under a read-only root filesystem
TMP = "/tmp"
#: where the Blob container is mounted for the input log
INPUT_LOG_DIR = "/var/lib/mlops/inputs"
#: AKS's Azure Blob CSI driver (blobfuse2): the container as a folder
BLOB_CSI = "blob.csi.azure.com"
#: what the image's entrypoint, ``mlops scorer serve``, reads for its flags
ENV_LOG_INPUTS = "MLOPS_SCORER_SERVE_LOG_INPUTS"
ENV_LOG_SAMPLE_RATE = "MLOPS_SCORER_SERVE_LOG_SAMPLE_RATE"
#: SIGTERM comes after the drain; the scorer then finishes in-flight requests
#: within its graceful timeout; the kubelet kills what is left after the sum.
GRACE_MARGIN_S = 5


def pod_spec(
    settings: AksSettings, image: str, selector: dict[str, str]
) -> dict[str, Any]:
    drain = settings.drain_seconds
    graceful = math.ceil(scorer_default("graceful_timeout"))
    spec: dict[str, Any] = {
        "automountServiceAccountToken": settings.input_log is not None,
        "terminationGracePeriodSeconds": drain + graceful + GRACE_MARGIN_S,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": USER_ID,
            "runAsGroup": USER_ID,
            "fsGroup": USER_ID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(settings, image)],
        "volumes": [{"name": "tmp", "emptyDir": {}}, *_input_log_volume(settings)],
        # spread over nodes when it can, never left unscheduled for it
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector},
            }
        ],
    }
    if settings.input_log:
        spec["serviceAccountName"] = settings.app
    return spec


def _container(settings: AksSettings, image: str) -> dict[str, Any]:
    requests = {"cpu": settings.cpu, "memory": settings.memory}
    limits = {"memory": settings.memory}
    if settings.cpu_limit:
        limits["cpu"] = settings.cpu_limit
    # libraries that cache under ~ (matplotlib, huggingface) need it writable
    env = [{"name": "HOME", "value": TMP}]
    if settings.input_log:
        env += [
            {"name": ENV_LOG_INPUTS, "value": INPUT_LOG_DIR},
            {"name": ENV_LOG_SAMPLE_RATE, "value": str(settings.input_log.sample_rate)},
        ]
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": PORT_NAME, "containerPort": PORT, "protocol": "TCP"}],
        "env": env,
        "resources": {"requests": requests, "limits": limits},
        # /health/live answers once the server is up (the model loads behind
        # it): the startup probe gives the process two minutes to get there
        "startupProbe": _probe(LIVE_PATH, period=2, failures=60),
        "readinessProbe": _probe(READY_PATH, period=5, failures=2),
        "livenessProbe": _probe(LIVE_PATH, period=10, failures=3),
        "securityContext": {
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": TMP}]
        + (
            [{"name": "inputs", "mountPath": INPUT_LOG_DIR}]
            if settings.input_log
            else []
        ),
    }
    if settings.drain_seconds:
        # The kubelet's own sleep (Kubernetes 1.30+, on by default; every AKS
        # version now): no sleep binary needed in the image. Endpoints drop
        # the pod while it sleeps, so no request reaches a closing server.
        container["lifecycle"] = {
            "preStop": {"sleep": {"seconds": settings.drain_seconds}}
        }
    return container


def _input_log_volume(settings: AksSettings) -> list[dict[str, Any]]:
    """The input log's Blob container, mounted by the Azure Blob CSI driver
    with the pod's workload identity token (no account key fetched, none in
    the manifests): the identity needs Storage Blob Data Contributor on it.
    The scorer's files land as blobs; blobfuse has no hard links, which the
    input log's writer allows for."""
    log = settings.input_log
    if log is None:
        return []
    url = urlsplit(log.container_url)
    attributes = {
        "storageaccount": (url.hostname or "").split(".", 1)[0],
        "containerName": url.path.strip("/"),
        "clientID": log.client_id,
        "mountWithWorkloadIdentityToken": "true",
    }
    if log.resource_group:
        attributes["resourcegroup"] = log.resource_group
    return [
        {
            "name": "inputs",
            "csi": {"driver": BLOB_CSI, "volumeAttributes": attributes},
        }
    ]


def _probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": PORT_NAME},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }
