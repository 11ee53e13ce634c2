"""``mlops --backend azure release --target aks`` chains the Azure pipeline
backend and registry into the AKS rollout through the interfaces alone: the
regression project trains on the fake Azure ML service, the champion's bundle
is built and pushed (buildah stood in for by a script, as the image build
tests do), and the pushed digest is rolled out on the fake Kubernetes API
server, where a real scorer of the bundle's model answers the smoke test."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest

from mlops_actions.deploy.base import ModelRef
from tests.fakes.kube.fixtures import fake_kube  # noqa: F401 (a fixture)
from tests.image.conftest import calls, fake_tool
from tests.image.test_build import DIGEST, FAKE_BUILDAH

PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "regression"
TAG = "127.0.0.1:5000/scorers/diabetes:1"


@pytest.fixture
def project(tmp_path, monkeypatch):
    work = tmp_path / "project"
    shutil.copytree(PROJECT, work, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def pushed_images_serve(fake_kube, project, tmp_path):  # noqa: F811
    """Each pushed image is served by a real scorer of the bundle it was
    built from (the release's own bundle folder)."""
    from mlops_actions.deploy.local_target import LocalTarget

    started = []

    def resolver(image: str) -> str | None:
        if not image.endswith(DIGEST):
            return None
        model = next((project / ".mlops" / "releases").glob("*/bundle/model"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        target = LocalTarget(tmp_path / "image-scorer", port=port)
        started.append(target)
        return target.deploy(ModelRef(str(model)), None).deployment.url

    fake_kube.serve_images(resolver)
    yield
    for target in started:
        target.stop()


def test_release_on_azure_rolls_the_champion_out_to_aks(
    mlops,
    azureml,
    signed_in,
    project,
    fake_kube,  # noqa: F811 (a fixture)
    pushed_images_serve,
    tmp_path,
    monkeypatch,
):
    azureml.execute = True
    tools = tmp_path / "tools"
    fake_tool(tools, "buildah", FAKE_BUILDAH)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KUBECONFIG", str(fake_kube.kubeconfig(tmp_path / "kube")))
    (project / "mlops.yaml").write_text(
        (project / "mlops.yaml").read_text() + "\naks:\n  app: diabetes\n"
        if (project / "mlops.yaml").exists()
        else "aks:\n  app: diabetes\n"
    )
    result = mlops(
        "--backend", "azure", "release", "--pipeline", "pipelines/pipeline.yml",
        "--target", "aks", "--image-tag", TAG, "--builder", "buildah",
        "--timeout", "60",
    )  # fmt: skip
    assert result.code == 0, result.err
    pushed = f"127.0.0.1:5000/scorers/diabetes@{DIGEST}"
    assert f"release: pushed {pushed}" in result.err
    job = result.out.splitlines()[0].removeprefix("job ")
    proxy = f"{fake_kube.url}/api/v1/namespaces/default/services/diabetes:http/proxy"
    assert f"released models:/diabetes-ridge/1 (run {job}, gate first) at {proxy}" in (
        result.out
    )
    assert result.out.rstrip().endswith("undo it: mlops deploy rollback --target aks")
    # the bundle of this release was built and pushed
    build = calls(tools, "buildah")[0]
    assert build[0] == "build" and build[-1].endswith("/bundle")
    assert TAG in build
    # the pushed digest runs, labelled with the registered version
    live = fake_kube.get("Deployment", "default", "diabetes")
    pod = live["spec"]["template"]
    assert pod["spec"]["containers"][0]["image"] == pushed
    assert pod["metadata"]["labels"]["mlops-actions/model-version"] == "1"
    assert pod["metadata"]["labels"]["mlops-actions/model-name"] == "diabetes-ridge"
    record = json.loads((project / ".mlops/deploy/deploy.json").read_text())
    assert (record["target"], record["image"], record["model_version"]) == (
        "aks",
        pushed,
        "1",
    )
    assert record["smoke"]["ok"] is True  # the evaluate step's recorded answers


def test_release_to_aks_without_an_image_tag_is_refused_before_training(mlops, project):
    result = mlops("release", "--target", "aks")
    assert result.code == 2
    assert result.err == (
        "error: --target aks deploys an image: pass --image-tag REPOSITORY:TAG to "
        "build and push one\n"
    )
    assert not (project / ".mlops" / "releases").exists()
