"""HTTP/1.1 connections: the limits uvicorn's httptools protocol lacks.

uvicorn (read at 0.54) already closes a keep-alive connection left idle for
``timeout_keep_alive`` seconds, and stops writing answers while the socket's
send buffer is full. It does not:

- cap the size of a request's head (a 116 MB header was accepted);
- time out a request whose headers or body never finish arriving, nor a new
  connection that sends nothing (1,000 half-sent requests were held for ever);
- stop reading from a client that pipelines requests without reading the
  answers: every request of each read is queued, and each answer resumes
  reading (600k requests took the scorer to 2.1 GB).

:class:`ScorerProtocol` adds the three. A request whose target and headers
are over ``header_limit`` bytes gets 431, one not in within
``request_timeout`` seconds gets 408, and both close the connection; so does
an answer left unread that long (with a reset: nothing more is sent). Reading
stops while a pipelined request waits for the one before it, so a connection
holds at most one read of data it has not answered. The cost per connection
is one timer handle; per request, a few attribute writes; nothing per byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mlops_actions.scorer.config import ScorerConfig
from mlops_actions.scorer.http.flow import HeldFlow, reset
from mlops_actions.scorer.rejection import error_body
from mlops_actions.scorer.http.request_id import request_id

#: Data is handed to the parser this much at a time, and the queue of
#: pipelined requests checked in between: httptools parses a whole read (up
#: to 256 KiB) in one call, queueing every request in it. A head still
#: arriving is counted from the piece after the one it began in (the parser
#: does not say where in a piece a request began), so it is refused once
#: over the limit by a piece at most; a complete one is measured exactly.
PIECE = 16 << 10
#: After an answer we refuse a request with, what the client still sends is
#: read and dropped for this long (and this much) before closing: closing
#: with unread data makes the kernel reset the connection, and the client
#: would lose the answer.
LINGER_SECONDS = 2.0
LINGER_BYTES = 1 << 20


def protocol_class(config: ScorerConfig) -> type[ScorerProtocol]:
    """The protocol uvicorn should run (``uvicorn.Config(http=...)``) for
    ``config``'s header limit and request timeout."""
    return type(
        "ScorerProtocol",
        (ScorerProtocol,),
        {
            "header_limit": config.header_limit,
            "request_timeout": config.request_timeout,
        },
    )


class ScorerProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with head and time limits and read
    back-pressure (see the module docstring). Use :func:`protocol_class`."""

    header_limit = ScorerConfig.header_limit
    request_timeout = ScorerConfig.request_timeout

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: bytes read but not yet parsed, kept while a pipelined request waits
        self._held: memoryview | None = None
        #: the current request's head is incomplete; its bytes past the first
        #: piece it began in (None until that piece has been parsed)
        self._in_head = False
        self._head: int | None = None
        #: loop times: the current request began to arrive; answers stopped
        #: being taken by the client. One timer watches both.
        self._reading_since: float | None = None
        self._stalled_since: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        #: the request being answered (uvicorn keeps only the last one read)
        self._running: Any = None
        #: bytes still to drop after a refusal (None: not refused)
        self._dropping: int | None = None

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        self.flow = HeldFlow(transport, self._holding)
        # uvicorn arms its idle timeout only after an answer: a connection
        # that never sends a byte would stay open for ever.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        running = self._running
        if running is not None and not running.response_complete:
            # uvicorn tells only the last request read: an answer being
            # written for an earlier, pipelined one would hit a closed socket.
            running.disconnected = True
            running.message_event.set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        # Requests queued behind the one in flight can no longer be answered.
        self.pipeline.clear()
        self._held = None

    def data_received(self, data: bytes) -> None:
        if self._dropping is not None:  # refused: what still comes is dropped
            self._dropping -= len(data)
            if self._dropping < 0:
                self.transport.close()
        elif self._held is not None:  # a read already under way when reading paused
            self._held = memoryview(bytes(self._held) + data)
        else:
            self._parse(memoryview(data))

    def _parse(self, data: memoryview) -> None:
        for start in range(0, len(data), PIECE):
            if self.pipeline:  # a request waits: read no further until it runs
                self._held = data[start:]
                self.flow.pause_reading()
                return
            piece = data[start : start + PIECE]
            super().data_received(piece)  # type: ignore[arg-type]
            if self.transport.is_closing():  # a malformed request was refused
                return
            if self._in_head:
                if self._head is None:
                    self._head = 0  # counted from the next piece on
                else:
                    self._head += len(piece)
                    if self._head > self.header_limit:  # and still coming
                        self._refuse(431, self._too_large_message())
                        return

    def _holding(self) -> bool:
        return self._held is not None or bool(self.pipeline)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head = True, None
        self._reading_since = self.loop.time()
        if self._timer is None:
            self._timer = self.loop.call_later(self.request_timeout, self._check)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if (self._head is not None or self.header_limit < PIECE) and sum(
            len(name) + len(value) + 4 for name, value in self.headers
        ) + len(self.url) > self.header_limit:
            # A head longer than a piece, now known whole: it is answered in
            # its turn (earlier answers first) by a 431 instead of the app.
            app, self.app = self.app, self._headers_too_large
            try:
                super().on_headers_complete()
            finally:
                self.app = app
        else:
            super().on_headers_complete()
        if not self.pipeline:  # started at once, not queued
            self._running = self.cycle

    def on_message_complete(self) -> None:
        self._reading_since = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if self.pipeline and not self.transport.is_closing():
            self._running = self.pipeline[-1][0]  # the next one uvicorn starts
        super().on_response_complete()
        if self._held is not None and not self.pipeline:
            if not self.transport.is_closing():
                held, self._held = self._held, None
                self._parse(held)
                if self._held is None:
                    self.flow.resume_reading()

    def pause_writing(self) -> None:
        super().pause_writing()
        self._stalled_since = self.loop.time()
        if self._timer is None:
            self._timer = self.loop.call_later(self.request_timeout, self._check)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._stalled_since = None

    def _check(self) -> None:
        """The timer: refuse a late request, drop a client that takes no
        answers, else wait for the earliest deadline still running."""
        self._timer = None
        if self.transport.is_closing():
            return
        now, timeout = self.loop.time(), self.request_timeout
        reading, stalled = self._reading_since, self._stalled_since
        if reading is not None and self.flow.read_paused:
            # We stopped reading (a request queued, a body not yet taken):
            # the client is not late, so its clock starts again.
            reading = self._reading_since = now
        if reading is not None and now - reading >= timeout:
            self._refuse(
                408,
                f"the request did not arrive within {timeout:g} s: send its "
                "headers and body without pausing",
            )
            return
        if stalled is not None and now - stalled >= timeout:
            reset(self.transport)
            return
        running = [since for since in (reading, stalled) if since is not None]
        if running:
            due = min(running) + timeout - now
            self._timer = self.loop.call_later(due, self._check)

    async def _headers_too_large(self, scope: Any, receive: Any, send: Any) -> None:
        """The ASGI app that answers a request whose head is too large."""
        rid = request_id(scope)
        body = error_body(431, self._too_large_message(), rid)
        await send(
            {
                "type": "http.response.start",
                "status": 431,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", b"%d" % len(body)),
                    (b"x-request-id", rid.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _too_large_message(self) -> str:
        return (
            f"the request headers are over the limit of {self.header_limit} "
            "bytes: send smaller headers"
        )

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` for the request being read, then close.

        The answer is written only when no earlier answer is still owed on
        this connection (HTTP/1.1 answers go out in order); else the
        connection just closes. After an answer, see LINGER_SECONDS.
        """
        cycle = self.cycle
        if self._in_head:  # no cycle yet: the last one is an earlier request
            owed = cycle is not None and not cycle.response_complete
        else:
            owed = cycle.response_started
        if not owed and not self.pipeline:
            # uvicorn types its scope as a TypedDict, but it is a plain dict,
            # and ASGI lets the server add keys (request_id keeps its id there)
            rid = request_id(cast("MutableMapping[str, Any]", self.scope))
            body = error_body(status, message, rid)
            head = [STATUS_LINE[status]]
            for name, value in self.server_state.default_headers:
                head += [name, b": ", value, b"\r\n"]
            head.append(
                b"content-type: application/json\r\nx-request-id: %s\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n"
                % (rid.encode(), len(body))
            )
            self.transport.write(b"".join(head) + body)
        if not self._in_head and cycle is not None:
            # The app may be waiting for this request's body: it is told
            # the client is gone, and writes nothing after our answer.
            cycle.disconnected = True
            cycle.message_event.set()
        if owed or self.pipeline or not self.transport.can_write_eof():
            self.transport.close()
            return
        # Close our side after the answer; read and drop the rest for a while.
        self._dropping = LINGER_BYTES
        self._reading_since = self._stalled_since = self._held = None
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        self.transport.write_eof()
        if self.flow.read_paused:
            self.flow.read_paused = False
            self.transport.resume_reading()
