"""Faults of the reference model found by probing it through the scorer
(issue 8): a finite extreme input answered from NaN, and a NaN in the input
example MLflow writes when the first training rows have nulls.

The model is saved by the train component's own ``save_model``, with weights
set by hand: no training, and the overflow is exact.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd
import pytest
import torch

TRAIN = Path(__file__).resolve().parents[2] / "pipelines" / "components" / "train"
SPEC = {
    "target": "label",
    "classes": ["no", "yes"],
    "numeric": [
        {"name": "a", "median": 0.0, "mean": 0.0, "std": 1.0},
        {"name": "b", "median": 0.0, "mean": 0.0, "std": 1.0},
    ],
    "categorical": [{"name": "c", "categories": ["p", "q"]}],
}


def _components() -> tuple[Any, Any]:
    if str(TRAIN) not in sys.path:
        sys.path.insert(0, str(TRAIN))  # train.py imports tabular_model by name
    return importlib.import_module("tabular_model"), importlib.import_module("train")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """Two hidden units both 10a, output h1 - h2: 0.5 for any modest a, and
    inf - inf = NaN once 10a overflows float32."""
    tabular_model, train = _components()
    module = tabular_model.build_mlp(4, [2])
    with torch.no_grad():
        first, _, last = module
        first.weight.copy_(torch.tensor([[10.0, 0, 0, 0], [10.0, 0, 0, 0]]))
        first.bias.zero_()
        last.weight.copy_(torch.tensor([[1.0, -1.0]]))
        last.bias.zero_()
    features = pd.DataFrame(
        {
            "a": [np.nan, 1.0, 2.0, 3.0, 4.0],
            "b": [1.0, np.nan, 2.0, 3.0, 4.0],
            "c": ["p", "q", None, "p", "q"],
        }
    )
    out = tmp_path_factory.mktemp("reference") / "model"
    train.save_model(module, SPEC, [2], features, out, {})
    return out


def _score(model_dir: Path, bodies: list[dict]) -> list[httpx.Response]:
    """Each body POSTed at once to the scorer serving ``model_dir``."""
    from mlops_actions.scorer.http.app import create_app
    from mlops_actions.scorer.config import ScorerConfig
    from mlops_actions.scorer.model.loading import load_model

    async def run() -> list[httpx.Response]:
        model = load_model(str(model_dir))
        app = create_app(ScorerConfig(model_uri=str(model_dir)), model=model)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://s") as c:
                for _ in range(1000):
                    ready = await c.get("/health/ready")
                    if ready.status_code == 200:
                        break
                    await asyncio.sleep(0.01)
                assert ready.status_code == 200, ready.text
                return list(
                    await asyncio.gather(
                        *(c.post("/invocations", json=body) for body in bodies)
                    )
                )

    return asyncio.run(run())


def test_a_finite_extreme_input_is_refused_not_answered_from_nan(model_dir):
    good = {"dataframe_records": [{"a": 1.0, "b": 2.0, "c": "p"}]}
    overflow_on_input = {"dataframe_records": [{"a": 1.0}, {"a": 2.0, "b": 1e308}]}
    overflow_inside = {"dataframe_records": [{"a": 1e38, "b": 0.0}]}
    answers = _score(model_dir, [good, overflow_on_input, overflow_inside])

    assert answers[0].status_code == 200
    assert answers[0].json() == {"predictions": [{"label": "yes", "probability": 0.5}]}
    for answer, column, row, value in (
        (answers[1], "b", 1, "1e+308"),
        (answers[2], "a", 0, "1e+38"),
    ):
        assert answer.status_code == 422, answer.text
        error = answer.json()
        assert error["error_code"] == "INVALID_PARAMETER_VALUE"
        assert f"column '{column}': row {row} is {value}, too far" in error["message"]


def test_the_saved_input_example_is_json_though_the_first_rows_have_nulls(model_dir):
    example = (model_dir / "serving_input_example.json").read_bytes()
    request = orjson.loads(example)  # MLflow wrote NaN here: no JSON parser took it
    split = request["dataframe_split"]
    assert split["columns"] == ["a", "b", "c"]
    assert split["data"] == [[3.0, 3.0, "p"], [4.0, 4.0, "q"]]
    assert json.loads(example) == request
