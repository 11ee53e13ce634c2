"""Tasks and known directions: gate.yml's `task`, inference from predictions,
and rules refused for a direction a metric cannot have."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_actions.errors import ExitCode, UsageError
from mlops_actions.gate.rules import check_declared_directions, load_rules
from mlops_actions.gate.tasks import (
    canonical,
    infer_task,
    known_direction,
    task_refusal,
)

REGRESSION = """\
version: 1
model: penguin-mass
task: regression
primary: rmse
metrics:
  rmse:
    direction: minimize
    max_regression: {absolute: 5.0}
  r2:
    direction: maximize
    floor: 0.5
bootstrap:
  resamples: 1000
"""


@pytest.fixture
def gate_yml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)

    def write(text: str) -> str:
        Path("gate.yml").write_text(textwrap.dedent(text))
        return "gate.yml"

    return write


def problem(path: str) -> str:
    with pytest.raises(UsageError) as caught:
        load_rules(path)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "\n" not in caught.value.message
    return caught.value.message


@pytest.mark.parametrize(
    "name, direction",
    [
        ("rmse", "minimize"),
        ("RMSE", "minimize"),
        ("root_mean_squared_error", "minimize"),
        ("mse", "minimize"),
        ("mean_absolute_error", "minimize"),
        ("mape", "minimize"),
        ("r2", "maximize"),
        ("r2_score", "maximize"),
        ("macro_f1", "maximize"),
        ("f1_macro", "maximize"),
        ("f1-weighted", "maximize"),
        ("micro_f1", "maximize"),
        ("balanced_accuracy", "maximize"),
        ("neg_root_mean_squared_error", "maximize"),
        ("neg_log_loss", "maximize"),
        ("log_loss", "minimize"),
        ("latency_p95_ms", "minimize"),
        ("churn_cost", None),
    ],
)
def test_known_directions_under_common_spellings(name, direction):
    assert known_direction(name) == direction


def test_spellings_share_a_canonical_name():
    assert [canonical(n) for n in ("f1_macro", "R2_score", "mean_squared_error")] == [
        "macro_f1",
        "r2",
        "mse",
    ]


def test_rmse_maximize_is_refused(gate_yml):
    # The fault: `rmse: {direction: maximize}` was accepted silently, inverting
    # the gate: the worse model would have been promoted.
    text = REGRESSION.replace(
        "rmse:\n    direction: minimize", "rmse:\n    direction: maximize"
    )
    assert problem(gate_yml(text)) == (
        "gate.yml:7: metrics.rmse.direction: rmse is lower-is-better: use minimize, "
        "got 'maximize'"
    )


def test_a_spelling_of_a_known_metric_keeps_its_direction(gate_yml):
    text = (
        REGRESSION.replace("  r2:\n", "  f1_macro:\n")
        .replace("maximize", "minimize")
        .replace("floor: 0.5", "ceiling: 0.5")
        .replace("task: regression\n", "")
    )
    assert problem(gate_yml(text)) == (
        "gate.yml:9: metrics.f1_macro.direction: f1_macro is higher-is-better: use "
        "maximize, got 'minimize'"
    )


def test_a_regression_gate_with_bootstrap_on_rmse_loads(gate_yml):
    # The fault: `primary: rmse` with bootstrap was refused with "it recomputes
    # the metric from predictions.parquet", which said nothing about what to do.
    rules = load_rules(gate_yml(REGRESSION))
    assert (rules.task, rules.primary) == ("regression", "rmse")
    without_task = load_rules(gate_yml(REGRESSION.replace("task: regression\n", "")))
    assert without_task.task is None


def test_the_task_is_one_of_three(gate_yml):
    text = REGRESSION.replace("task: regression", "task: ordinal")
    assert problem(gate_yml(text)) == (
        "gate.yml:3: task: must be binary, multiclass or regression, got 'ordinal'"
    )


def test_a_declared_task_must_fit_the_bootstrap_primary(gate_yml):
    text = REGRESSION.replace("task: regression", "task: multiclass")
    assert problem(gate_yml(text)) == (
        "gate.yml:12: bootstrap: the paired bootstrap cannot resample rmse (not one "
        "it recomputes for a multiclass task): make one of accuracy, "
        "balanced_accuracy, macro_f1, micro_f1, weighted_f1, log_loss the primary "
        "metric, or remove bootstrap"
    )


def test_a_rule_against_the_direction_metrics_json_declares_is_refused(
    gate_yml, tmp_path
):
    text = REGRESSION.replace("rmse", "pinball").replace("bootstrap:\n", "")
    rules = load_rules(gate_yml(text.replace("  resamples: 1000\n", "")))
    metrics = tmp_path / "metrics.json"
    metrics.write_text(
        '{"schema": "mlops-actions/metrics", "version": 1, '
        '"metrics": {"pinball": 3.0, "r2": 0.8}, '
        '"directions": {"pinball": "maximize", "r2": "maximize"}}'
    )
    with pytest.raises(UsageError) as caught:
        check_declared_directions(rules, metrics)
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.message == (
        f"gate.yml: metrics.pinball.direction is minimize but {metrics} declares "
        "pinball maximize: make them agree"
    )
    metrics.write_text(
        metrics.read_text().replace('"maximize", "r2"', '"minimize", "r2"')
    )
    check_declared_directions(rules, metrics)  # agreeing: nothing to say


def frame(labels) -> pd.DataFrame:
    return pd.DataFrame({"row_id": range(len(labels)), "label": labels})


def test_the_task_is_inferred_from_the_labels():
    rng = np.random.default_rng(0)
    assert infer_task(frame(rng.normal(4000, 500, 50))) == (
        "regression",
        "50 distinct fractional labels",
    )
    whole = rng.integers(2700, 6300, 80).astype("float64")
    assert infer_task(frame(whole))[0] == "regression"
    assert infer_task(frame(["Adelie", "Gentoo", "Chinstrap", "Adelie"])) == (
        "multiclass",
        "3 classes: 'Adelie', 'Chinstrap', 'Gentoo'",
    )
    assert infer_task(frame([1, 2, 3, 1])) == ("multiclass", "3 classes: 1, 2, 3")
    assert infer_task(frame(["male", "female"])) == (
        "binary",
        "2 classes: 'female', 'male'",
    )
    assert infer_task(frame([0.0, 1.0, 1.0])) == ("binary", "2 classes: 0.0, 1.0")


def test_an_inferred_task_that_cannot_resample_the_primary_says_how_to_fix_it():
    assert task_refusal("rmse", "binary", "inferred from predictions.parquet: x") == (
        "task: binary (inferred from predictions.parquet: x): the paired bootstrap "
        "cannot resample rmse for a binary task: set `task: regression` in gate.yml"
    )
    assert task_refusal("accuracy", "multiclass", "declared in gate.yml") is None
