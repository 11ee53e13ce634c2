"""Request bodies over the limit get 413 without being read whole (pure ASGI)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mlops_actions.scorer.rejection import error_body
from mlops_actions.scorer.http.request_id import request_id

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    """Raised by the counting ``receive`` once a streamed body passes the limit."""


class BodyLimitMiddleware:
    """Refuses bodies over ``limit`` bytes with 413.

    A declared Content-Length over the limit is refused before any byte is
    read. A body without one (chunked) is counted as the app reads it; the
    read that passes the limit raises :class:`BodyTooLarge` inside the app,
    which this middleware answers with 413 if the app has not answered yet.
    With a Content-Length the server stops the body there, so no counting.
    ``on_reject(scope, status)`` sees each refusal (for metrics). A
    compressed body is checked here as sent, and against the same limit once
    decoded (``compression``, called by ``invocations``).
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        on_reject: Callable[[Scope, int], None] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.on_reject = on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
                break
        if length is not None:
            if not length.isdigit():
                await self._refuse(scope, send, 400, "Content-Length is not a number")
            elif int(length) > self.limit:
                await self._refuse(scope, send, 413, self._message(int(length)))
            else:
                await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, send, 413, self._message(None))

    def _message(self, length: int | None) -> str:
        declared = f" (Content-Length {length})" if length is not None else ""
        return f"the request body is over the limit of {self.limit} bytes{declared}"

    async def _refuse(self, scope: Scope, send: Send, status: int, text: str) -> None:
        if self.on_reject is not None:
            self.on_reject(scope, status)
        body = error_body(status, text, request_id(scope))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-request-id", request_id(scope).encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
