"""`mlops gate` for regression and multiclass against a real MLflow (SQLite)
champion: the paired bootstrap runs for the task and says where the task
came from; a direction against metrics.json's is exit 2, one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "gate" / "model"
ROWS = 300

REGRESSION = """\
version: 1
model: penguin-mass
primary: rmse
metrics:
  rmse:
    direction: minimize
    min_improvement: {absolute: 0.0}
  r2:
    direction: maximize
    floor: 0.5
bootstrap:
  resamples: 2000
  seed: 1
"""

MULTICLASS = """\
version: 1
model: penguin-species
task: multiclass
primary: macro_f1
metrics:
  macro_f1:
    direction: maximize
    floor: 0.4
  log_loss:
    direction: minimize
    ceiling: 2.0
bootstrap:
  resamples: 2000
  seed: 1
"""


@pytest.fixture
def here(mlops, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def evaluation(folder: Path, frame: pd.DataFrame, metrics: dict, **extra) -> Path:
    folder.mkdir()
    frame.to_parquet(folder / "predictions.parquet")
    body = {"schema": "mlops-actions/metrics", "version": 1, "metrics": metrics}
    (folder / "metrics.json").write_text(json.dumps(body | extra))
    return folder


def regression(folder: Path, noise: float, **extra) -> Path:
    truth = np.random.default_rng(0).normal(4200.0, 800.0, ROWS)
    predicted = truth + np.random.default_rng(int(noise)).normal(0, noise, ROWS)
    errors = truth - predicted
    rmse = float(np.sqrt(np.mean(errors**2)))
    r2 = float(1 - np.mean(errors**2) / np.var(truth))
    frame = pd.DataFrame(
        {"row_id": np.arange(ROWS), "label": truth, "prediction": predicted}
    )
    return evaluation(folder, frame, {"rmse": rmse, "r2": r2}, **extra)


def multiclass(folder: Path, skill: float) -> Path:
    classes = np.array(["Adelie", "Chinstrap", "Gentoo"])
    truth = np.random.default_rng(0).integers(0, 3, ROWS)
    logits = np.random.default_rng(int(skill * 10)).normal(0, 1, (ROWS, 3))
    logits[np.arange(ROWS), truth] += skill
    probability = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame(
        {
            "row_id": np.arange(ROWS),
            "label": classes[truth],
            "prediction": classes[probability.argmax(axis=1)],
        }
    )
    for k, name in enumerate(classes):
        frame[f"probability_{name}"] = probability[:, k]
    loss = float(-np.log(probability[np.arange(ROWS), truth]).mean())
    from sklearn.metrics import f1_score

    f1 = float(f1_score(frame["label"], frame["prediction"], average="macro"))
    return evaluation(folder, frame, {"macro_f1": f1, "log_loss": loss})


def crown(mlops, rules: Path, name: str, folder: Path) -> None:
    """The first model passes as first and is registered as champion."""
    first = mlops(
        "gate", "--rules", str(rules), "--metrics", str(folder), "--out", "first.json"
    )
    assert first.code == 0, first
    registered = mlops(
        "model",
        "register",
        "--name",
        name,
        "--model-dir",
        str(MODEL),
        "--evaluation-dir",
        str(folder),
        "--gate",
        "first.json",
    )
    assert registered.code == 0, registered


def test_regression_gate_infers_the_task_and_bootstraps_rmse(mlops, here):
    rules = here / "gate.yml"
    rules.write_text(REGRESSION)
    crown(mlops, rules, "penguin-mass", regression(here / "champion", 330.0))
    better = mlops(
        "gate", "--rules", str(rules), "--metrics", str(regression(here / "c1", 200.0))
    )
    assert better.code == 0, better
    assert better.out.startswith("**Gate: promote**")
    lines = better.out.splitlines()
    assert lines[-1] == (
        f"task: regression (inferred from predictions.parquet: {ROWS} distinct "
        "fractional labels)"
    )
    assert lines[-2].startswith(f"Paired bootstrap of rmse on {ROWS} shared rows")
    record = json.loads(Path("gate.json").read_text())
    assert record["bootstrap"]["task"] == "regression"
    assert record["bootstrap"]["estimate"] > record["bootstrap"]["lower"] > 0
    worse = mlops(
        "gate", "--rules", str(rules), "--metrics", str(regression(here / "c2", 400.0))
    )
    assert worse.code == 1
    assert json.loads(Path("gate.json").read_text())["decision"] == "reject"
    assert "| rmse | bootstrap |" in worse.out


def test_a_direction_against_the_metrics_file_is_exit_2_naming_both(mlops, here):
    rules = here / "gate.yml"
    rules.write_text(
        "version: 1\nmodel: penguin-mass\nprimary: r2\nmetrics:\n"
        "  r2: {direction: maximize, floor: 0.5}\n"
        "  pinball: {direction: minimize, ceiling: 500.0}\n"
    )
    folder = regression(here / "c", 200.0, directions={"pinball": "maximize"})
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["metrics"]["pinball"] = metrics["metrics"].pop("rmse")
    (folder / "metrics.json").write_text(json.dumps(metrics))
    result = mlops("gate", "--rules", str(rules), "--metrics", str(folder))
    assert result.code == 2, result
    assert result.err.strip().splitlines() == [
        f"error: {rules}: metrics.pinball.direction is minimize but "
        f"{folder / 'metrics.json'} declares pinball maximize: make them agree"
    ]
    assert json.loads(Path("gate.json").read_text())["decision"] == "error"


def test_multiclass_predictions_are_not_assumed_binary(mlops, here):
    # The fault: predictions.parquet was read as binary, so three species were
    # "not a binary task with positive class ..." and the bootstrap an error.
    rules = here / "gate.yml"
    rules.write_text(MULTICLASS)
    crown(mlops, rules, "penguin-species", multiclass(here / "champion", 0.8))
    better = mlops(
        "gate", "--rules", str(rules), "--metrics", str(multiclass(here / "c1", 2.5))
    )
    assert better.code == 0, better
    assert better.out.splitlines()[-1] == "task: multiclass (declared in gate.yml)"
    bootstrap = json.loads(Path("gate.json").read_text())["bootstrap"]
    assert (bootstrap["metric"], bootstrap["task"]) == ("macro_f1", "multiclass")
    assert bootstrap["lower"] > 0
    log_loss = here / "log-loss.yml"
    inferred = MULTICLASS.replace("task: multiclass\n", "")
    log_loss.write_text(inferred.replace("primary: macro_f1", "primary: log_loss"))
    result = mlops(
        "gate",
        "--rules",
        str(log_loss),
        "--metrics",
        str(multiclass(here / "c2", 2.0)),
    )
    assert result.code == 0, result
    assert "Paired bootstrap of log_loss" in result.out
    assert result.out.splitlines()[-1] == (
        "task: multiclass (inferred from predictions.parquet: 3 classes: 'Adelie', "
        "'Chinstrap', 'Gentoo')"
    )


def test_an_inferred_binary_task_cannot_bootstrap_rmse_and_says_so(mlops, here):
    rules = here / "gate.yml"
    rules.write_text(REGRESSION)
    frame = pd.DataFrame(
        {
            "row_id": np.arange(20),
            "label": ["yes", "no"] * 10,
            "prediction": ["yes"] * 20,
            "probability": [0.7] * 20,
        }
    )
    metrics = {"rmse": 1.0, "r2": 0.9}
    crown(mlops, rules, "penguin-mass", evaluation(here / "a", frame, metrics))
    result = mlops(
        "gate",
        "--rules",
        str(rules),
        "--metrics",
        str(evaluation(here / "b", frame, metrics)),
    )
    assert result.code == 1
    assert (
        "- rmse bootstrap: task: binary (inferred from predictions.parquet: 2 "
        "classes: 'no', 'yes'): the paired bootstrap cannot resample rmse for a "
        "binary task: set `task: regression` in gate.yml"
    ) in result.out.splitlines()


def test_the_task_metrics_json_declares_is_used_before_inferring(mlops, here):
    rules = here / "gate.yml"
    rules.write_text(REGRESSION)
    crown(mlops, rules, "penguin-mass", regression(here / "champion", 330.0))
    folder = regression(here / "c1", 200.0, task="regression")
    better = mlops("gate", "--rules", str(rules), "--metrics", str(folder))
    assert better.code == 0, better
    assert better.out.splitlines()[-1] == "task: regression (declared in metrics.json)"
