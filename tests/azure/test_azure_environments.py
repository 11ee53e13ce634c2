"""Environments on Azure ML: content versions, idempotent registration and
failed image builds reported with their log's URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_actions.azure.environments import (
    environment_build_error,
    environment_key,
    environment_version,
)
from mlops_actions.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
CONDA = "name: e\ndependencies:\n  - python=3.11\n  - pip:\n    - numpy==2.4.6\n"


def _env(folder: Path, version: str = "1", conda: str = CONDA, **extra: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conda.yml").write_text(conda)
    lines = [
        "name: mlops-cpu",
        f'version: "{version}"',
        "image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20260514.v1",
        "conda_file: conda.yml",
        *(f"{k}: {v}" for k, v in extra.items()),
    ]
    (folder / "environment.yml").write_text("\n".join(lines) + "\n")
    return folder / "environment.yml"


def test_version_ignores_the_version_field_and_where_the_files_are(tmp_path):
    one = _env(tmp_path / "a", version="1")
    two = _env(tmp_path / "b", version="7")
    name, version = environment_version(f"file:{one.name}", one.parent)
    assert (name, version) == environment_version(str(two), tmp_path)
    assert name == "mlops-cpu" and len(version) == 16


def test_a_changed_conda_file_or_image_is_a_new_version(tmp_path):
    base = environment_version(str(_env(tmp_path / "a")), tmp_path)[1]
    pin = _env(tmp_path / "b", conda=CONDA.replace("2.4.6", "2.4.7"))
    assert environment_version(str(pin), tmp_path)[1] != base
    tagged = _env(tmp_path / "c", description="other")
    assert environment_version(str(tagged), tmp_path)[1] != base


def test_a_build_context_is_hashed_file_by_file(tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM python:3.11-slim\n")
    raw = {"name": "built", "build": {"path": "ctx"}}
    before = environment_version(raw, tmp_path)[1]
    (context / "requirements.txt").write_text("numpy==2.4.6\n")
    assert environment_version(raw, tmp_path)[1] != before


def test_missing_conda_file_and_build_context_name_the_field(tmp_path):
    with pytest.raises(UsageError, match="conda_file .*nope.yml"):
        environment_version({"image": "x", "conda_file": "nope.yml"}, tmp_path)
    with pytest.raises(UsageError, match="build.path .* is not a folder"):
        environment_version({"build": {"path": "nowhere"}}, tmp_path)


def test_the_reference_environments_have_stable_versions():
    folder = ROOT / "environments" / "cpu"
    first = environment_version("file:environment.yml", folder)
    assert first == environment_version("environment.yml", folder)
    assert first[0] == "mlops-cpu"


def test_keys_tell_apart_the_same_text_in_different_folders(tmp_path):
    ref = "file:../env/environment.yml"
    assert environment_key(ref, tmp_path / "a" / "x") != environment_key(
        ref, tmp_path / "b" / "x"
    )
    assert environment_key("azureml:mlops-cpu@latest", tmp_path) == (
        "azureml:mlops-cpu@latest"
    )


LOG = (
    "https://acrtask.blob.core.windows.net/c/logs/cb9u/rawtext.log"
    "?sv=2024-01-01&sig=SECRETSIGNATURE"
)


def test_a_failed_build_names_the_log_and_hides_the_signature():
    error = {
        "error": {
            "code": "UserError",
            "message": f"Image build failed. Build log: {LOG}",
        }
    }
    line = environment_build_error(error, step="train")
    assert line == (
        "environment image build failed for step train: Image build failed; "
        "build log: https://acrtask.blob.core.windows.net/c/logs/cb9u/rawtext.log"
        "?sv=2024-01-01&sig=***"
    )
    assert "\n" not in line


def test_a_failed_preparing_phase_points_at_the_image_build_log_file():
    logs = {
        "azureml-logs/20_image_build_log.txt": "https://127.0.0.1:1/l.txt?sig=abc",
        "user_logs/std_log.txt": "https://127.0.0.1:1/std.txt",
    }
    line = environment_build_error(
        {"code": "ImageBuildFailure", "message": "Failed to build the image."},
        log_files=logs,
    )
    assert line == (
        "environment image build failed: Failed to build the image; "
        "build log: https://127.0.0.1:1/l.txt?sig=***"
    )


def test_without_a_log_the_studio_page_is_given():
    line = environment_build_error(
        "Failed building the Environment.", run_url="https://ml.azure.com/runs/j1"
    )
    assert line == (
        "environment image build failed: Failed building the Environment; "
        "build log: https://ml.azure.com/runs/j1"
    )


def test_other_failures_are_no_build_error():
    assert environment_build_error({"code": "UserError", "message": "exit 1"}) is None
    assert environment_build_error(None) is None


# -- against the fake Azure ML service ---------------------------------------
def test_an_environment_registered_twice_is_one_version(azureml, ml_client, tmp_path):
    from mlops_actions.azure.environments import register_environments

    env = _env(tmp_path / "environments" / "cpu")
    uses = [("file:environment.yml", env.parent), (str(env), tmp_path)]
    first = register_environments(ml_client, uses)
    name, version = environment_version(str(env), tmp_path)
    assert first == {env.resolve().as_posix(): f"azureml:mlops-cpu:{version}"}
    puts = azureml.calls("PUT", r"/environments/mlops-cpu/versions/")
    assert [c["path"].rsplit("/", 1)[-1] for c in puts] == [version]
    stored = azureml.assets.version("environments", "mlops-cpu", version)
    assert "numpy==2.4.6" in stored["properties"]["condaFile"]

    assert register_environments(ml_client, uses) == first
    assert len(azureml.calls("PUT", r"/environments/")) == 1
    assert (
        len(azureml.calls("GET", rf"/environments/mlops-cpu/versions/{version}$")) == 2
    )


def test_a_changed_conda_file_registers_a_new_version(azureml, ml_client, tmp_path):
    from mlops_actions.azure.environments import register_environment

    env = _env(tmp_path / "e")
    before = register_environment(ml_client, "environment.yml", env.parent)
    (env.parent / "conda.yml").write_text(CONDA.replace("2.4.6", "2.4.7"))
    after = register_environment(ml_client, "environment.yml", env.parent)
    assert before != after and after.startswith("azureml:mlops-cpu:")
    assert len(azureml.calls("PUT", r"/environments/mlops-cpu/versions/")) == 2


def test_registered_references_are_left_alone(azureml, ml_client, tmp_path):
    from mlops_actions.azure.environments import register_environments

    ref = "azureml:AzureML-sklearn-1.5@latest"
    assert register_environments(ml_client, [(ref, tmp_path)]) == {ref: ref}
    assert not azureml.calls("PUT", r"/environments/")


def test_a_build_context_is_uploaded_once(azureml, ml_client, tmp_path):
    from mlops_actions.azure.environments import register_environment

    context = tmp_path / "docker"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM python:3.11-slim\n")
    raw = {"name": "built", "build": {"path": "docker"}}
    ref = register_environment(ml_client, raw, tmp_path)
    blobs = azureml.azurite.list(azureml.container)
    assert [b for b in blobs if b.endswith("/Dockerfile")]
    assert register_environment(ml_client, raw, tmp_path) == ref
    assert azureml.azurite.list(azureml.container) == blobs
    assert len(azureml.calls("PUT", r"/environments/built/versions/")) == 1


def test_the_pipeline_lists_each_components_environment():
    from mlops_actions.azure.environments import environment_key, pipeline_environments

    uses = pipeline_environments(ROOT / "pipelines" / "pipeline.yml")
    keys = {environment_key(raw, base) for raw, base in uses}
    assert keys == {
        (ROOT / "environments" / kind / "environment.yml").as_posix()
        for kind in ("cpu", "gpu", "ingest")
    }


def test_a_refused_registration_is_one_line(azureml, ml_client, tmp_path):
    from mlops_actions.azure.environments import register_environment
    from mlops_actions.errors import BackendError

    env = _env(tmp_path / "e")
    azureml.fail("PUT", r"/environments/mlops-cpu/versions/", 400)
    with pytest.raises(BackendError) as failed:
        register_environment(ml_client, "environment.yml", env.parent)
    version = environment_version("environment.yml", env.parent)[1]
    assert failed.value.message == (
        f"Azure ML answered 400 Bad Request to PUT environments/mlops-cpu/versions/"
        f"{version}: The request failed (Injected)."
    )
    assert "\n" not in failed.value.message


def test_a_failed_node_in_run_details_names_environment_and_log():
    log = "https://127.0.0.1:9/c/environment-builds/mlops-gpu/ab/build.log?sig=xyz"
    details = {
        "error": {
            "error": {
                "code": "UserError",
                "message": "Image build failed for environment mlops-gpu:ab. For "
                f"more details, check the image build log: {log}",
            }
        },
        "logFiles": {"azureml-logs/20_image_build_log.txt": log},
    }
    line = environment_build_error(
        details["error"], log_files=details["logFiles"], step="train"
    )
    assert line == (
        "environment image build failed for step train: Image build failed for "
        "environment mlops-gpu:ab; build log: "
        "https://127.0.0.1:9/c/environment-builds/mlops-gpu/ab/build.log?sig=***"
    )


def test_the_reference_pipeline_registers_its_environments_once(azureml, ml_client):
    from mlops_actions.azure.environments import (
        pipeline_environments,
        register_environments,
    )

    uses = pipeline_environments(ROOT / "pipelines" / "pipeline.yml")
    done = register_environments(ml_client, uses)
    assert sorted(ref.rsplit(":", 1)[0] for ref in done.values()) == [
        "azureml:mlops-cpu",
        "azureml:mlops-gpu",
        "azureml:mlops-ingest",
    ]
    gpu = azureml.assets.version("environments", "mlops-gpu", done[
        (ROOT / "environments" / "gpu" / "environment.yml").as_posix()
    ].rsplit(":", 1)[1])  # fmt: skip
    assert gpu["properties"]["image"].startswith("mcr.microsoft.com/azureml/")
    assert register_environments(ml_client, uses) == done
    assert len(azureml.calls("PUT", r"/environments/")) == 3
