"""Large and compressed request bodies: parsed off the event loop, with the
same answers; gzip and deflate decoded within the body limit; a large CSV
parsed without a list per row."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import tracemalloc
import zlib

import pytest

from mlops_actions.scorer.protocol import inputs
from mlops_actions.scorer.http import invocations
from mlops_actions.scorer.protocol.inputs import parse_request
from mlops_actions.scorer.rejection import Rejected

from .conftest import fake_model, serving

pytestmark = pytest.mark.anyio

JSON = {"content-type": "application/json"}
CSV = {"content-type": "text/csv"}
ONE_ROW = b'{"inputs": {"x": [1.0], "n": [2]}}'


def csv_rows(rows: int) -> bytes:
    return b"x,n\n" + b"".join(b"%d.5,%d\n" % (i, i) for i in range(rows))


async def test_health_live_answers_while_a_large_body_is_parsed(
    typed_model, monkeypatch
):
    # The fault: eight 720 KB CSV bodies, parsed on the event loop, kept
    # /health/live waiting 1.5 s (Kubernetes gives up after 1 s). The parse
    # here is held open until /health/live has answered, or 5 s.
    began, answered, finished = (threading.Event() for _ in range(3))

    def held_parse(body, content_type, model):
        if len(body) > 100_000:
            began.set()
            answered.wait(5)
            finished.set()
        return parse_request(body, content_type, model)

    monkeypatch.setattr(invocations, "parse_request", held_parse)
    body = csv_rows(60_000)  # about 720 KB
    async with serving(typed_model) as client:
        large = asyncio.ensure_future(
            client.post("/invocations", content=body, headers=CSV)
        )
        for _ in range(500):
            if began.is_set():
                break
            await asyncio.sleep(0.01)
        live = await client.get("/health/live")
        parsed_meanwhile = finished.is_set()
        answered.set()
        response = await large
    assert began.is_set()
    assert live.status_code == 200
    assert not parsed_meanwhile, "/health/live waited for the parse"
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 60_000


async def test_a_body_gets_the_same_answer_inline_or_in_a_thread(typed_model):
    def split(rows: int, n: object) -> bytes:
        doc = {"dataframe_split": {"columns": ["x", "n"], "data": [[0.5, n]] * rows}}
        return json.dumps(doc).encode()

    # parsed on the event loop, and in a worker thread (INLINE_PARSE_BYTES)
    sizes = (1, 5_000)
    assert len(split(sizes[0], 1)) < 1024 and len(split(sizes[1], 1)) > 16 << 10
    answers = {}
    async with serving(typed_model) as client:
        for rows in sizes:
            for kind, body, headers in (
                ("good", split(rows, 1), JSON),
                ("wrong", split(rows, "1"), JSON),  # a string in a long column
                ("csv", csv_rows(rows), CSV),
            ):
                response = await client.post(
                    "/invocations", content=body, headers=headers
                )
                doc = response.json()
                doc.pop("request_id", None)
                answers[kind, rows] = (response.status_code, doc)
    one, many = sizes
    assert answers["good", one] == (
        200,
        {"predictions": [{"total": 1.5, "tag": "none"}]},
    )
    assert answers["good", many] == (
        200,
        {"predictions": [{"total": 1.5, "tag": "none"}] * many},
    )
    assert answers["wrong", one][0] == 422
    assert answers["wrong", many] == answers["wrong", one]
    assert (
        answers["csv", many][1]["predictions"][:one]
        == answers["csv", one][1]["predictions"]
    )


async def test_a_gzip_body_is_decoded_not_called_malformed_json(typed_model):
    async with serving(typed_model) as client:
        response = await client.post(
            "/invocations",
            content=gzip.compress(ONE_ROW),
            headers={**JSON, "content-encoding": "gzip"},
        )
        text = await client.post(
            "/invocations",
            content=gzip.compress(csv_rows(3)),
            headers={**CSV, "content-encoding": "GZIP"},
        )
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [{"total": 3.0, "tag": "none"}]}
    assert [row["total"] for row in text.json()["predictions"]] == [0.5, 2.5, 4.5]


@pytest.mark.parametrize("wbits", [15, -15], ids=["zlib", "raw"])
async def test_a_deflate_body_is_decoded(typed_model, wbits):
    packer = zlib.compressobj(wbits=wbits)
    body = packer.compress(ONE_ROW) + packer.flush()
    async with serving(typed_model) as client:
        response = await client.post(
            "/invocations",
            content=body,
            headers={**JSON, "content-encoding": "deflate"},
        )
    assert response.json() == {"predictions": [{"total": 3.0, "tag": "none"}]}


async def test_an_unknown_content_encoding_is_415_naming_it(typed_model):
    async with serving(typed_model) as client:
        response = await client.post(
            "/invocations", content=ONE_ROW, headers={**JSON, "content-encoding": "br"}
        )
    assert response.status_code == 415
    assert response.json()["message"] == (
        "Content-Encoding 'br' is not supported: send gzip, deflate or an "
        "uncompressed body"
    )


async def test_a_gzip_bomb_is_413_without_inflating_past_the_limit(typed_model):
    bomb = gzip.compress(b" " * (64 << 20))  # 64 MB of spaces in 64 KB
    async with serving(typed_model) as client:
        tracemalloc.start()
        response = await client.post(
            "/invocations", content=bomb, headers={**JSON, "content-encoding": "gzip"}
        )
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert response.status_code == 413
    assert response.json()["message"] == (
        f"the request body is over the limit of {1 << 20} bytes once "
        "decompressed (gzip)"
    )
    assert peak < (16 << 20), peak


async def test_the_limit_applies_to_the_decoded_body_exactly(typed_model):
    body = ONE_ROW + b" " * 1000  # compressed, well under its size
    packed = gzip.compress(body)
    async with serving(typed_model, body_limit=len(body)) as client:
        fits = await client.post(
            "/invocations", content=packed, headers={**JSON, "content-encoding": "gzip"}
        )
    async with serving(typed_model, body_limit=len(body) - 1) as client:
        over = await client.post(
            "/invocations", content=packed, headers={**JSON, "content-encoding": "gzip"}
        )
    assert (fits.status_code, over.status_code) == (200, 413)


@pytest.mark.parametrize(
    "body, message",
    [
        (b"\x1f\x8b not gzip", "the body is not valid gzip (Content-Encoding): "),
        (gzip.compress(ONE_ROW)[:-12], "the gzip body is cut short (Content-Encoding)"),
    ],
    ids=["corrupt", "truncated"],
)
async def test_a_broken_gzip_body_is_400(typed_model, body, message):
    async with serving(typed_model) as client:
        response = await client.post(
            "/invocations", content=body, headers={**JSON, "content-encoding": "gzip"}
        )
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)


def test_a_large_csv_body_peaks_under_30_times_its_size():
    # The fault: a 720 KB CSV of one short column peaked at 56 times its
    # size (a list per row, transposed, all through a 4-bytes-a-character
    # StringIO); a raised --body-limit multiplied that.
    model = fake_model(lambda frame: frame["x"].to_numpy())
    body = b"x\n" + b"0.5\n" * 180_000
    tracemalloc.start()
    parsed = parse_request(body, "text/csv", model)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert parsed.rows == 180_000
    assert peak < 30 * len(body), peak / len(body)


@pytest.mark.parametrize(
    "body",
    [
        b'x,n,tag\r\n1.5,1,"two\nlines, quoted"\r\n\r\n2.5,2,plain\n3.5,3,"a ""q"""\n',
        b"x,n,tag\n1.5,1,a\n\n2.5,2,b\n3.5,3\n4.5,4,d\n",  # line 4 is short
        b'x,n,tag\n1.5,1,"never closed\n2.5,2,b\n',
    ],
    ids=["quoted-newlines", "short-line", "open-quote"],
)
def test_a_csv_body_read_in_pieces_parses_as_one(typed_model, monkeypatch, body):
    def parsed() -> object:
        try:
            return parse_request(body, "text/csv", typed_model)
        except Rejected as exc:
            return exc.status, exc.message

    whole = parsed()
    monkeypatch.setattr(
        inputs, "CSV_PIECE", 3, raising=False
    )  # lines split across pieces
    monkeypatch.setattr(inputs, "CSV_CHUNK_ROWS", 2, raising=False)
    assert parsed() == whole
