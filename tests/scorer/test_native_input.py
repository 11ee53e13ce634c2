"""Each flavor gets its cheapest input, and the same answers as pyfunc's.

A scikit-learn estimator whose signature columns are its fitted feature names
(or that was fit on an array) predicts on a float array; a Pipeline selecting
columns by name, the reference PyTorch model and a generic PythonModel
predict on DataFrames. Every answer through the scorer must equal
``mlflow.pyfunc.load_model(...).predict(frame)``'s, for one row, many rows
and requests coalesced into one predict call, with no warning on the way.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import sys
import warnings
from collections.abc import Callable
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlops_actions.scorer.model.loading import ServedModel, load_model
from mlops_actions.scorer.model.predict import Predictor
from mlops_actions.scorer.protocol.inputs import parse_request

from .conftest import MODELS, post_json, serving

pytestmark = pytest.mark.anyio
TRAIN = Path(__file__).resolve().parents[2] / "pipelines" / "components" / "train"
COLUMNS = ["f0", "f1", "f2", "f3"]


def _data(rows: int = 200) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, len(COLUMNS))), columns=COLUMNS)
    return frame, (frame["f0"] + frame["f1"] > 0).to_numpy(dtype=int)


def _save_sklearn(folder: Path, model: Any, frame: pd.DataFrame, **kw: Any) -> Path:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    path = folder / "model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's pickle advice
        mlflow.sklearn.save_model(
            model,
            str(path),
            serialization_format="cloudpickle",
            signature=infer_signature(frame, model.predict(frame)),
            **kw,
        )
    return path


def gbm_on_frame(folder: Path) -> Path:
    from sklearn.ensemble import GradientBoostingClassifier

    frame, y = _data()
    model = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(frame, y)
    return _save_sklearn(folder, model, frame)


def proba_on_frame(folder: Path) -> Path:
    from sklearn.linear_model import LogisticRegression

    frame, y = _data()
    model = LogisticRegression().fit(frame, y)
    return _save_sklearn(folder, model, frame, pyfunc_predict_fn="predict_proba")


def columns_by_name(folder: Path) -> Path:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame, y = _data()
    select = ColumnTransformer([("scaled", StandardScaler(), ["f1", "f0"])])
    model = make_pipeline(select, LogisticRegression()).fit(frame, y)
    return _save_sklearn(folder, model, frame, pyfunc_predict_fn="predict_proba")


def forest_on_array(folder: Path) -> Path:
    from sklearn.ensemble import RandomForestRegressor

    frame, y = _data()
    model = RandomForestRegressor(n_estimators=5, random_state=0)
    model.fit(frame.to_numpy(), frame["f2"].to_numpy())
    return _save_sklearn(folder, model, frame)


def reference_torch(folder: Path) -> Path:
    """The reference PythonModel, saved by the train component with seeded
    random weights (no training)."""
    import torch

    if str(TRAIN) not in sys.path:
        sys.path.insert(0, str(TRAIN))  # train.py imports tabular_model by name
    tabular_model = importlib.import_module("tabular_model")
    train = importlib.import_module("train")
    spec = {
        "target": "label",
        "classes": ["no", "yes"],
        "numeric": [
            {"name": n, "median": 0.0, "mean": 0.0, "std": 1.0} for n in ("a", "b")
        ],
        "categorical": [{"name": "c", "categories": ["p", "q"]}],
    }
    torch.manual_seed(0)
    module = tabular_model.build_mlp(4, [8])
    rng = np.random.default_rng(1)
    features = pd.DataFrame(
        {
            "a": rng.normal(size=20),
            "b": rng.normal(size=20),
            "c": rng.choice(["p", "q"], size=20),
        }
    )
    out = folder / "model"
    train.save_model(module, spec, [8], features, out, {})
    return out


def _rows(model: ServedModel, count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` rows of the model's signature columns, made up."""
    rng = np.random.default_rng(seed)
    assert model.columns is not None
    rows = []
    for _ in range(count):
        row: dict[str, Any] = {}
        for column in model.columns:
            if column.type == "string":
                row[column.name] = str(rng.choice(["p", "q"]))
            elif column.type in ("long", "integer"):
                row[column.name] = int(rng.integers(-5, 5))
            elif column.type == "boolean":
                row[column.name] = bool(rng.integers(0, 2))
            else:
                row[column.name] = float(rng.normal())
        rows.append(row)
    return rows


def _expected(path: Path, model: ServedModel, rows: list[dict[str, Any]]) -> Any:
    """The public answer: a fresh pyfunc's predict on the rows as a frame of
    the signature's dtypes, shaped as ``mlflow models serve`` shapes it."""
    import mlflow.pyfunc
    from mlflow.utils.proto_json_utils import _get_jsonable_obj

    assert model.columns is not None
    dtypes = {"double": "float64", "float": "float32", "long": "int64"}
    dtypes |= {"integer": "int32", "boolean": "bool", "string": "object"}
    frame = pd.DataFrame(rows)[[c.name for c in model.columns]]
    frame = frame.astype({c.name: dtypes[c.type] for c in model.columns})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference frame has its names
        answer = mlflow.pyfunc.load_model(str(path)).predict(frame)
    return json.loads(
        json.dumps({"predictions": _get_jsonable_obj(answer, pandas_orient="records")})
    )


