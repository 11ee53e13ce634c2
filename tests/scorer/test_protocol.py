"""POST /invocations speaks MLflow's scoring protocol, and refuses bad input
with the status and the field a client can act on."""

from __future__ import annotations

import json
import logging

import pytest

from .conftest import fake_model, post_json, serving

pytestmark = pytest.mark.anyio

ROWS = [{"x": 1.5, "n": 2, "tag": "a"}, {"x": 2.0, "n": 3, "tag": None}]
ANSWER = {
    "predictions": [{"total": 3.5, "tag": "a"}, {"total": 5.0, "tag": None}],
}


SPLIT = {"columns": ["x", "n", "tag"], "data": [[1.5, 2, "a"], [2, 3, None]]}
COLUMNS = {"x": [1.5, 2.0], "n": [2, 3], "tag": ["a", None]}
FORMATS = {
    "split": {"dataframe_split": SPLIT},
    "split-index": {"dataframe_split": {**SPLIT, "index": [7, 8]}},
    "records": {"dataframe_records": ROWS},
    "instances": {"instances": ROWS},
    "inputs-rows": {"inputs": ROWS},
    "inputs": {"inputs": COLUMNS},
    "instances-columns": {"instances": COLUMNS},
    "params": {"dataframe_records": ROWS, "params": {"ignored": 1}},
}


@pytest.mark.parametrize("body", FORMATS.values(), ids=FORMATS.keys())
async def test_every_json_format_gives_the_same_answer(typed_model, body):
    async with serving(typed_model) as client:
        response = await post_json(client, body)
    assert response.status_code == 200, response.text
    assert response.json() == ANSWER
    assert response.headers["content-type"] == "application/json"


async def test_csv_with_a_missing_cell(typed_model):
    async with serving(typed_model) as client:
        response = await client.post(
            "/invocations",
            content=b"x,n,tag,f\n1.5,2,a,0.5\n2,3,,\n",
            headers={"content-type": "text/csv; charset=utf-8"},
        )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "predictions": [{"total": 4.0, "tag": "a"}, {"total": 5.0, "tag": None}]
    }


async def test_inputs_of_scalars_are_one_row(typed_model):
    async with serving(typed_model) as client:
        response = await post_json(client, {"inputs": {"x": 1.0, "n": 1}})
    assert response.json() == {"predictions": [{"total": 2.0, "tag": "none"}]}


async def test_an_array_answer_is_a_list_and_one_column_instances_work(slow_model):
    async with serving(slow_model) as client:
        response = await post_json(client, {"instances": [1.0, 2.5]})
    assert response.json() == {"predictions": [2.0, 5.0]}


J, CSV = "application/json", "text/csv"


def rec(**row: object) -> dict:
    """One row of dataframe_records; x and n (required) default to 1."""
    return {"dataframe_records": [{"x": 1, "n": 1, **row}]}


BAD = [
    # (body or raw bytes, content type, status, field)
    (b'{"dataframe_records": [{"x": 1', J, 400, None),
    (b'{"dataframe_records": [{"x": NaN, "n": 1}]}', J, 400, None),
    (b'{"dataframe_records": [{"x": Infinity, "n": 1}]}', J, 400, None),
    (b'{"dataframe_records": [{"x": 1e400, "n": 1}]}', J, 400, None),
    (b"", J, 400, None),
    ([{"x": 1, "n": 1}], J, 422, None),
    ({"rows": [{"x": 1}]}, J, 422, None),
    ({"inputs": {"x": [1.0]}, "instances": [{"x": 1.0}]}, J, 422, None),
    (rec(z=3), J, 422, "z"),
    ({"dataframe_records": [{"n": 1}]}, J, 422, "x"),
    ({"dataframe_records": [{"x": 1, "n": 1}, {"n": 2}]}, J, 422, "x"),
    (rec(x=None), J, 422, "x"),
    (rec(x="1.5"), J, 422, "x"),
    (rec(x=True), J, 422, "x"),
    (rec(n=2.5), J, 422, "n"),
    (rec(n=2**70), J, 422, "n"),
    (rec(flag=None), J, 422, "flag"),
    (rec(flag="yes"), J, 422, "flag"),
    (rec(tag=5), J, 422, "tag"),
    (rec(f=1e39), J, 422, "f"),
    ({"dataframe_records": []}, J, 422, None),
    ({"dataframe_records": {"x": 1}}, J, 422, "dataframe_records"),
    ({"dataframe_records": [[1, 2]]}, J, 422, "dataframe_records"),
    ({"dataframe_split": {"columns": ["x", "n"], "data": [[1, 2, 3]]}}, J, 422,
     "dataframe_split"),
    ({"dataframe_split": {"columns": ["x", "x"], "data": [[1, 2]]}}, J, 422, "x"),
    ({"dataframe_split": {"cols": ["x"], "data": [[1]]}}, J, 422, "dataframe_split"),
    ({"dataframe_split": [[1, 2]]}, J, 422, "dataframe_split"),
    ({"inputs": {"x": [1.0, 2.0], "n": [1]}}, J, 422, "n"),
    ({"inputs": {"x": [1.0], "n": 1}}, J, 422, "n"),
    ({"inputs": [{"x": 1, "n": 1}], "params": [1]}, J, 422, "params"),
    ({"instances": [1.0, 2.0]}, J, 422, "instances"),
    (b"x,n\nnan,1\n", CSV, 422, "x"),
    (b"x,n\n-Infinity,1\n", CSV, 422, "x"),
    (b"x,n\n1,inf\n", CSV, 422, "n"),
    (b"x,n\nabc,1\n", CSV, 422, "x"),
    (b"x,n\n,1\n", CSV, 422, "x"),
    (b"x,n\n1,2,3\n", CSV, 422, None),
    (b"x,n,zz\n1,2,3\n", CSV, 422, "zz"),
    (b"x,n\n", CSV, 422, None),
    (b'x,n\n"1\n', CSV, 422, None),
    (b"x,n\n\xff,1\n", CSV, 400, None),
    (b"x,n\n1,2\n", "text/plain", 415, None),
    (b'{"inputs": {"x": [1.0], "n": [1]}}', J + "; charset=latin-1", 415, None),
]  # fmt: skip


