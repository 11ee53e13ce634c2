"""A connection's two blunt tools: keep reading paused, or drop it at once.

Kept apart from ``connections`` (which decides when) because they touch
uvicorn's flow control and the socket, not the HTTP exchange.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl


def reset(transport: asyncio.Transport) -> None:
    """Drop the connection and what it still had to send, at once.

    A plain close would wait for a client that reads nothing, and the kernel
    would keep the unsent answers for minutes after: linger 0 makes it a reset.
    """
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        except OSError:  # already gone
            pass
    transport.abort()


class HeldFlow(FlowControl):
    """uvicorn's FlowControl, but reading stays paused while ``holding()``.

    uvicorn resumes reading whenever an app asks for its body and after each
    answer, even with pipelined requests still queued: that is what let a
    client that never reads answers fill the scorer's memory.
    """

    def __init__(self, transport: asyncio.Transport, holding: Any) -> None:
        super().__init__(transport)
        self._holding = holding

    def resume_reading(self) -> None:
        if self.read_paused and not self._holding():
            self.read_paused = False
            self._transport.resume_reading()
