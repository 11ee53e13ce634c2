"""Subjects of the backend contracts: one entry per implementation.

A new implementation (Azure ML with a fake at the HTTP layer, AKS against a
fake API server) joins by adding a factory to ``PIPELINE_BACKENDS`` or
``DEPLOY_TARGETS``; the tests in this folder then run against it unchanged.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops_actions.deploy.base import DeployTarget
from mlops_actions.pipeline.backend import PipelineBackend
from mlops_actions.pipeline.spec import Pipeline, load_pipeline
from tests.fakes.kube.scorers import fetch
from tests.fakes.azureml.fixtures import (  # noqa: F401 (fixtures)
    azureml,
    azurite,
    ml_client,
    static_credential,
    tls_authority,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SCORER_MODELS = Path(__file__).resolve().parents[1] / "scorer" / "fixtures"


@dataclass(frozen=True)
class PipelineSubject:
    """One pipeline backend, with the toy pipeline it runs."""

    backend: PipelineBackend
    #: two steps; input ``fail_with`` 1 crashes the second, 2 makes it exit 2
    pipeline: Pipeline
    #: whether an output path or URI names something that exists
    exists: Callable[[str], bool]


def _local_pipelines(tmp_path: Path) -> PipelineSubject:
    from mlops_actions.pipeline.local import LocalRunner

    shutil.copytree(FIXTURES / "toy", tmp_path / "toy")
    return PipelineSubject(
        LocalRunner(tmp_path / ".mlops"),
        load_pipeline(tmp_path / "toy" / "pipeline.yml"),
        lambda where: Path(where).is_dir(),
    )


def _azure_pipelines(tmp_path: Path, request: pytest.FixtureRequest) -> PipelineSubject:
    """The Azure ML backend, the real azure-ai-ml under it, against the fake
    service in executor mode: the toy pipeline's steps really run there."""
    from mlops_actions.pipeline.azure import AzureBackend

    client = request.getfixturevalue("ml_client")
    request.getfixturevalue("azureml").execute = True
    shutil.copytree(FIXTURES / "toy", tmp_path / "toy")
    return PipelineSubject(
        AzureBackend(tmp_path / ".mlops", client=client, log=io.StringIO()),
        load_pipeline(tmp_path / "toy" / "pipeline.yml"),
        lambda where: Path(where).is_dir(),
    )


#: Every PipelineBackend implementation.
PIPELINE_BACKENDS = {"local": _local_pipelines, "azure": _azure_pipelines}


@pytest.fixture(params=sorted(PIPELINE_BACKENDS))
def pipelines(request, tmp_path, monkeypatch) -> PipelineSubject:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    if request.param == "local":
        return _local_pipelines(tmp_path)
    return PIPELINE_BACKENDS[request.param](tmp_path, request)


@dataclass(frozen=True)
class DeploySubject:
    """One deploy target, with two models it can serve (the URIs it takes),
    and how a client GETs a deployment's URL (with the cluster's token, for
    one behind the Kubernetes API server's proxy): (status, body)."""

    target: DeployTarget
    first: str
    second: str
    get: Callable[[str], tuple[int, bytes]] = fetch


def _local_target(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[DeploySubject]:
    import socket

    from mlops_actions.deploy.local_target import LocalTarget

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    target = LocalTarget(tmp_path / ".mlops", port=port)
    yield DeploySubject(
        target, str(SCORER_MODELS / "typed"), str(SCORER_MODELS / "slow")
    )
    target.stop()


def _aks_target(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[DeploySubject]:
    from tests.fakes.kube import FakeKube
    from tests.fakes.kube.scorers import Scorers, aks_target

    with FakeKube() as fake:
        scorers = Scorers(fake, tmp_path)
        try:
            target = aks_target(fake, tmp_path, scorers)
            yield DeploySubject(
                target,
                str(SCORER_MODELS / "typed"),
                str(SCORER_MODELS / "slow"),
                get=lambda url: fetch(url, fake.token),
            )
        finally:
            scorers.close()
        assert not fake.errors, fake.errors[0]


#: Every DeployTarget implementation.
DEPLOY_TARGETS = {"local": _local_target, "aks": _aks_target}


@pytest.fixture(params=sorted(DEPLOY_TARGETS))
def deploy_subject(request, tmp_path) -> Iterator[DeploySubject]:
    yield from DEPLOY_TARGETS[request.param](tmp_path, request)
