"""Answers are shaped exactly as MLflow's scoring server shapes them."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from mlflow.pyfunc.scoring_server import predictions_to_json

from mlops_actions.scorer.model.predict import Predictor, encode

from .conftest import fake_model

OUTPUTS = {
    "frame": pd.DataFrame({"label": ["a", "b"], "p": [0.25, 0.75]}, index=[5, 9]),
    "frame-int-columns": pd.DataFrame({0: [1, 2], 1: [3.5, 4.5]}),
    "named-series": pd.Series([0.1, 0.2], name="score"),
    "series": pd.Series([1, 2]),
    "array": np.array([0.5, 1.5], dtype=np.float32),
    "matrix": np.array([[1, 2], [3, 4]]),
    "strings": np.array(["x", "y"], dtype=object),
    "list": [1, 2],
    "dict": {"a": np.array([1, 2]), "b": np.float64(0.5)},
    "timestamps": pd.DataFrame({"t": pd.to_datetime(["2026-01-02", "2026-01-03"])}),
}


@pytest.mark.parametrize("name", OUTPUTS)
def test_same_json_as_mlflow(name):
    raw = OUTPUTS[name]
    theirs = io.StringIO()
    predictions_to_json(raw, theirs)
    predictor = Predictor(fake_model(lambda frame: raw))
    ours = encode(predictor._jsonable(raw))
    assert json.loads(ours) == json.loads(theirs.getvalue())


def test_nan_is_written_as_null_where_mlflow_writes_bare_nan():
    raw = pd.DataFrame({"p": [0.5, float("nan")]})
    predictor = Predictor(fake_model(lambda frame: raw))
    assert encode(predictor._jsonable(raw)) == b'{"predictions":[{"p":0.5},{"p":null}]}'
