"""``POST /invocations``: the hot path, as plain ASGI.

It skips FastAPI's routing, dependency injection and pydantic models (the
OpenAPI description of this route is declared separately, in ``openapi``):
read the body, parse and check it, queue it for the next predict call, send
the bytes back. No per-request log line; errors that are ours (500) are logged
with their request id and traceback, and the client sees only the id.

A body over INLINE_PARSE_BYTES, or compressed (see ``compression``), is
decoded and parsed on a worker thread of its own, not on the event loop nor
the predict thread: eight 720 KB CSV bodies parsed inline kept
``/health/live`` waiting for 1.5 s, past Kubernetes' 1 s probe timeout.
Smaller ones are parsed inline, since the hop to a thread (about 90 us)
costs more than parsing them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from mlops_actions.scorer.http.compression import decode
from mlops_actions.scorer.model.predict import ParsedInput
from mlops_actions.scorer.protocol.inputs import parse_request
from mlops_actions.scorer.http.limits import BodyTooLarge, Receive, Scope, Send
from mlops_actions.scorer.rejection import Rejected, error_body
from mlops_actions.scorer.http.request_id import request_id

if TYPE_CHECKING:
    from mlops_actions.scorer.model.loading import ServedModel
    from mlops_actions.scorer.http.runtime import ScorerState

log = logging.getLogger("mlops_actions.scorer")
PATH = "/invocations"
#: Measured (one core): JSON parses at about 7 us a KB, CSV at 50; at 8 KiB a
#: parse holds the loop 0.05-0.5 ms, and a thread hop costs about 0.09 ms.
INLINE_PARSE_BYTES = 8 << 10
#: Parsing holds the GIL, so a second thread parses no faster; it competes
#: with the event loop for it (measured, eight 720 KB bodies at once: the
#: worst /health/live took 0.2 s with two threads, 0.06-0.1 s with one, for
#: the same throughput), and holds a second body's parsed copy.
PARSE_THREADS = 1


class ClientGone(Exception):
    """The client disconnected before its body was read."""


def is_invocation(scope: Scope) -> bool:
    return (
        scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST"
    )


async def invoke(
    state: ScorerState, scope: Scope, receive: Receive, send: Send
) -> None:
    """Answer one scoring request (also used by the documented FastAPI route)."""
    began = time.perf_counter()
    rid = request_id(scope)
    content_type = encoding = ""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"content-encoding":
            encoding = value.decode("latin-1")
    batcher, model = state.batcher, state.model
    parsed = None
    try:
        if not state.ready or batcher is None or model is None:
            raise Rejected(503, f"the model is not ready ({state.status})")
        batcher.arriving += 1
        try:
            body = await _read_body(receive)
            if encoding or len(body) > INLINE_PARSE_BYTES:
                parsed = await asyncio.get_running_loop().run_in_executor(
                    _parse_threads(),
                    _decode_and_parse,
                    body,
                    encoding,
                    content_type,
                    model,
                    state.config.body_limit,
                )
            else:
                parsed = parse_request(body, content_type, model)
        finally:
            batcher.arriving -= 1
            batcher.poke()
        client = scope.get("client")  # some servers give a list, not a tuple
        answer = await batcher.submit(parsed, tuple(client) if client else None)
        status = 200
    except Rejected as exc:
        status, answer, parsed = exc.status, exc.body(rid), None
    except BodyTooLarge:
        raise  # BodyLimitMiddleware answers 413
    except ClientGone:
        return  # nobody to answer
    except Exception:  # noqa: BLE001 - a bug or a model failure: ours, not theirs
        log.exception("request %s failed", rid)
        status, parsed = 500, None
        answer = error_body(
            500, f"internal error: the server log has the details of request {rid}", rid
        )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(answer)).encode()),
                (b"x-request-id", rid.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer})
    state.answered += 1
    state.metrics.answered(status, time.perf_counter() - began)
    if parsed is not None and state.input_log is not None:
        state.input_log.offer(rid, parsed)


@functools.cache
def _parse_threads() -> ThreadPoolExecutor:
    """The parsing thread, started with the first large body."""
    return ThreadPoolExecutor(PARSE_THREADS, thread_name_prefix="scorer-parse")


def _decode_and_parse(
    body: bytes, encoding: str, content_type: str, model: ServedModel, limit: int
) -> ParsedInput:
    if encoding:
        body = decode(body, encoding, limit)
    return parse_request(body, content_type, model)


async def _read_body(receive: Receive) -> bytes:
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    body = message.get("body", b"")
    if not message.get("more_body", False):
        return body  # the usual case: one message
    chunks = [body]
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
