"""Concurrent requests are coalesced into one predict call, and answered apart."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from mlops_actions.scorer.batching import MicroBatcher
from mlops_actions.scorer.model.predict import ParsedInput

from .conftest import fake_model, metric, post_json, serving

pytestmark = pytest.mark.anyio


async def test_concurrent_requests_share_predict_calls(slow_model, monkeypatch):
    monkeypatch.setenv("SCORER_TEST_PREDICT_SECONDS", "0.02")
    async with serving(slow_model) as client:
        answers = await asyncio.gather(
            *(post_json(client, {"inputs": {"x": [float(i)]}}) for i in range(16))
        )
        text = (await client.get("/metrics")).text
    assert [a.json() for a in answers] == [
        {"predictions": [2.0 * i]} for i in range(16)
    ]
    calls = metric(text, "mlops_scorer_batch_requests_count") - 1  # less the warm-up
    assert calls < 16
    assert metric(text, 'mlops_scorer_batch_requests_bucket{le="1.0"}') < calls + 1
    assert metric(text, "mlops_scorer_rows_predicted_total") == 16 + 2


async def test_max_batch_rows_1_predicts_each_request_alone(slow_model, monkeypatch):
    monkeypatch.setenv("SCORER_TEST_PREDICT_SECONDS", "0.005")
    async with serving(slow_model, max_batch_rows=1) as client:
        await asyncio.gather(
            *(post_json(client, {"inputs": {"x": [1.0]}}) for i in range(8))
        )
        text = (await client.get("/metrics")).text
    assert metric(text, "mlops_scorer_batch_requests_count") == 9
    assert metric(text, "mlops_scorer_batch_requests_sum") == 9


async def test_one_failing_request_does_not_fail_its_batch_mates():
    gate = threading.Event()

    def predict(frame):
        gate.wait(5)
        if (frame["x"] < 0).any():
            raise ValueError("negative")
        return frame["x"].to_numpy() + 1

    async with serving(fake_model(predict), wait=False) as client:
        gate.set()
        await _ready(client)
        # the first predict must block the predict thread, not the event loop
        client.app.state.scorer.batcher.inline_seconds = 0
        gate.clear()
        first = asyncio.ensure_future(post_json(client, {"inputs": {"x": [0.0]}}))
        await asyncio.sleep(0.05)  # the first predict is now blocked on the gate
        rest = [
            asyncio.ensure_future(post_json(client, {"inputs": {"x": [x]}}))
            for x in (1.0, -1.0, 2.0)
        ]
        await asyncio.sleep(0.05)
        gate.set()
        answers = await asyncio.gather(first, *rest)
    assert [a.status_code for a in answers] == [200, 200, 500, 200]
    assert answers[3].json() == {"predictions": [3.0]}


async def test_an_unsplittable_answer_falls_back_to_one_request_per_call():
    calls = []

    def predict(frame):
        calls.append(len(frame))
        time.sleep(0.02)
        return {"sum": float(frame["x"].sum())}

    async with serving(fake_model(predict)) as client:
        answers = await asyncio.gather(
            *(post_json(client, {"inputs": {"x": [float(i)]}}) for i in range(6))
        )
    assert [a.json() for a in answers] == [
        {"predictions": {"sum": float(i)}} for i in range(6)
    ]


def _item(rows: int, key: tuple[str, ...] | None = ("x",)) -> ParsedInput:
    return ParsedInput(rows=rows, key=key)


async def test_batches_keep_to_max_rows_and_to_one_column_set():
    batches: list[list[int]] = []
    release = threading.Event()

    def predict(items):
        release.wait(5)
        batches.append([item.rows for item in items])
        return [b"ok"] * len(items)

    batcher = MicroBatcher(predict, max_rows=10, max_wait=0)
    batcher.start()
    first = asyncio.ensure_future(batcher.submit(_item(1)))
    await asyncio.sleep(0.02)  # predicting the first; the rest queue up
    queued = [
        _item(4),
        _item(4, ("x", "y")),
        _item(5),
        _item(3),
        _item(2, None),
        _item(1),
    ]
    waiting = [asyncio.ensure_future(batcher.submit(item)) for item in queued]
    await asyncio.sleep(0.01)
    release.set()
    assert await asyncio.gather(first, *waiting) == [b"ok"] * 7
    await batcher.close()
    assert batches == [[1], [4, 5, 1], [4], [3], [2]]


async def _ready(client) -> None:
    for _ in range(500):
        if (await client.get("/health/ready")).status_code == 200:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never ready")


async def test_a_batch_waits_briefly_for_a_client_that_is_sending():
    batches: list[list[str]] = []

    def predict(items):
        batches.append([item.key[0] for item in items])
        return [b"ok"] * len(items)

    batcher = MicroBatcher(predict, max_rows=10, max_wait=0.2)
    batcher.start()
    # both clients were heard from just now; a's next request comes first
    await asyncio.gather(
        batcher.submit(_item(1, ("x",)), "a"), batcher.submit(_item(1, ("x",)), "b")
    )
    began = time.perf_counter()
    a = asyncio.ensure_future(batcher.submit(_item(1, ("x",)), "a"))
    await asyncio.sleep(0.05)
    b = asyncio.ensure_future(batcher.submit(_item(1, ("x",)), "b"))
    await asyncio.gather(a, b)
    waited = time.perf_counter() - began
    await batcher.close()
    assert batches[-1] == ["x", "x"]  # a waited for b: one predict call
    assert 0.05 <= waited < 0.2


async def test_a_lone_client_never_waits():
    batcher = MicroBatcher(
        lambda items: [b"ok"] * len(items), max_rows=10, max_wait=0.5
    )
    batcher.start()
    began = time.perf_counter()
    for _ in range(5):
        await batcher.submit(_item(1), "a")
    elapsed = time.perf_counter() - began
    await batcher.close()
    assert elapsed < 0.25  # five requests, none held for the 0.5 s wait


async def test_a_lone_keep_alive_client_is_predicted_request_by_request():
    """With a 60 s max_wait, twenty requests in a row from one client are
    answered one predict call each: none waited for a batch-mate."""
    calls: list[int] = []

    def predict(items):
        calls.append(len(items))
        return [b"ok"] * len(items)

    batcher = MicroBatcher(predict, max_rows=10, max_wait=60)
    batcher.start()
    for _ in range(20):
        # a hang guard, not a timing assertion: a wait would take 60 s
        assert await asyncio.wait_for(batcher.submit(_item(1), "a"), 30) == b"ok"
    await batcher.close()
    assert calls == [1] * 20


async def test_a_lone_quick_request_is_predicted_on_the_event_loop():
    loop_thread = threading.current_thread()
    threads: list[bool] = []

    def predict(items):
        threads.append(threading.current_thread() is loop_thread)
        return [b"ok"] * len(items)

    # any predict counts as quick here: the rule under test is the rows'
    batcher = MicroBatcher(predict, max_rows=10, max_wait=0.002, inline_seconds=60)
    batcher.start()
    for rows in (2, 1, 2, 3):
        await batcher.submit(_item(rows), "a")
    await batcher.close()
    # the first goes to the predict thread; then requests no bigger than a
    # quick one stay on the loop; a bigger one goes to the thread again
    assert threads == [False, True, True, False]


async def test_a_slow_lone_request_keeps_the_event_loop_free(slow_model, monkeypatch):
    monkeypatch.setenv("SCORER_TEST_PREDICT_SECONDS", "0.2")
    async with serving(slow_model) as client:
        for _ in range(2):  # the second comes after a slow predict: same again
            answer = asyncio.ensure_future(post_json(client, {"inputs": {"x": [1.0]}}))
            await asyncio.sleep(0.05)  # predicting now
            live = await client.get("/health/live")
            assert not answer.done()  # answered while the predict ran
            assert live.status_code == 200
            assert (await answer).json() == {"predictions": [2.0]}
