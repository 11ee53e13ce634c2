"""Backends and targets are chosen by name; those still to come say so."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlops_actions.deploy import DeployTarget, open_deploy_target
from mlops_actions.errors import UsageError
from mlops_actions.pipeline.backend import PipelineBackend, open_pipeline_backend


def test_local_ones_are_found_by_name(tmp_path):
    backend = open_pipeline_backend("local", state=tmp_path)
    target = open_deploy_target("local", state=tmp_path, port=9999)
    assert isinstance(backend, PipelineBackend) and backend.name == "local"
    assert isinstance(target, DeployTarget) and target.name == "local"
    assert target.status() is None


def test_azure_pipelines_open_without_reaching_azure(tmp_path):
    probe = (
        "import sys, pathlib\n"
        "from mlops_actions.pipeline.backend import open_pipeline_backend\n"
        "backend = open_pipeline_backend('azure', state=pathlib.Path('.'))\n"
        "print(backend.name, 'azure.ai.ml' in sys.modules)"
    )
    opened = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert opened == "azure False"  # the SDK is imported on first use only


def test_container_apps_arrive_later(tmp_path):
    with pytest.raises(UsageError) as refused:
        open_deploy_target("containerapp", state=tmp_path)
    assert refused.value.message == (
        "--target containerapp: Azure Container Apps revisions arrive later; "
        "use --target local or aks"
    )


def test_unknown_names_list_the_known_ones(tmp_path):
    with pytest.raises(UsageError, match="use one of azure, local$"):
        open_pipeline_backend("slurm", state=tmp_path)
    with pytest.raises(UsageError, match="use one of aks, local"):
        open_deploy_target("heroku", state=tmp_path)


def test_choosing_imports_no_implementation_before_it_is_opened():
    probe = (
        "import sys\n"
        "import mlops_actions.deploy, mlops_actions.pipeline.backend\n"
        "gone = ('mlops_actions.deploy.local', 'mlops_actions.deploy.local_target',"
        " 'mlops_actions.pipeline.local', 'mlops_actions.pipeline.azure',"
        " 'azure.ai.ml', 'mlflow', 'fastapi', 'mlops_actions.deploy.aks',"
        " 'kubernetes')\n"
        "print(','.join(m for m in gone if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
