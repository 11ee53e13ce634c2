"""``mlops_actions.contract``: the helper a user's evaluate step imports."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from mlops_actions.contract import write_metrics, write_predictions
from mlops_actions.records.metrics import read_metrics


def test_importing_it_loads_nothing_heavy():
    code = (
        "import sys, mlops_actions.contract as c; "
        "heavy = [m for m in ('pyarrow', 'pandas', 'numpy', 'pydantic', 'mlflow', "
        "'click', 'yaml') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_write_metrics_writes_the_versioned_form_the_reader_reads(tmp_path):
    path = write_metrics(
        tmp_path / "eval",
        {"rmse": 3.25, "r2": 0.5, "bad": math.nan},
        task="regression",
        directions={"rmse": "minimize"},
        rows=12,
        target="body_mass_g",
    )
    assert path == tmp_path / "eval" / "metrics.json"
    body = json.loads(path.read_text())
    assert body == {
        "schema": "mlops-actions/metrics",
        "version": 1,
        "metrics": {"rmse": 3.25, "r2": 0.5, "bad": None},
        "task": "regression",
        "directions": {"rmse": "minimize"},
        "rows": 12,
        "positive_class": None,
        "target": "body_mass_g",
    }
    read = read_metrics(path)
    assert (read.task, read.rows, read.metrics["rmse"]) == ("regression", 12, 3.25)
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]  # no temp


def test_write_metrics_takes_numpy_numbers(tmp_path):
    np = pytest.importorskip("numpy")
    path = write_metrics(tmp_path, {"acc": np.float32(0.5), "n": np.int64(3)})
    assert json.loads(path.read_text())["metrics"] == {"acc": 0.5, "n": 3}


@pytest.mark.parametrize(
    "metrics, kwargs, message",
    [
        ({"rmse": "3"}, {}, "metrics['rmse']: must be a number, got str '3'"),
        ({"ok": True}, {}, "metrics['ok']: must be a number, got bool True"),
        (
            {"a": 1},
            {"task": "ranking"},
            "task: must be one of binary, multiclass, " "regression, got 'ranking'",
        ),
        (
            {"a": 1},
            {"directions": {"a": "up"}},
            "directions['a']: must be maximize " "or minimize, got 'up'",
        ),
    ],
)
def test_write_metrics_refuses_bad_input_before_writing(
    tmp_path, metrics, kwargs, message
):
    with pytest.raises((TypeError, ValueError)) as caught:
        write_metrics(tmp_path, metrics, **kwargs)
    assert str(caught.value) == message
    assert not (tmp_path / "metrics.json").exists()


def test_write_predictions_binary(tmp_path):
    import pyarrow.parquet as pq

    path = write_predictions(
        tmp_path,
        row_id=[0, 1, 2],
        label=[1, 0, 1],
        prediction=[1, 0, 0],
        probability=[0.9, 0.2, 0.4],
    )
    table = pq.read_table(path)
    assert table.column_names == ["row_id", "label", "prediction", "probability"]
    assert table.column("probability").to_pylist() == [0.9, 0.2, 0.4]


def test_write_predictions_multiclass_has_one_probability_column_per_class(tmp_path):
    import pyarrow.parquet as pq

    np = pytest.importorskip("numpy")
    path = write_predictions(
        tmp_path,
        row_id=np.arange(2),
        label=["Adelie", "Gentoo"],
        prediction=("Adelie", "Adelie"),
        probability={"Adelie": [0.8, 0.6], "Gentoo": np.array([0.2, 0.4])},
    )
    table = pq.read_table(path)
    assert table.column_names == [
        "row_id",
        "label",
        "prediction",
        "probability_Adelie",
        "probability_Gentoo",
    ]
    assert table.column("row_id").to_pylist() == [0, 1]


def test_write_predictions_regression_keeps_floats(tmp_path):
    import pyarrow.parquet as pq

    path = write_predictions(
        tmp_path, row_id=["a", "b"], label=[3000.0, 4100.5], prediction=[3100.0, 4000.0]
    )
    table = pq.read_table(path)
    assert table.column_names == ["row_id", "label", "prediction"]
    assert str(table.schema.field("prediction").type) == "double"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"prediction": [1]},
            "prediction: 1 values, but row_id has 2: give one " "per evaluated row",
        ),
        (
            {"row_id": [7, 7]},
            "row_id: the ids repeat: give each evaluated row its " "own id",
        ),
        ({"probability": ["x", "y"]}, "probability: must hold numbers, got 'x'"),
        ({"label": "ab"}, "label: must be a sequence of values, got 'ab'"),
    ],
)
def test_write_predictions_refuses_bad_columns(tmp_path, kwargs, message):
    args = {"row_id": [0, 1], "label": [0, 1], "prediction": [0, 1]} | kwargs
    with pytest.raises((TypeError, ValueError)) as caught:
        write_predictions(tmp_path, **args)
    assert str(caught.value) == message
    assert not (tmp_path / "predictions.parquet").exists()
