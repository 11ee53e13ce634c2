"""``POST /invocations``: the hot path, as plain ASGI.

It skips FastAPI's routing, dependency injection and pydantic models (the
OpenAPI description of this route is declared separately, in ``openapi``):
read the body, parse and check it, queue it for the next predict call, send
the bytes back. No per-request log line; errors that are ours (500) are logged
with their request id and traceback, and the client sees only the id.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from mlops_actions.scorer.inputs import parse_request
from mlops_actions.scorer.limits import BodyTooLarge, Receive, Scope, Send
from mlops_actions.scorer.rejection import Rejected, error_body
from mlops_actions.scorer.request_id import request_id

if TYPE_CHECKING:
    from mlops_actions.scorer.runtime import ScorerState

log = logging.getLogger("mlops_actions.scorer")
PATH = "/invocations"


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
    content_type = ""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.decode("latin-1")
            break
    batcher = state.batcher
    parsed = None
    try:
        if not state.ready or batcher is None:
            raise Rejected(503, f"the model is not ready ({state.status})")
        batcher.arriving += 1
        try:
            body = await _read_body(receive)
            parsed = parse_request(body, content_type, state.model)
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