FLAVORS: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "gbm on a frame": (
        gbm_on_frame,
        "array",
        "predict: GradientBoostingClassifier.predict on float64 arrays "
        "(signature columns match feature_names_in_)",
    ),
    "predict_proba": (
        proba_on_frame,
        "array",
        "predict: LogisticRegression.predict_proba on float64 arrays "
        "(signature columns match feature_names_in_)",
    ),
    "ColumnTransformer by name": (
        columns_by_name,
        "frame",
        "predict: the flavor's predict function on DataFrames (signature checked "
        "once); an array raised ValueError",
    ),
    "fit on an array": (
        forest_on_array,
        "array",
        "predict: RandomForestRegressor.predict on float64 arrays "
        "(fit on arrays of as many columns)",
    ),
    "reference PyTorch model": (
        reference_torch,
        "frame",
        "predict: the flavor's predict function on DataFrames (signature checked "
        "once)",
    ),
    "generic PythonModel": (
        lambda _: MODELS / "typed",
        "frame",
        "predict: the flavor's predict function on DataFrames (signature checked "
        "once)",
    ),
}


@pytest.fixture(scope="module", params=list(FLAVORS))
def flavor(request, tmp_path_factory) -> tuple[Path, ServedModel, str, str]:
    save, route, line = FLAVORS[request.param]
    path = save(tmp_path_factory.mktemp("native"))
    return path, load_model(str(path)), route, line


async def test_each_flavor_answers_as_pyfunc_does(flavor, caplog):
    path, model, route, line = flavor
    single, many = _rows(model, 1, 1), _rows(model, 7, 2)
    concurrent = [_rows(model, n, 10 + n) for n in (1, 3, 2, 1, 4, 1, 2, 1)]
    caplog.set_level(logging.INFO, logger="mlops_actions.scorer")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with serving(model) as client:
            one = await post_json(client, {"dataframe_records": single})
            split = {"columns": list(many[0]), "data": [list(r.values()) for r in many]}
            several = await post_json(client, {"dataframe_split": split})
            batches = _recording(client.app.state.scorer.batcher)
            together = await asyncio.gather(
                *(post_json(client, {"dataframe_records": r}) for r in concurrent)
            )
            predictor = client.app.state.scorer.predictor
    assert one.status_code == 200, one.text
    assert one.json() == _expected(path, model, single)
    assert several.json() == _expected(path, model, many)
    assert max(len(batch) for batch in batches) > 1  # some were coalesced
    # a batch's rows are predicted together: pyfunc's answer for all of them
    # (BLAS may round a row differently in a longer matrix), split by request
    expected = {}
    for batch in batches:
        answer = _expected(path, model, list(chain.from_iterable(batch)))
        start = 0
        for rows in batch:
            part = answer["predictions"][start : start + len(rows)]
            expected[json.dumps(rows)] = {"predictions": part}
            start += len(rows)
    assert [a.json() for a in together] == [expected[json.dumps(r)] for r in concurrent]
    assert predictor.route == route
    chosen = [r.getMessage() for r in caplog.records if "predict:" in r.getMessage()]
    assert len(chosen) == 1 and chosen[0].startswith(line), chosen
    assert [str(w.message) for w in caught if "feature names" in str(w.message)] == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def _recording(batcher: Any) -> list[list[list[dict[str, Any]]]]:
    """The rows of each request of each predict call ``batcher`` makes from now."""
    batches: list[list[list[dict[str, Any]]]] = []
    predict = batcher.predict

    def recorded(items: list[Any]) -> list[Any]:
        batches.append([_as_rows(item.columns) for item in items])
        return predict(items)

    batcher.predict = recorded
    return batches


def _as_rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*columns.values())]


def test_coalesced_requests_are_answered_as_pyfunc_answers_their_rows(flavor):
    path, model, route, _ = flavor
    parts = [_rows(model, n, 20 + n) for n in (1, 4, 2)]
    predictor = Predictor(model, announce=False)
    items = [
        parse_request(
            json.dumps({"dataframe_records": rows}).encode(), "application/json", model
        )
        for rows in parts
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        predictor.run(items[:1])  # the route is chosen on a first request
        answers = predictor.run(items)
    assert predictor.route == route
    whole = _expected(path, model, list(chain.from_iterable(parts)))["predictions"]
    assert [json.loads(a) for a in answers] == [
        {"predictions": whole[:1]},
        {"predictions": whole[1:5]},
        {"predictions": whole[5:]},
    ]
    assert [str(w.message) for w in caught if "feature names" in str(w.message)] == []


async def test_an_optional_column_left_out_fails_as_pyfunc_fails(tmp_path, caplog):
    """The fault: the array call, chosen for all columns, was also given the
    requests that leave an optional one out, and failed with an error of its
    own (``X has 3 features``) instead of the model's on a frame."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    frame, y = _data()
    frame.loc[::7, "f3"] = np.nan  # f3 optional in the signature
    model = HistGradientBoostingClassifier(max_iter=5).fit(frame, y)
    path = _save_sklearn(tmp_path, model, frame)
    served = load_model(str(path))
    assert [c.required for c in served.columns or ()] == [True, True, True, False]
    missing = [{"f0": 0.5, "f1": -1.0, "f2": 2.0, "f3": None}]
    left_out = [{"f0": 0.5, "f1": -1.0, "f2": 2.0}]
    caplog.set_level(logging.INFO, logger="mlops_actions.scorer")
    async with serving(served) as client:
        null = await post_json(client, {"dataframe_records": missing})
        absent = await post_json(client, {"dataframe_records": left_out})
        assert client.app.state.scorer.predictor.route == "array"
    assert null.json() == _expected(path, served, missing)
    assert absent.status_code == 500
    failures = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert len(failures) == 1
    assert "Feature names seen at fit time, yet now missing" in str(failures[0])
