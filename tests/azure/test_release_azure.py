"""``mlops --backend azure release`` chains the Azure implementations through
the interfaces alone: the regression project's pipeline runs on the fake Azure
ML service (its steps really run there), the gate reads the downloaded
metrics, the model is registered on the workspace from the job's output and
promoted, and the champion is served locally from the workspace's copy."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "regression"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def project(tmp_path, monkeypatch):
    work = tmp_path / "project"
    shutil.copytree(PROJECT, work, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(work)
    return work


def test_release_on_azure_registers_the_jobs_model_and_serves_it(
    mlops, azureml, signed_in, project
):
    azureml.execute = True
    port = _free_port()
    try:
        result = mlops(
            "--backend",
            "azure",
            "release",
            "--pipeline",
            "pipelines/pipeline.yml",
            "--port",
            str(port),
        )
        assert result.code == 0, result.err
        job = result.out.splitlines()[0].removeprefix("job ")
        assert f"(run {job}, gate first) at http://127.0.0.1:{port}" in result.out
        # registered from the job's own output, with no upload of the copy
        put = azureml.calls("PUT", r"/models/diabetes-ridge/versions/1$")[0]
        props = put["body"]["properties"]
        assert props["modelUri"] == f"azureml://jobs/{job}/outputs/regressor"
        assert props["modelType"] == "mlflow_model"
        assert props["tags"]["mlops.job"] == job
        container = azureml.calls("PUT", r"/models/diabetes-ridge$")[-1]["body"]
        assert container["properties"]["tags"]["mlops.champion"] == "1"
        deployed = json.loads((project / ".mlops/deploy/deploy.json").read_text())
        # served from the workspace's copy of version 1
        served = project / ".mlops" / "models" / "diabetes-ridge" / "1"
        assert Path(deployed["model"]).is_relative_to(served.resolve())
        assert (Path(deployed["model"]) / "MLmodel").is_file()
        gate = next((project / ".mlops" / "releases").glob("*/gate.json"))
        assert json.loads(gate.read_text())["decision"] == "first"
    finally:
        mlops("deploy", "stop")
