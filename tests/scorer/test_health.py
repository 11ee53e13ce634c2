"""Liveness, readiness (only after load and warm-up), MLflow's /ping and
/version, metrics text, OpenAPI docs."""

from __future__ import annotations

import asyncio
import threading

import pytest

from .conftest import GATE_MODEL, fake_model, metric, post_json, serving

pytestmark = pytest.mark.anyio


async def test_ready_only_once_the_model_has_loaded(typed_model):
    loaded = threading.Event()

    def blocking_load():
        assert loaded.wait(10)
        return typed_model

    async with serving(loader=blocking_load, wait=False) as client:
        await asyncio.sleep(0.05)
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
        ping = await client.get("/ping")
        early = await post_json(client, {"inputs": {"x": [1.0], "n": [1]}})
        gauge = metric((await client.get("/metrics")).text, "mlops_scorer_ready")
        loaded.set()
        for _ in range(500):
            after = await client.get("/health/ready")
            if after.status_code == 200:
                break
            await asyncio.sleep(0.01)
        scored = await post_json(client, {"inputs": {"x": [1.0], "n": [1]}})
        ping_after = await client.get("/ping")
        gauge_after = metric((await client.get("/metrics")).text, "mlops_scorer_ready")
    assert (live.status_code, live.json()) == (200, {"status": "alive"})
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "loading",
        "model": "test-model",
        "instance": "test-instance",
    }
    assert ping.status_code == 503
    assert early.status_code == 503
    assert early.json()["message"] == "the model is not ready (loading)"
    assert gauge == 0
    assert (after.status_code, after.json()["status"]) == (200, "ready")
    assert scored.status_code == 200
    assert (ping_after.status_code, ping_after.text) == (200, "\n")
    assert gauge_after == 1


async def test_a_load_failure_is_never_ready():
    def broken_load():
        raise RuntimeError("weights.bin is corrupt")

    async with serving(loader=broken_load, wait=False) as client:
        for _ in range(100):
            ready = await client.get("/health/ready")
            if ready.json()["status"] != "loading":
                break
            await asyncio.sleep(0.01)
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "failed",
        "model": "test-model",
        "instance": "test-instance",
        "reason": "RuntimeError: weights.bin is corrupt",
    }


async def test_a_failing_warm_up_is_never_ready():
    def predict(frame):
        raise ValueError("cannot predict")

    async with serving(fake_model(predict), wait=False) as client:
        for _ in range(100):
            ready = await client.get("/health/ready")
            if ready.json()["status"] != "loading":
                break
            await asyncio.sleep(0.01)
    assert ready.status_code == 503
    assert ready.json()["reason"] == "ValueError: cannot predict"


async def test_warm_up_uses_the_models_input_example():
    seen = []

    def predict(frame):
        seen.append(frame["x"].tolist())
        return frame["x"].to_numpy()

    example = b'{"dataframe_split": {"columns": ["x"], "data": [[4.0], [5.0]]}}'
    async with serving(fake_model(predict, example=example)):
        pass
    assert seen == [[4.0, 5.0]]


async def test_version_is_mlflows_as_mlflow_serves_it(typed_model):
    from mlflow.version import VERSION

    async with serving(typed_model) as client:
        response = await client.get("/version")
    assert (response.status_code, response.text) == (200, VERSION)


async def test_metrics_count_requests_rows_and_latency(typed_model):
    async with serving(typed_model) as client:
        for _ in range(3):
            await post_json(client, {"inputs": {"x": [1.0, 2.0], "n": [1, 1]}})
        await post_json(client, {"inputs": {"x": ["bad"], "n": [1]}})
        response = await client.get("/metrics")
    text = response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert metric(text, 'mlops_scorer_requests_total{code="200"}') == 3
    assert metric(text, 'mlops_scorer_requests_total{code="422"}') == 1
    assert metric(text, "mlops_scorer_request_duration_seconds_count") == 4
    # three requests of two rows, plus the warm-up's one synthesized row
    assert metric(text, "mlops_scorer_rows_predicted_total") == 7
    assert metric(text, "mlops_scorer_batch_rows_count") == 4
    assert "mlops_scorer_input_log_dropped_total 0.0" in text


async def test_openapi_types_rows_from_the_signature(typed_model):
    async with serving(typed_model) as client:
        docs = await client.get("/docs")
        spec = (await client.get("/openapi.json")).json()
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    body = spec["paths"]["/invocations"]["post"]["requestBody"]["content"]
    records = body["application/json"]["schema"]["oneOf"][1]
    row = records["properties"]["dataframe_records"]["items"]
    assert row["required"] == ["x", "n"]
    assert row["properties"]["x"] == {"type": "number"}
    assert row["properties"]["tag"] == {"type": ["string", "null"]}
    assert "text/csv" in body


async def test_the_gate_fixture_model_serves(mlops):
    from mlops_actions.scorer.model.loading import load_model

    async with serving(load_model(str(GATE_MODEL))) as client:
        response = await post_json(
            client, {"dataframe_records": [{"bill_length_mm": 50.0}]}
        )
    assert response.json() == {"predictions": [{"label": "male", "probability": 1.0}]}
