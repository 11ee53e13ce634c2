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
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, Union
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mlops_actions.errors import UsageError
from mlops_actions.settings import ENV_CONFIG
from mlops_actions.yamlfile import YamlDoc, load_yaml

DEFAULT_FILE = Path("mlops.yaml")
#: Clouds azure-ai-ml knows by name; any other name is a custom cloud.
KNOWN_CLOUDS = ("AzureCloud", "AzureChinaCloud", "AzureUSGovernment")
AUTH_MODES = ("auto", "cli", "oidc", "default")
#: Four hours: the longest a pipeline wait takes unless told otherwise.
DEFAULT_TIMEOUT_S = 4 * 3600.0
#: Key names (lower case, ``-`` read as ``_``) that would hold a client secret.
SECRET_KEYS = frozenset(
    {"client_secret", "secret", "azure_client_secret", "password", "certificate"}
)
SECRET_REFUSAL = (
    "a client secret is not accepted: sign-in is OIDC only (a federated "
    "credential on the app registration), see the README's 'Azure ML: one-time setup'; "
    "remove the key"
)

#: Under ``aks:``: key names (read as above) that would hold a storage
#: credential, and values that carry one (a connection string's or SAS's parts).
STORAGE_SECRET_KEYS = SECRET_KEYS | {"key", "token", "sas", "connection_string"}
STORAGE_SECRET_ENDINGS = ("_key", "_secret", "_password", "_token", "_sas")
STORAGE_SECRET_VALUES = re.compile(r"AccountKey=|SharedAccessSignature=|[?&]sig=", re.I)
STORAGE_SECRET_REFUSAL = (
    "a storage key, SAS or connection string is not accepted: the scorer writes "
    "with workload identity (aks.input_log.client_id, a managed identity with a "
    "federated credential); remove it"
)
#: The app names the Service too, so a DNS-1035 label; at most 47 characters
#: leaves room for "-canary", "-green" within a name's 63.
APP_NAME = r"[a-z]([-a-z0-9]{0,45}[a-z0-9])?"
NAMESPACE = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
LABEL_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
#: label prefixes that mlops deploy sets itself, or Kubernetes keeps
RESERVED_LABELS = re.compile(
    r"(mlops-actions|app\.kubernetes\.io|azure\.workload\.identity"
    r"|(.*\.)?kubernetes\.io|(.*\.)?k8s\.io)/"
)
CPU = r"[0-9]*\.?[0-9]+m?"
QUANTITY = r"([0-9]*\.?[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?"
_FACTORS = {"m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_FACTORS.update({"P": 1e15, "E": 1e18})
_FACTORS.update({f"{s}i": 1024.0 ** (n + 1) for n, s in enumerate("KMGTPE")})
GUID = r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
BLOB_CONTAINER = r"[a-z0-9](-?[a-z0-9]){2,62}"

Scalar = Union[str, int, float, bool]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CloudMetadata(_Strict):
    """Endpoints of a custom cloud, as azure-ai-ml's ``cloud_metadata`` takes them."""

    azure_portal: str
    resource_manager: str
    active_directory: str
    aml_resource_id: str
    storage_endpoint: str
    registry_discovery_endpoint: str


class Compute(_Strict):
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


class Light(_Strict):
    """The short run of a pull request (``--light``)."""

    #: the cluster every step runs on
    compute: str | None = None
    #: values for the pipeline's own inputs (small data, one epoch)
    inputs: dict[str, Scalar] = Field(default_factory=dict)


class AzureConfig(_Strict):
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


def quantity(text: str) -> float:
    """A Kubernetes quantity (``500m``, ``2``, ``1Gi``) as a number."""
    found = re.fullmatch(QUANTITY, text)
    if found is None:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    return float(found.group(1)) * _FACTORS[found.group(2) or ""]


def _matching(pattern: str, what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(f"must be {what}, got {value!r}")
        return value

    return AfterValidator(check)


def _memory(value: str) -> str:
    found = re.fullmatch(QUANTITY, value)
    if found is None or found.group(2) == "m" or quantity(value) < 1 << 20:
        raise ValueError(
            "must be a memory quantity of at least 1Mi such as 512Mi or 1Gi "
            f"(m means thousandths of a byte), got {value!r}"
        )
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    for key, text in value.items():
        prefix, _, name = key.rpartition("/")
        if RESERVED_LABELS.fullmatch(f"{prefix}/"):
            raise ValueError(
                f"label {key!r}: {prefix}/ is set by mlops deploy or by "
                "Kubernetes: use a prefix of your own"
            )
        good_prefix = not prefix or (
            len(prefix) <= 253 and re.fullmatch(LABEL_PREFIX, prefix)
        )
        if not (good_prefix and re.fullmatch(LABEL_NAME, name)):
            raise ValueError(
                f"label {key!r} is not a Kubernetes label key: [PREFIX/]NAME, "
                "NAME at most 63 letters, digits, '-', '_' or '.'"
            )
        if text and not re.fullmatch(LABEL_NAME, text):
            raise ValueError(
                f"label {key!r}: {text!r} is not a label value: at most 63 "
                "letters, digits, '-', '_' or '.', alphanumeric at each end"
            )
    return value


def _text(value: Any) -> Any:
    """``cpu: 2`` in YAML is a number; Kubernetes takes it as text."""
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return str(value) if numeric else value


AppName = Annotated[
    str,
    _matching(
        APP_NAME,
        "a DNS label of at most 47 characters (lower-case letters, digits and "
        "'-', starting with a letter, ending with a letter or digit)",
    ),
]
Namespace = Annotated[
    str,
    _matching(
        NAMESPACE,
        "a DNS label of at most 63 characters (lower-case letters, digits and "
        "'-', a letter or digit at each end)",
    ),
]
Cpu = Annotated[
    str, BeforeValidator(_text), _matching(CPU, "a CPU quantity such as 500m or 2")
]
Memory = Annotated[str, BeforeValidator(_text), AfterValidator(_memory)]
Labels = Annotated[dict[str, str], AfterValidator(_labels)]


class InputLog(_Strict):
    """Sampled scoring inputs, uploaded for drift checks with workload identity."""

    #: https://ACCOUNT.blob.core.windows.net/CONTAINER, no query string
    container_url: str
    #: client id of the user-assigned managed identity (an id, not a secret)
    client_id: Annotated[
        str, _matching(GUID, "the managed identity's client id, a GUID")
    ]
    #: share of requests whose rows are logged
    sample_rate: float = Field(default=0.1, gt=0, le=1)

    @field_validator("container_url")
    @classmethod
    def _container(cls, value: str) -> str:
        url = urlsplit(value)
        if url.query or url.fragment or "@" in url.netloc:
            # not echoed: after the ? comes a SAS token
            raise ValueError(
                "a query string or credentials in the URL (a SAS) are not "
                "accepted: the scorer signs in with workload identity; give "
                "https://ACCOUNT.blob.core.windows.net/CONTAINER"
            )
        host, container = f".{url.hostname or ''}.", url.path.strip("/")
        if url.scheme != "https" or ".blob." not in host:
            raise ValueError(
                "must be a blob container's URL, https://ACCOUNT.blob.core."
                f"windows.net/CONTAINER, got {value!r}"
            )
        if not re.fullmatch(BLOB_CONTAINER, container):
            raise ValueError(
                f"{container!r} is not a container name: 3-63 lower-case "
                "letters, digits and single '-'"
            )
        return value.rstrip("/")


class Canary(_Strict):
    """``--strategy canary``: a second Deployment behind the same Service."""

    #: percent of the pods, so of the requests, the canary takes
    weight: int = Field(default=10, ge=1, le=99)
    #: seconds the canary serves before it is judged
    bake_seconds: float = Field(default=120, ge=0)
    #: share of 5xx answers that rejects the canary
    max_error_rate: float = Field(default=0.01, ge=0, le=1)
    #: canary p95 latency over the stable track's that rejects it
    max_p95_ratio: float = Field(default=1.5, gt=0)


class AksConfig(_Strict):
    """The scorer on Kubernetes (see :mod:`mlops_actions.deploy.manifests`)."""

    app: AppName = "mlops-scorer"
    namespace: Namespace = "default"
    replicas: int = Field(default=2, ge=1)
    #: HPA bounds; unset: replicas (no HPA while the two are equal)
    min_replicas: int | None = Field(default=None, ge=1)
    max_replicas: int | None = Field(default=None, ge=1)
    #: HPA target, percent of the CPU request
    target_cpu: int = Field(default=70, ge=1)
    cpu: Cpu = "500m"
    #: the request and the limit: memory cannot be throttled, only killed
    memory: Memory = "1Gi"
    #: none by default: a CPU limit throttles a busy scorer's latency
    cpu_limit: Cpu | None = None
    progress_deadline_seconds: int = Field(default=120, ge=1)
    min_ready_seconds: int = Field(default=0, ge=0)
    #: seconds a terminating pod keeps serving while endpoints catch up
    drain_seconds: int = Field(default=10, ge=0)
    service_type: Literal["ClusterIP", "LoadBalancer"] = "ClusterIP"
    pod_monitor: bool = False
    pod_monitor_api: Literal[
        "azmonitoring.coreos.com/v1", "monitoring.coreos.com/v1"
    ] = "azmonitoring.coreos.com/v1"
    input_log: InputLog | None = None
    labels: Labels = Field(default_factory=dict)
    canary: Canary = Field(default_factory=Canary)

    @model_validator(mode="after")
    def _consistent(self) -> "AksConfig":
        low = self.replicas if self.min_replicas is None else self.min_replicas
        high = self.replicas if self.max_replicas is None else self.max_replicas
        if not low <= self.replicas <= high:
            raise ValueError(
                f"replicas {self.replicas} must lie between min_replicas {low} "
                f"and max_replicas {high}: change one of them"
            )
        if self.progress_deadline_seconds <= self.min_ready_seconds:
            raise ValueError(
                "progress_deadline_seconds must exceed min_ready_seconds "
                f"({self.min_ready_seconds}): Kubernetes refuses it otherwise"
            )
        limit = self.cpu_limit
        if limit is not None and quantity(limit) < quantity(self.cpu):
            raise ValueError(
                f"cpu_limit {limit} is below the cpu request {self.cpu}: raise "
                "cpu_limit or lower cpu"
            )
        return self

    def overridden(self, overrides: Mapping[str, Any]) -> "AksConfig":
        """This config with flag values over it (``{"replicas": 3}``; a
        ``canary_`` key sets the canary's field); a bad value is a UsageError
        naming the flag."""
        data = self.model_dump()
        for key, value in overrides.items():
            field = key.removeprefix("canary_")
            if key.startswith("canary_") and field in Canary.model_fields:
                data["canary"][field] = value
            elif key in AksConfig.model_fields and key not in ("canary", "input_log"):
                data[key] = value
            else:
                raise KeyError(f"no aks setting {key!r} to override")
        try:
            return AksConfig.model_validate(data)
        except ValidationError as exc:
            where, message = explain(exc.errors()[0])
            key = "_".join(where)
            if key not in overrides:  # a rule across values: name a flag given
                key = next(iter(overrides))
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"{flag} {overrides[key]}: {message}") from None


class Project(_Strict):
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
    secret = _secret_key(doc.data.get("aks"), ("aks",), _storage_secret)
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


def _storage_secret(key: str, value: Any) -> bool:
    name = key.lower().replace("-", "_")
    return (
        name in STORAGE_SECRET_KEYS
        or name.endswith(STORAGE_SECRET_ENDINGS)
        or (isinstance(value, str) and bool(STORAGE_SECRET_VALUES.search(value)))
    )


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


def explain(error: Any) -> tuple[tuple[str, ...], str]:
    """(key path, what to change) for one pydantic error."""
    loc = tuple(str(part) for part in error["loc"])
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "extra_forbidden":
        return loc, "unknown key: remove it or fix its spelling"
    if kind == "missing":
        return loc, "is required: add it"
    if kind == "literal_error":
        expected = ctx.get("expected", "").replace("'", "")
        return loc, f"must be {expected}, got {value!r}"
    if kind in ("greater_than", "greater_than_equal"):
        bound = ctx.get("gt", ctx.get("ge"))
        sign = ">" if kind == "greater_than" else ">="
        shown = f"{bound:g}" if isinstance(bound, (int, float)) else bound
        return loc, f"must be {sign} {shown}, got {value!r}"
    if kind in ("less_than", "less_than_equal"):
        bound = ctx.get("lt", ctx.get("le"))
        sign = "<" if kind == "less_than" else "<="
        shown = f"{bound:g}" if isinstance(bound, (int, float)) else bound
        return loc, f"must be {sign} {shown}, got {value!r}"
    cause = ctx.get("error")
    if isinstance(cause, Exception):
        return loc, str(cause)
    return loc, f"{error['msg'].lower()}, got {value!r}"
