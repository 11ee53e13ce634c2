"""What is particular to the MLflow registry: where files go, what tags hold."""

from __future__ import annotations

import pytest

from mlops_actions.errors import BackendError
from mlops_actions.registry.mlflow_registry import MlflowRegistry


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> MlflowRegistry:
    folder = tmp_path_factory.mktemp("store")
    return MlflowRegistry(f"sqlite:///{folder}/mlflow.db")


def test_artifacts_go_beside_the_database(registry, models, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    version, _ = registry.register(
        "placed", models[1], evaluation_dir=None, run_id="r", commit=None
    )
    assert list(tmp_path.iterdir()) == []  # no ./mlruns, no ./mlflow.db
    source = registry.client.get_model_version("placed", version.version)
    run = registry.client.get_run(source.run_id)
    artifacts = registry.store.database.parent / "artifacts"
    assert run.info.artifact_uri == f"{artifacts.as_uri()}/{run.info.run_id}/artifacts"
    assert (artifacts / run.info.run_id / "artifacts" / "model" / "MLmodel").is_file()


def test_tags_hold_provenance_and_metrics(registry, models, evaluation):
    version, _ = registry.register(
        "tagged",
        models[1],
        evaluation_dir=evaluation,
        run_id="run-7",
        commit="abc",
        tags={"team": "fraud"},
    )
    tags = registry.client.get_model_version("tagged", version.version).tags
    assert {k: v for k, v in tags.items() if k != "mlops.key"} == {
        "team": "fraud",
        "metric.accuracy": "0.75",
        "metric.f1": "0.5",
        "mlops.digest": version.digest,
        "mlops.run_id": "run-7",
        "mlops.commit": "abc",
        "mlops.evaluation": "evaluation",
    }


def test_a_broken_history_tag_is_named(registry, models):
    registry.register("broken", models[1], evaluation_dir=None, run_id="r", commit=None)
    registry.client.set_registered_model_tag("broken", "mlops.history.9", "{")
    with pytest.raises(BackendError, match="tag mlops.history.9 of broken is not a"):
        registry.history("broken")
