from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlops_actions.registry.base import Registry

from .tiny import save_model, write_evaluation

_names = itertools.count(1)


@dataclass(frozen=True)
class Subject:
    """One registry implementation under test."""

    registry: Registry
    #: loads a model URI and returns a predictor, when the backend can
    load: Callable[[str], Any] | None


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[int, Path]:
    """Model folders predicting input * 1, * 2 and * 3."""
    folder = tmp_path_factory.mktemp("models")
    return {k: save_model(folder / f"scale{k}", k) for k in (1, 2, 3)}


@pytest.fixture(scope="session")
def evaluation(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("evaluation") / "metrics"
    return write_evaluation(folder, {"accuracy": 0.75, "f1": 0.5})


def _mlflow_sqlite(tmp_path_factory) -> Iterator[Subject]:
    from mlops_actions.registry.mlflow_registry import MlflowRegistry

    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"
    with pytest.MonkeyPatch.context() as env:
        # models:/ URIs resolve through MLflow's global registry URI
        env.setenv("MLFLOW_TRACKING_URI", uri)
        env.delenv("GITHUB_SHA", raising=False)

        def load(model_uri: str) -> Any:
            import mlflow.pyfunc

            return mlflow.pyfunc.load_model(model_uri)

        yield Subject(MlflowRegistry(uri), load)


def _azure(tmp_path_factory) -> Iterator[Subject]:
    from mlops_actions.registry.azure_registry import AzureRegistry

    from .azure_subject import azure_fake, loader, ml_client

    with azure_fake(tmp_path_factory) as fake:
        registry = AzureRegistry(client=ml_client(fake))
        yield Subject(registry, loader(registry))


#: Every Registry implementation.
IMPLEMENTATIONS = {"mlflow-sqlite": _mlflow_sqlite, "azure": _azure}


@pytest.fixture(scope="module", params=sorted(IMPLEMENTATIONS))
def subject(request, tmp_path_factory) -> Iterator[Subject]:
    """One store per module and implementation; tests use fresh model names."""
    yield from IMPLEMENTATIONS[request.param](tmp_path_factory)


@pytest.fixture
def name() -> str:
    return f"model-{next(_names)}"