@pytest.mark.parametrize("body, content_type, status, field", BAD)
async def test_bad_input_is_refused_naming_the_field(
    typed_model, body, content_type, status, field
):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with serving(typed_model) as client:
        response = await client.post(
            "/invocations", content=raw, headers={"content-type": content_type}
        )
    assert response.status_code == status, response.text
    error = response.json()
    assert error.get("field") == field, error
    assert error["request_id"] == response.headers["x-request-id"]
    assert error["error_code"] in ("BAD_REQUEST", "INVALID_PARAMETER_VALUE")
    if field is not None:
        assert f"'{field}'" in error["message"] or field in error["message"]


async def test_null_in_optional_columns_means_missing(typed_model):
    body = {"dataframe_records": [{"x": 1, "n": 1, "tag": None, "f": None}]}
    async with serving(typed_model) as client:
        response = await post_json(client, body)
    assert response.json() == {"predictions": [{"total": 2.0, "tag": None}]}


async def test_the_clients_request_id_is_kept_and_a_bad_one_replaced(typed_model):
    async with serving(typed_model) as client:
        kept = await post_json(
            client,
            {"inputs": {"x": [1.0], "n": [1]}},
            headers={"x-request-id": "abc-1"},
        )
        replaced = await post_json(
            client, {"inputs": {"x": [1.0], "n": [1]}}, headers={"x-request-id": "a b"}
        )
    assert kept.headers["x-request-id"] == "abc-1"
    assert replaced.headers["x-request-id"] not in ("a b", "")


async def test_a_model_failure_is_a_500_with_only_the_request_id(caplog):
    def predict(frame):
        if (frame["x"] == 1.0).any():  # the warm-up row (x=0.0) passes
            raise ValueError("secret path /srv/weights.bin")
        return frame["x"].to_numpy()

    caplog.set_level(logging.ERROR, logger="mlops_actions.scorer")
    async with serving(fake_model(predict)) as client:
        response = await post_json(client, {"inputs": {"x": [1.0]}})
    assert response.status_code == 500
    error = response.json()
    rid = response.headers["x-request-id"]
    assert error == {
        "error_code": "INTERNAL_ERROR",
        "message": f"internal error: the server log has the details of request {rid}",
        "request_id": rid,
    }
    assert "Traceback" not in response.text and "secret" not in response.text
    logged = [r for r in caplog.records if rid in r.getMessage()]
    assert logged and logged[0].exc_info is not None


async def test_mounted_under_a_prefix_it_answers_the_same(typed_model):
    import httpx
    from starlette.applications import Starlette
    from starlette.routing import Mount

    async with serving(typed_model) as client:
        outer = Starlette(routes=[Mount("/v1", app=client.app)])
        transport = httpx.ASGITransport(app=outer)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as c:
            response = await c.post("/v1/invocations", json={"dataframe_records": ROWS})
    assert response.json() == ANSWER
    assert response.headers["x-request-id"]
