"""The project config ``mlops.yaml``: what a project tells the toolkit once.

Found in the working directory, or at ``--config`` / ``MLOPS_CONFIG``. Every
field, with its default; any other field is an error::

    azure:
      subscription_id: 00000000-0000-0000-0000-000000000000
      resource_group: ml-rg
      workspace: ml-ws
      tenant_id: ...          # Entra ID tenant, for OIDC sign-in (not a secret)
      client_id: ...          # app with a federated credential (not a secret)
      cloud: AzureCloud       # AzureCloud (default), AzureChinaCloud,
                              #   AzureUSGovernment, or a custom cloud's name
      cloud_metadata:         # a custom cloud only (Azure Stack): its endpoints
        azure_portal: https://portal.example
        resource_manager: https://management.example/
        active_directory: https://login.example
        aml_resource_id: https://ml.example/
        storage_endpoint: core.example
        registry_discovery_endpoint: https://discovery.example
      auth: auto              # auto (default), cli, oidc or default
      datastore: blobstore    # default: the workspace's default datastore
      timeout: 14400          # seconds a pipeline wait may take (default 4 h)
      compute:                # clusters --create-compute makes, by name
        cpu-cluster:
          size: Standard_DS3_v2
          min_nodes: 0        # default 0: scale to zero when idle
          max_nodes: 4
          idle_seconds: 120   # default 120: idle time before scale-down
          tier: dedicated     # dedicated (default) or low_priority
      light:                  # the short run a pull request makes (--light)
        compute: cpu-cluster  # every step runs there
        inputs:               # the pipeline's own inputs for the short run
          data: azureml:sample@latest
          epochs: 1
      environments: environments  # folder of Azure ML environments

    aks:                      # the AKS deploy target (mlops deploy aks/render)
      app: mlops-scorer       # Deployment, Service, HPA, PDB name: a DNS label,
                              #   at most 47 characters (APP-canary must fit 63)
      namespace: default
      replicas: 2             # pods of the Deployment (HPA: where it starts)
      min_replicas: 2         # default: replicas; an HPA is rendered only
      max_replicas: 2         #   when max_replicas > min_replicas
      target_cpu: 70          # HPA target: percent of the CPU request
      cpu: 500m               # CPU request
      memory: 1Gi             # memory request, and limit
      cpu_limit: null         # default none: a CPU limit throttles latency
      progress_deadline_seconds: 120  # no progress this long fails a rollout
      min_ready_seconds: 0    # ready this long before a pod counts available
      drain_seconds: 10       # preStop: served this long after removal from
                              #   the Service's endpoints (0: no preStop)
      service_type: ClusterIP # ClusterIP (default) or LoadBalancer
      pod_monitor: false      # also render a PodMonitor (Prometheus operator)
      pod_monitor_api: azmonitoring.coreos.com/v1  # Azure managed Prometheus;
                              #   monitoring.coreos.com/v1 for the operator's
      labels: {}              # extra labels on every object (not selectors)
      input_log:              # sampled scoring inputs for drift (default off)
        container_url: https://ACCOUNT.blob.core.windows.net/CONTAINER
        client_id: 00000000-0000-0000-0000-000000000000  # managed identity
        sample_rate: 0.1      # share of requests logged, (0, 1]
        resource_group: null  # the account's group, when not the node group
                              # (mounted by AKS's Blob CSI driver with the
                              # identity's token: give it Storage Blob Data
                              # Contributor on the container)
      canary:                 # read by --strategy canary
        weight: 10            # percent of the pods (so of traffic), 1..99
        bake_seconds: 120     # canary watched this long before promotion
        max_error_rate: 0.01  # share of 5xx answers that rejects it
        max_p95_ratio: 1.5    # canary p95 latency over stable's that rejects it

Each ``azure`` value can also come from a flag or an ``MLOPS_AZURE_*`` env var,
which win (see :func:`mlops_actions.azure.workspace.resolve_workspace`).
Sign-in is OIDC only: a client secret anywhere under ``azure:`` is refused,
and a storage key, SAS or connection string anywhere under ``aks:`` (the
scorer reaches storage with workload identity).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Mapping, Union

from pydantic import Field, ValidationError, model_validator

from mlops_actions.aks_config import (
    STORAGE_SECRET_REFUSAL,
    AksConfig,
    InputLog,
    storage_secret,
)
from mlops_actions.config_rules import SECRET_KEYS, Strict, explain
from mlops_actions.errors import UsageError
from mlops_actions.settings import ENV_CONFIG
from mlops_actions.yamlfile import YamlDoc, load_yaml

DEFAULT_FILE = Path("mlops.yaml")
#: Clouds azure-ai-ml knows by name; any other name is a custom cloud.
KNOWN_CLOUDS = ("AzureCloud", "AzureChinaCloud", "AzureUSGovernment")
AUTH_MODES = ("auto", "cli", "oidc", "default")
#: Four hours: the longest a pipeline wait takes unless told otherwise.
DEFAULT_TIMEOUT_S = 4 * 3600.0
SECRET_REFUSAL = (
    "a client secret is not accepted: sign-in is OIDC only (a federated "
    "credential on the app registration), see the README's 'Azure ML: one-time setup'; "
    "remove the key"
)

Scalar = Union[str, int, float, bool]


class CloudMetadata(Strict):
    """Endpoints of a custom cloud, as azure-ai-ml's ``cloud_metadata`` takes them."""

    azure_portal: str
    resource_manager: str
    active_directory: str
    aml_resource_id: str
    storage_endpoint: str
    registry_discovery_endpoint: str


