"""Sampled input rows land in JSON lines or Parquet files, rotated, off the
request path; a full queue drops and counts the rows. (The store failing:
test_input_log_faults.)"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from mlops_actions.scorer.input_log.logger import InputLogger
from mlops_actions.scorer.model.predict import ParsedInput

from .conftest import metric, post_json, serving

pytestmark = pytest.mark.anyio

BODY = {"dataframe_records": [{"x": 1.5, "n": 2, "tag": "a"}, {"x": 2.0, "n": 3}]}


async def test_jsonl_records_have_time_request_id_and_the_rows(typed_model, tmp_path):
    async with serving(typed_model, log_inputs=tmp_path) as client:
        response = await post_json(client, BODY, headers={"x-request-id": "req-1"})
        await post_json(client, {"inputs": {"x": ["bad"], "n": [1]}})  # not logged
    assert response.status_code == 200
    (path,) = tmp_path.iterdir()
    assert path.name.startswith("inputs-") and path.suffix == ".jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["request_id"] for r in records] == ["req-1", "req-1"]
    assert [r["inputs"] for r in records] == [
        {"x": 1.5, "n": 2, "tag": "a"},
        {"x": 2.0, "n": 3, "tag": None},
    ]
    assert records[0]["timestamp"].endswith("Z")


async def test_parquet_has_the_signatures_types(typed_model, tmp_path):
    import pyarrow.parquet as pq

    async with serving(typed_model, log_inputs=tmp_path, log_format="parquet") as c:
        for _ in range(3):
            await post_json(c, BODY)
    (path,) = tmp_path.glob("*.parquet")
    table = pq.read_table(path)
    assert table.num_rows == 6
    assert str(table.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    flat = table.flatten()
    assert flat.column("inputs.x").to_pylist() == [1.5, 2.0] * 3
    assert flat.column("inputs.flag").to_pylist() == [None] * 6
    assert str(flat.schema.field("inputs.n").type) == "int64"


async def test_files_rotate_by_size(typed_model, tmp_path):
    async with serving(typed_model, log_inputs=tmp_path, log_rotate_bytes=300) as c:
        for _ in range(6):
            await post_json(c, BODY)
    files = sorted(tmp_path.glob("*.jsonl"))
    assert len(files) >= 3
    lines = sum(len(f.read_text().splitlines()) for f in files)
    assert lines == 12


async def test_files_rotate_by_age_while_serving(typed_model, tmp_path):
    async with serving(typed_model, log_inputs=tmp_path, log_rotate_seconds=0.2) as c:
        await post_json(c, BODY)
        for _ in range(300):
            finished = list(tmp_path.glob("*.jsonl"))
            if finished:
                break
            await asyncio.sleep(0.01)
        assert len(finished) == 1  # renamed from .partial while still serving
        await post_json(c, BODY)
    assert len(list(tmp_path.glob("*.jsonl"))) == 2
    assert not list(tmp_path.glob("*.partial"))


async def test_sampling_rate(typed_model, tmp_path):
    async with serving(typed_model, log_inputs=tmp_path, log_sample_rate=0.0) as c:
        for _ in range(5):
            await post_json(c, BODY)
    assert list(tmp_path.iterdir()) == []

    half = tmp_path / "half"
    async with serving(typed_model, log_inputs=half, log_sample_rate=0.5) as c:
        for _ in range(200):
            await post_json(c, {"inputs": {"x": [1.0], "n": [1]}})
        logged = metric(
            (await c.get("/metrics")).text, "mlops_scorer_input_log_records_total"
        )
    assert 50 <= logged <= 150


def test_a_full_queue_drops_and_counts_rows(tmp_path):
    dropped = []
    logger = InputLogger(
        tmp_path, rate=1.0, queue_size=2, on_dropped=dropped.append
    )  # not started: nothing drains the queue
    item = ParsedInput(rows=2, key=("x",), columns={"x": [1.0, 2.0]})
    began = time.perf_counter()
    for n in range(5):
        logger.offer(f"r{n}", item)
    assert time.perf_counter() - began < 0.1  # never blocks the request
    assert sum(dropped) == 6  # rows, not requests: three of two rows each
