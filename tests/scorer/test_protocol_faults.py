"""Faults found by probing what the scorer accepts and shows (issue 8): a
model's own NaN example, CSV numbers, duplicate JSON keys, the model's path in
/health/ready and /openapi.json, and /docs loading from the internet."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from mlops_actions.scorer.model.loading import load_model
from mlops_actions.scorer.protocol.warmup import warm_up

from .conftest import MODELS, post_json, serving

pytestmark = pytest.mark.anyio

J, CSV = "application/json", "text/csv"


@pytest.fixture(scope="session")
def nan_example_model(tmp_path_factory) -> Path:
    """x double in, 2x out; saved by MLflow with an example whose first row is
    null, as a model trained on data with nulls in its first rows is."""
    import mlflow
    import numpy as np
    import pandas as pd

    folder = tmp_path_factory.mktemp("nan-example") / "model"
    mlflow.pyfunc.save_model(
        path=str(folder),
        python_model=str(MODELS / "slow" / "slow_model.py"),
        input_example=pd.DataFrame({"x": [np.nan, 1.0]}),
        pip_requirements=[],
    )
    assert b"NaN" in (folder / "serving_input_example.json").read_bytes()
    return folder


async def test_a_model_whose_example_has_nan_serves(nan_example_model):
    model = load_model(str(nan_example_model))
    warm_up(model)  # `mlops scorer serve` exited 3 here
    example = (nan_example_model / "serving_input_example.json").read_bytes()
    async with serving(model) as client:
        ready = await client.get("/health/ready")
        sent_as_is = await client.post(
            "/invocations", content=example, headers={"content-type": J}
        )
        with_null = await post_json(
            client, {"dataframe_split": {"columns": ["x"], "data": [[None], [1.0]]}}
        )
    assert ready.status_code == 200
    # a client's NaN is still not JSON; null is the missing value
    assert sent_as_is.status_code == 400, sent_as_is.text
    assert (with_null.status_code, with_null.json()) == (
        200,
        {"predictions": [None, 2.0]},
    )


def test_a_model_whose_example_has_nan_gets_a_valid_json_smoke_request(
    nan_example_model,
):
    from mlops_actions.deploy.target import _example_smoke

    smoke = _example_smoke(nan_example_model)
    assert smoke is not None
    sent = json.dumps(smoke["request"], allow_nan=False)  # what smoke_test POSTs
    assert json.loads(sent) == {
        "dataframe_split": {"columns": ["x"], "data": [[None], [1.0]]}
    }
    assert smoke["expected"] == {"rows": 2}


CSV_NOT_JSON_NUMBERS = [
    # (column, cell): Python's float/int took each of these
    ("x", "3_9.1"),
    ("x", " 5"),
    ("x", "5 "),
    ("x", "\u0661\u0662"),  # Arabic-Indic digits
    ("x", "\uff15"),  # a fullwidth 5
    ("x", ".5"),
    ("x", "5."),
    ("n", "1_000"),
    ("n", "+5"),
    ("n", "007"),
    ("n", " 5 "),
]


@pytest.mark.parametrize("column, cell", CSV_NOT_JSON_NUMBERS)
async def test_csv_numbers_follow_the_json_number_grammar(typed_model, column, cell):
    row = {"x": "1.5", "n": "2", column: cell}
    body = f"x,n\n1.5,2\n{row['x']},{row['n']}\n".encode()
    async with serving(typed_model) as client:
        response = await client.post(
            "/invocations", content=body, headers={"content-type": CSV}
        )
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["field"] == column
    assert error["message"].startswith(f"column '{column}' (")
    assert "row 1 is" in error["message"]


async def test_csv_numbers_read_as_the_same_json_numbers(typed_model):
    body = b"x,n,f\n1e3,3.0,-0.5\n-2E-1,-4,0\n"
    async with serving(typed_model) as client:
        response = await client.post(
            "/invocations", content=body, headers={"content-type": CSV}
        )
    assert response.status_code == 200, response.text
    totals = [row["total"] for row in response.json()["predictions"]]
    assert totals == [1002.5, -4.2]


DUPLICATE_KEYS = {
    "top level": (
        b'{"dataframe_records": [{"x": 1, "n": 1}], '
        b'"dataframe_records": [{"x": 2, "n": 2}]}',
        "dataframe_records",
    ),
    "record": (b'{"dataframe_records": [{"x": 1, "n": 1, "x": 2}]}', "x"),
    "second record": (
        b'{"dataframe_records": [{"x": 1, "n": 1}, {"x": 1, "n": 1, "n": 2}]}',
        "n",
    ),
    "dataframe_split": (
        b'{"dataframe_split": {"columns": ["x", "n"], "data": [[1, 2]], '
        b'"columns": ["n", "x"]}}',
        "columns",
    ),
    "params": (
        b'{"dataframe_records": [{"x": 1, "n": 1}], "params": {"a": 1, "a": 2}}',
        "a",
    ),
    "inputs": (b'{"inputs": {"x": [1.0], "n": [1], "x": [2.0]}}', "x"),
    "with a colon in a string": (
        b'{"dataframe_records": [{"x": 1, "n": 1, "tag": "a:b", "tag": "c"}]}',
        "tag",
    ),
}


@pytest.mark.parametrize(
    "body, key", DUPLICATE_KEYS.values(), ids=DUPLICATE_KEYS.keys()
)
async def test_a_duplicate_json_key_is_refused_naming_it(typed_model, body, key):
    async with serving(typed_model) as client:
        response = await client.post(
            "/invocations", content=body, headers={"content-type": J}
        )
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["field"] == key
    assert error["message"] == f"the key '{key}' appears twice in one object"


async def test_colons_inside_strings_are_no_duplicate_keys(typed_model):
    body = b'{"dataframe_records": [{"x": 1, "n": 1, "tag": "12:30:00"}]}'
    async with serving(typed_model) as client:
        response = await client.post(
            "/invocations", content=body, headers={"content-type": J}
        )
    assert response.json() == {"predictions": [{"total": 2.0, "tag": "12:30:00"}]}


async def test_health_and_openapi_show_the_model_without_its_filesystem_path(
    nan_example_model,
):
    model = load_model(str(nan_example_model))
    async with serving(model) as client:
        ready = await client.get("/health/ready")
        spec = await client.get("/openapi.json")
    where = str(nan_example_model.parent)
    assert where not in ready.text and where not in spec.text
    assert ready.json() == {
        "status": "ready",
        "model": "model",  # the folder's name
        "instance": "test-instance",
        "model_uuid": model.pyfunc.metadata.model_uuid,
    }
    assert spec.json()["info"]["description"] == "Serves the MLflow model model."
    registered = replace(model, uri="models:/churn/3")
    async with serving(registered) as client:
        ready = await client.get("/health/ready")
        spec = await client.get("/openapi.json")
    assert ready.json()["model"] == "models:/churn/3"
    assert "models:/churn/3" in spec.json()["info"]["description"]


async def test_docs_load_nothing_from_the_internet(typed_model):
    async with serving(typed_model) as client:
        page = await client.get("/docs")
        html = page.text
        referenced = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        referenced += re.findall(r"""url: ?["']([^"']+)["']""", html)
        assets = {url: await client.get(url) for url in referenced}
    assert page.status_code == 200 and "swagger" in html.lower()
    assert "http://" not in html and "https://" not in html
    assert len(assets) >= 4  # the CSS, the icon, the script, /openapi.json
    for url, answer in assets.items():
        assert url.startswith("/"), url
        assert (answer.status_code, bool(answer.content)) == (200, True), url
    script = next(a for u, a in assets.items() if u.endswith(".js"))
    assert "SwaggerUIBundle" in script.text
    assert '"validatorUrl": null' in html  # no badge fetched from swagger.io
