"""Model registry: one interface, backends chosen by name and imported lazily.

``open_registry("local")`` gives the MLflow registry (SQLite under ``.mlops``
unless a tracking URI says otherwise); the interface and its records live in
:mod:`mlops_actions.registry.base`, which imports no SDK.
"""

from __future__ import annotations

from typing import Any

from mlops_actions.implementations import implementation
from mlops_actions.registry.base import (
    Audit,
    ChampionMoved,
    HistoryEntry,
    ModelVersion,
    Registry,
    RegistryUnavailable,
)

__all__ = [
    "Audit",
    "ChampionMoved",
    "HistoryEntry",
    "ModelVersion",
    "Registry",
    "RegistryUnavailable",
    "open_registry",
]

#: backend name -> "module:class"; importing one never imports the others.
BACKENDS = {
    "local": "mlops_actions.registry.mlflow_registry:MlflowRegistry",
    "mlflow": "mlops_actions.registry.mlflow_registry:MlflowRegistry",
    "azure": "mlops_actions.registry.azure_registry:AzureRegistry",
}


def open_registry(
    backend: str, *, tracking_uri: str | None = None, **options: Any
) -> Registry:
    """The registry of ``backend`` (``local``, ``mlflow`` or ``azure``), reached
    now; ``azure`` takes ``workspace`` (default: the workspace connection's,
    from ``MLOPS_AZURE_*`` and ``mlops.yaml``).

    Raises :class:`RegistryUnavailable` when its store cannot be reached.
    """
    chosen = implementation(backend, Registry, BACKENDS, kind="registry backend")
    return chosen(tracking_uri, **options)
