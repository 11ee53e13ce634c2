"""``--env container``: the environment's Dockerfile built with buildah, the
step run in it with podman; podman or buildah missing is exit 4.

The image builds FROM the Debian base the image tests make offline (built
once per machine, see tests/image/test_image_e2e.py); buildah pulls only
what is missing, so no registry is needed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.image.test_image_e2e import BASE_TAG, RUN_FLAGS, base_image  # noqa: F401
from tests.pipeline.environments_project import report, write_project

MARKER = "baked-into-the-image"
real_tools = pytest.mark.skipif(
    not (shutil.which("podman") and shutil.which("buildah")) or os.geteuid() != 0,
    reason="podman and buildah, as root, build and run images here",
)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    # this host's podman needs runc and explicit rlimits (TESTING.md)
    monkeypatch.setenv("MLOPS_PODMAN_RUN_FLAGS", " ".join(RUN_FLAGS))
    return tmp_path / "project"


def dockerfile(base: str) -> str:
    return f"FROM {base}\n" f"RUN echo {MARKER} > /etc/mlops-env-marker\n"


@pytest.mark.e2e
@real_tools
def test_step_runs_in_the_image_built_from_its_dockerfile(
    mlops, project, base_image  # noqa: F811
):
    files = {
        "env/environment.yml": "name: boxed\nbuild:\n  path: docker\n",
        "env/docker/Dockerfile": dockerfile(base_image),
    }
    pipeline = write_project(project, "file:env/environment.yml", files)
    result = mlops("pipeline", "run", str(pipeline), "--env", "container", "--json")
    # The header names the image whether or not this run built it.
    tag = next(
        line.split()[3]
        for line in result.err.splitlines()
        if line.startswith("env: show: container ")
    )
    try:
        assert result.code == 0, result
        assert tag.startswith("localhost/mlops-env:")
        assert any(
            "building image" in line and tag in line for line in result.err.splitlines()
        ), result.err
        assert f"env: show: container {tag} (built from project/env/docker)" in (
            result.err
        )
        seen = report(json.loads(result.out))
        assert seen["marker"] == MARKER
        assert seen["prefix"] == "/usr"  # the image's Python, not the CLI's
        again = mlops("pipeline", "run", str(pipeline), "--env", "container")
        assert again.code == 0, again
        assert "building image" not in again.err  # same context, same image
    finally:
        subprocess.run(["podman", "rmi", "-f", tag], capture_output=True, timeout=120)


@pytest.mark.e2e
@real_tools
def test_step_runs_in_a_named_image(mlops, project, base_image):  # noqa: F811
    pipeline = write_project(project, f"\n  image: {base_image}", {})
    result = mlops("pipeline", "run", str(pipeline), "--env", "container", "--json")
    assert result.code == 0, result
    assert f"env: show: container {base_image}\n" in result.err
    seen = report(json.loads(result.out))
    assert seen["prefix"] == "/usr"
    assert seen["marker"] is None
    assert "env: building" not in result.err


FAKE_CONDA = """\
#!/bin/sh
# conda env update --name base --file F: what a conda file asks, seen
if [ "$1 $2" = "env update" ]; then
    grep -o 'marker-[a-z-]*' "$6" > /etc/mlops-env-marker