class Compute(Strict):
    """A cluster ``--create-compute`` creates."""

    #: VM size, e.g. Standard_DS3_v2 (CPU) or Standard_NC6s_v3 (GPU)
    size: str
    #: nodes kept when idle; 0 scales to zero (pay only while jobs run)
    min_nodes: int = Field(0, ge=0)
    max_nodes: int = Field(ge=1)
    #: idle time before nodes above min_nodes are released
    idle_seconds: int = Field(120, ge=0)
    tier: Literal["dedicated", "low_priority"] = "dedicated"

    @model_validator(mode="after")
    def _nodes_ordered(self) -> "Compute":
        if self.min_nodes > self.max_nodes:
            raise ValueError(
                f"min_nodes {self.min_nodes} exceeds max_nodes {self.max_nodes}: "
                "lower min_nodes or raise max_nodes"
            )
        return self


class Light(Strict):
    """The short run of a pull request (``--light``)."""

    #: the cluster every step runs on
    compute: str | None = None
    #: values for the pipeline's own inputs (small data, one epoch)
    inputs: dict[str, Scalar] = Field(default_factory=dict)


class AzureConfig(Strict):
    """The Azure ML workspace and how the toolkit uses it. Unset: from flags/env."""

    subscription_id: str | None = None
    resource_group: str | None = None
    workspace: str | None = None
    #: Entra ID tenant of the app below (an id, not a secret)
    tenant_id: str | None = None
    #: app (client) id with a federated credential for GitHub OIDC
    client_id: str | None = None
    #: AzureCloud (default), AzureChinaCloud, AzureUSGovernment or a custom name
    cloud: str | None = None
    #: endpoints of a custom cloud (needs a cloud name of its own)
    cloud_metadata: CloudMetadata | None = None
    #: auto: OIDC or the azure/login session in GitHub, DefaultAzureCredential
    #: elsewhere; cli, oidc and default force one
    auth: Literal["auto", "cli", "oidc", "default"] | None = None
    #: datastore for data assets; unset: the workspace's default
    datastore: str | None = None
    #: seconds a pipeline wait may take
    timeout: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    compute: dict[str, Compute] = Field(default_factory=dict)
    light: Light = Field(default_factory=Light)
    #: folder of Azure ML environments (one sub-folder each)
    environments: str = "environments"

    @model_validator(mode="after")
    def _custom_cloud_named(self) -> "AzureConfig":
        if self.cloud_metadata is not None and self.cloud in (None, *KNOWN_CLOUDS):
            raise ValueError(
                "cloud_metadata describes a custom cloud: set cloud to a name of "
                f"its own (not {self.cloud or 'AzureCloud'})"
            )
        return self


class Project(Strict):
    """The whole ``mlops.yaml``."""

    azure: AzureConfig = Field(default_factory=AzureConfig)
    aks: AksConfig = Field(default_factory=AksConfig)


def config_path(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Path, bool]:
    """(file, named): the file to read, and whether the user named it."""
    env = os.environ if environ is None else environ
    if path is not None:
        return Path(path), True
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]), True
    return DEFAULT_FILE, False


def load_project(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> Project:
    """Read the project config; no file at the default place is an empty one.

    A named file (``path`` or ``MLOPS_CONFIG``) must exist. Bad YAML, an unknown
    key or a bad value is a UsageError naming file:line and the key.
    """
    file, named = config_path(path, environ)
    if not named and not file.exists():
        return Project()
    doc = load_yaml(file, "project config")
    if doc.repeated:
        where, line = doc.repeated[0]
        raise UsageError(f"{file}:{line}: {'.'.join(where)}: repeated key: keep one")
    secret = _secret_key(doc.data.get("azure"), ("azure",))
    if secret is not None:
        raise UsageError(f"{_at(doc, secret)}: {'.'.join(secret)}: {SECRET_REFUSAL}")
    secret = _secret_key(doc.data.get("aks"), ("aks",), storage_secret)
    if secret is not None:
        key = ".".join(secret)
        raise UsageError(f"{_at(doc, secret)}: {key}: {STORAGE_SECRET_REFUSAL}")
    try:
        return Project.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors()
        where, message = explain(errors[0])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        key = ".".join(where) or "top level"
        raise UsageError(f"{_at(doc, where)}: {key}: {message}{more}") from None


def _at(doc: YamlDoc, where: tuple[str, ...]) -> str:
    line = doc.line(where)
    return f"{doc.path}:{line}" if line else str(doc.path)


def _client_secret(key: str, value: Any) -> bool:
    return key.lower().replace("-", "_") in SECRET_KEYS


def _secret_key(
    value: Any,
    where: tuple[str, ...],
    is_secret: Callable[[str, Any], bool] = _client_secret,
) -> tuple[str, ...] | None:
    """Where a secret-looking key (or value) sits under ``where``, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            path = (*where, str(key))
            if is_secret(str(key), item):
                return path
            found = _secret_key(item, path, is_secret)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str) and is_secret("", item):
                return (*where, str(i))
            found = _secret_key(item, (*where, str(i)), is_secret)
            if found is not None:
                return found
    return None


__all__ = ["AksConfig", "AzureConfig", "InputLog", "Project", "load_project"]
