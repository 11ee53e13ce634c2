"""A canary secret in the environment and the config never appears in what
the Azure commands show: stdout, stderr, step outputs, the summary, the files
under .mlops — on success and on every error path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import CANARY_REQUEST_TOKEN

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CANARY_SECRET = "canary-client-secret-3b7e0"


@pytest.fixture
def step(tmp_path, monkeypatch):
    """A workflow step's surroundings, with a client secret in the env."""
    shutil.copytree(FIXTURES / "toy", tmp_path / "toy")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "outputs.txt"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("AZURE_CLIENT_SECRET", CANARY_SECRET)
    return tmp_path


def _shown(result, folder: Path) -> str:
    """Everything a user or a later step can read."""
    parts = [result.out, result.err]
    for path in folder.rglob("*"):
        # the user's own files (the pipeline, mlops.yaml) are not ours to show
        if path.is_file() and "toy" not in path.parts and path.name != "mlops.yaml":
            parts.append(path.read_text(errors="replace"))
    return "\n".join(parts)


def _assert_clean(result, folder: Path) -> None:
    shown = _shown(result, folder)
    for secret in (CANARY_SECRET, CANARY_REQUEST_TOKEN):
        assert secret not in shown


def _submit(mlops, folder):
    return mlops(
        "--backend", "azure", "pipeline", "submit", str(folder / "toy/pipeline.yml")
    )


def test_a_completed_submission_shows_no_secret(mlops, azureml, signed_in, step):
    result = _submit(mlops, step)
    assert result.code == 0, result.err
    _assert_clean(result, step)


def test_a_failed_job_shows_no_secret(mlops, azureml, signed_in, step):
    azureml.script(
        None, statuses=["Failed"], error={"message": "boom", "step": "consume"}
    )
    result = _submit(mlops, step)
    assert result.code == 3
    _assert_clean(result, step)


def test_a_service_that_keeps_failing_shows_no_secret(
    mlops, azureml, signed_in, step, monkeypatch
):
    # each call gives up after 5 s of retries here, not the CLI's 120 s
    monkeypatch.setattr("mlops_actions.azure.retry.DEFAULT_DEADLINE_S", 5.0)
    azureml.fail("GET", r"/jobs/[^/]+$", 503, times=100)
    result = _submit(mlops, step)
    assert result.code == 3
    assert "503" in result.err
    _assert_clean(result, step)


def test_a_failing_oidc_endpoint_shows_no_secret(mlops, azureml, signed_in, step):
    _, oidc = signed_in
    oidc.fail.extend([500] * 20)
    result = _submit(mlops, step)
    assert result.code == 3
    _assert_clean(result, step)


def test_a_secret_in_the_config_is_refused_without_showing_it(
    mlops, azureml, signed_in, step
):
    (step / "mlops.yaml").write_text(f"azure:\n  client_secret: {CANARY_SECRET}\n")
    result = _submit(mlops, step)
    assert result.code == 2
    assert "OIDC only" in result.err
    _assert_clean(result, step)
