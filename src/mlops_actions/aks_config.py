"""The ``aks:`` section of ``mlops.yaml``: the scorer on Kubernetes.

Every key, its default and its rule are documented in
:mod:`mlops_actions.project`; :class:`mlops_actions.deploy.manifests.AksSettings`
is what the manifests are rendered from.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Mapping
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mlops_actions.config_rules import SECRET_KEYS, Strict, explain
from mlops_actions.errors import UsageError

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


def storage_secret(key: str, value: Any) -> bool:
    name = key.lower().replace("-", "_")
    return (
        name in STORAGE_SECRET_KEYS
        or name.endswith(STORAGE_SECRET_ENDINGS)
        or (isinstance(value, str) and bool(STORAGE_SECRET_VALUES.search(value)))
    )


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


class InputLog(Strict):
    """Sampled scoring inputs, uploaded for drift checks with workload identity."""

    #: https://ACCOUNT.blob.core.windows.net/CONTAINER, no query string
    container_url: str
    #: client id of the user-assigned managed identity (an id, not a secret)
    client_id: Annotated[
        str, _matching(GUID, "the managed identity's client id, a GUID")
    ]
    #: share of requests whose rows are logged
    sample_rate: float = Field(default=0.1, gt=0, le=1)
    #: the storage account's resource group, when it is not the cluster's
    #: node resource group (the Blob CSI driver looks there otherwise)
    resource_group: str | None = None

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


class Canary(Strict):
    """``--strategy canary``: a second Deployment behind the same Service."""

    #: percent of the pods, so of the requests, the canary takes
    weight: int = Field(default=10, ge=1, le=99)
    #: seconds the canary serves before it is judged
    bake_seconds: float = Field(default=120, ge=0)
    #: share of 5xx answers that rejects the canary
    max_error_rate: float = Field(default=0.01, ge=0, le=1)
    #: canary p95 latency over the stable track's that rejects it
    max_p95_ratio: float = Field(default=1.5, gt=0)


class AksConfig(Strict):
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
