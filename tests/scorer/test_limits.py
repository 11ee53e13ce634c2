"""Bodies over the limit get 413 without being read whole."""

from __future__ import annotations

import pytest

from .conftest import metric, serving

pytestmark = pytest.mark.anyio

LIMIT = 4096
CHUNK = b" " * 1024


class Endless:
    """A streamed (chunked) body that fails the test if read far past the limit."""

    def __init__(self, prefix: bytes = b"") -> None:
        self.prefix = prefix
        self.sent = 0

    async def __aiter__(self):
        if self.prefix:
            yield self.prefix
        while True:
            if self.sent > LIMIT * 4:
                raise AssertionError("the scorer read the body whole")
            self.sent += len(CHUNK)
            yield CHUNK


async def test_a_declared_length_over_the_limit_is_refused_unread(typed_model):
    class Unread:
        async def __aiter__(self):
            raise AssertionError("the body was read")
            yield b""  # pragma: no cover

    async with serving(typed_model, body_limit=LIMIT) as client:
        response = await client.post(
            "/invocations",
            content=Unread(),
            headers={"content-type": "application/json", "content-length": "10000"},
        )
        text = (await client.get("/metrics")).text
    assert response.status_code == 413
    assert response.json()["message"] == (
        f"the request body is over the limit of {LIMIT} bytes (Content-Length 10000)"
    )
    assert response.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert metric(text, 'mlops_scorer_requests_total{code="413"}') == 1


async def test_a_streamed_body_is_counted_and_cut_off(typed_model):
    body = Endless(b'{"inputs": {"x": [1.0], "n": [1]}')
    async with serving(typed_model, body_limit=LIMIT) as client:
        response = await client.post(
            "/invocations", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert LIMIT <= body.sent <= LIMIT + len(CHUNK)


async def test_a_streamed_body_under_the_limit_is_served(typed_model):
    async def small():
        yield b'{"inputs": {"x": [1.0],'
        yield b' "n": [1]}}'

    async with serving(typed_model, body_limit=LIMIT) as client:
        response = await client.post(
            "/invocations",
            content=small(),
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 200, response.text


async def test_the_limit_is_exact(typed_model):
    body = b'{"inputs": {"x": [1.0], "n": [1]}}'
    async with serving(typed_model, body_limit=len(body)) as client:
        fits = await client.post("/invocations", content=body)
        over = await client.post("/invocations", content=body + b" ")
    assert (fits.status_code, over.status_code) == (200, 413)