fi
"""


@pytest.fixture
def conda_image(base_image):  # noqa: F811
    """The base image with a stand-in ``conda`` that records the file it is
    given: the conda layer's build is exercised, not conda itself."""
    tag = "localhost/mlops-actions-test-conda:1"
    exists = subprocess.run(["podman", "image", "exists", tag], timeout=60)
    if exists.returncode != 0:
        context = Path.cwd() / "conda-image"
        context.mkdir()
        (context / "conda").write_text(FAKE_CONDA)
        (context / "Dockerfile").write_text(
            f"FROM {base_image}\nCOPY conda /usr/local/bin/conda\n"
            "RUN chmod +x /usr/local/bin/conda\n"
        )
        built = subprocess.run(
            ["buildah", "bud", "--pull=never", "-t", tag, str(context)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert built.returncode == 0, built.stderr
    return tag


@pytest.mark.e2e
@real_tools
def test_an_image_with_a_conda_file_runs_with_the_conda_file_applied(
    mlops, project, conda_image
):
    files = {"env/conda.yml": "# marker-from-the-conda-file\ndependencies: [pip]\n"}
    environment = f"\n  image: {conda_image}\n  conda_file: env/conda.yml"
    pipeline = write_project(project, environment, files)
    result = mlops("pipeline", "run", str(pipeline), "--env", "container", "--json")
    tag = next(
        line.split()[3]
        for line in result.err.splitlines()
        if line.startswith("env: show: container ")
    )
    try:
        assert result.code == 0, result
        assert tag.startswith("localhost/mlops-env:")
        assert (
            f"env: show: container {tag} ({conda_image} + project/env/conda.yml)"
        ) in result.err
        assert report(json.loads(result.out))["marker"] == "marker-from-the-conda-file"
    finally:
        subprocess.run(["podman", "rmi", "-f", tag], capture_output=True, timeout=120)


@pytest.mark.e2e
@real_tools
def test_an_image_without_conda_for_its_conda_file_says_so(
    mlops, project, base_image  # noqa: F811
):
    files = {"env/conda.yml": "dependencies: [pip]\n"}
    environment = f"\n  image: {base_image}\n  conda_file: env/conda.yml"
    pipeline = write_project(project, environment, files)
    result = mlops("pipeline", "run", str(pipeline), "--env", "container")
    assert result.code == 3, result
    assert result.err.splitlines()[-1] == (
        "error: step show: cannot build its environment: buildah build failed "
        f"(exit 1): mlops: image {base_image} has no conda to install conda_file "
        "conda.yml with: use an image with conda, or a build context (build: "
        "path:), or --env venv"
    )


def test_without_podman_and_buildah_exit_4_names_them(mlops, project, monkeypatch):
    files = {
        "env/environment.yml": "name: boxed\nbuild:\n  path: docker\n",
        "env/docker/Dockerfile": dockerfile(BASE_TAG),
    }
    pipeline = write_project(project, "file:env/environment.yml", files)
    monkeypatch.setenv("PATH", str(project / "no-tools-here"))
    result = mlops("pipeline", "run", str(pipeline), "--env", "container")
    assert result.code == 4
    assert result.err.splitlines()[-1] == (
        "error: --env container needs podman and buildah, not installed: "
        "apt-get install podman buildah (or use --env venv / --env host)"
    )
    assert not Path(".mlops/runs").exists()


def test_an_environment_without_image_or_build_is_refused(mlops, project):
    pipeline = write_project(project, "\n  conda_file: {dependencies: [pip]}", {})
    result = mlops("pipeline", "run", str(pipeline), "--env", "container")
    assert result.code == 2
    assert result.err.splitlines()[-1] == (
        "error: --env container: environment inline environment has no image "
        "or build context; use --env venv or --env host"
    )


def test_a_registered_environment_not_in_the_project_has_no_image(
    mlops, project, monkeypatch
):
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    pipeline = write_project(project, "azureml:AzureML-sklearn-1.5@latest", {})
    result = mlops("pipeline", "run", str(pipeline), "--env", "container")
    assert result.code == 2
    assert result.err.splitlines()[-1] == (
        "error: --env container: environment azureml:AzureML-sklearn-1.5@latest: "
        "no local environments/*/environment.yml named AzureML-sklearn-1.5, so no "
        "image to run; use --env host"
    )


def test_auto_runs_an_image_only_environment_on_the_host_and_says_so(mlops, project):
    pipeline = write_project(project, f"\n  image: {BASE_TAG}", {})
    result = mlops("pipeline", "run", str(pipeline))
    assert result.code == 0, result
    python = ".".join(map(str, sys.version_info[:3]))
    assert (
        f"env: show: host (python {python}; inline environment lists no pip "
        "packages, --env container runs its image)\n"
    ) in result.err
