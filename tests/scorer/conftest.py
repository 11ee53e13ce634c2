"""Fixture models, an in-process client for the scorer app, a free port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlops_actions.scorer.http.app import create_app
from mlops_actions.scorer.config import ScorerConfig
from mlops_actions.scorer.model.loading import Column, ServedModel, load_model

MODELS = Path(__file__).resolve().parent / "fixtures"
GATE_MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "gate" / "model"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def typed_model() -> ServedModel:
    """x double, n long (required); tag string, flag boolean, f float (optional).
    Answers a DataFrame: total = x + n (+ f), tag."""
    return load_model(str(MODELS / "typed"))


@pytest.fixture(scope="session")
def slow_model() -> ServedModel:
    """x double in, 2x out as an array; sleeps SCORER_TEST_PREDICT_SECONDS."""
    return load_model(str(MODELS / "slow"))


class FakePyfunc:
    """Stands in for a PyFuncModel: ``predict`` is any function of the frame."""

    def __init__(self, predict: Callable[[Any], Any]) -> None:
        self._predict = predict

    def predict(self, data: Any, params: Any = None) -> Any:
        return self._predict(data)


def fake_model(
    predict: Callable[[Any], Any], *, example: bytes | None = None
) -> ServedModel:
    """A served model with one required double column ``x``."""
    return ServedModel(
        uri="fake",
        pyfunc=FakePyfunc(predict),
        columns=(Column("x", "double", True),),
        input_schema=None,
        example=example,
        load_seconds=0.0,
    )


@asynccontextmanager
async def serving(
    model: ServedModel | None = None, wait: bool = True, **options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The app started (lifespan) and an httpx client talking to it in-process."""
    loader = options.pop("loader", None)
    options.setdefault("instance_id", "test-instance")
    config = ScorerConfig(model_uri=model.uri if model else "test-model", **options)
    app = create_app(config, model=model, loader=loader)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://scorer"
        ) as client:
            client.app = app  # type: ignore[attr-defined]
            if wait:
                await wait_ready(client)
            yield client


async def wait_ready(client: httpx.AsyncClient, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if (await client.get("/health/ready")).status_code == 200:
            return
        await asyncio.sleep(0.01)
    raise AssertionError((await client.get("/health/ready")).text)


def post_json(client: httpx.AsyncClient, body: Any, **kwargs: Any) -> Any:
    return client.post("/invocations", json=body, **kwargs)


def metric(text: str, name: str) -> float:
    """The value of one sample line ``name value`` in Prometheus text."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in metrics")


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
