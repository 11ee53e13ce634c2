"""``mlops scorer serve``: refusals that come before any port opens, in-process;
``--help`` imports no server or model library."""

from __future__ import annotations

import socket
import sys

import pytest

from .conftest import GATE_MODEL, MODELS

GATE = GATE_MODEL.parent


def test_a_missing_folder_is_a_usage_error(mlops, tmp_path):
    result = mlops("scorer", "serve", str(tmp_path / "nope"))
    assert (result.code, result.err) == (
        2,
        f"error: model {tmp_path / 'nope'}: no such folder\n",
    )


def test_a_folder_that_is_not_an_mlflow_model_is_a_usage_error(mlops, tmp_path):
    (tmp_path / "model.pkl").write_bytes(b"\x80")
    result = mlops("scorer", "serve", str(tmp_path))
    assert result.code == 2
    assert result.err == (
        f"error: model {tmp_path} is not an MLflow model: no MLmodel file in it "
        "(pass the folder that `mlflow.pyfunc.save_model` wrote)\n"
    )


def test_a_port_in_use_is_a_usage_error_before_the_model_loads(mlops, free_port):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port))
        taken.listen()
        result = mlops(
            "scorer", "serve", str(MODELS / "broken"), "--port", str(free_port)
        )
    assert (result.code, result.err) == (
        2,
        f"error: port {free_port} on 127.0.0.1 is in use: pass --port\n",
    )


def test_without_the_serve_extra_exit_4_names_it(mlops, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = mlops("scorer", "serve", str(MODELS / "slow"))
    assert (result.code, result.err) == (
        4,
        "error: mlops scorer serve needs uvicorn: pip install 'mlops-actions[serve]'\n",
    )


def test_options_read_the_environment(mlops, monkeypatch, free_port):
    monkeypatch.setenv("MLOPS_SCORER_SERVE_PORT", str(free_port))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port))
        taken.listen()
        result = mlops("scorer", "serve", str(MODELS / "slow"))
    assert (
        result.err == f"error: port {free_port} on 127.0.0.1 is in use: pass --port\n"
    )


@pytest.mark.e2e
def test_a_registered_model_is_found_by_its_models_uri(mlops, tmp_path, monkeypatch):
    from mlops_actions.scorer.model.loading import locate

    monkeypatch.chdir(tmp_path)
    registered = mlops(
        "model", "register", "--name", "slow", "--model-dir", str(MODELS / "slow"),
        "--evaluation-dir", str(GATE / "champion"), "--commit", "abc",
    )  # fmt: skip
    assert registered.code == 0, registered.err
    folder = locate("models:/slow/1")
    assert (folder / "MLmodel").is_file() and (folder / "slow_model.py").is_file()
    missing = mlops("scorer", "serve", "models:/slow@champion")
    assert missing.code == 2
    assert "alias champion not found" in missing.err
