"""A child's output copied to its log and passed on as it comes.

Read in chunks, not lines: a child printing a 1 GB line must not make us hold
it. The log gets the bytes as they are; the terminal gets them decoded as
UTF-8 (bad bytes shown as U+FFFD); a line callback gets whole lines, as
universal newlines reads them (``\\r\\n``, ``\\r`` and ``\\n`` all end a
line), a line longer than :data:`LINE_LIMIT` in pieces of that length.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import IO

#: Characters of one line held before it is passed on in pieces.
LINE_LIMIT = 64 * 1024


def tee(
    stream: IO[bytes],
    log: IO[bytes],
    echo: IO[str] | None,
    on_line: Callable[[str], None] | None,
) -> None:
    """Copy ``stream`` to ``log`` until end of file, and to ``echo`` and
    ``on_line``. A failing echo (a closed terminal) is dropped; the log, and
    so the child, goes on: a child blocked on a full pipe would hang."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines = Lines(on_line) if on_line is not None else None
    read = getattr(stream, "read1", stream.read)
    while chunk := read(1 << 16):
        log.write(chunk)
        log.flush()
        text = decoder.decode(chunk)
        try:
            if echo is not None:
                echo.write(text)
                echo.flush()
            if lines is not None:
                lines.feed(text)
        except Exception:  # noqa: BLE001 - the child must not hang on our echo
            echo, lines = None, None
    text = decoder.decode(b"", final=True)
    try:
        if echo is not None and text:
            echo.write(text)
            echo.flush()
        if lines is not None:
            lines.feed(text)
            lines.close()
    except Exception:  # noqa: BLE001 - as above
        pass


class Lines:
    """Text in pieces to whole lines, without their line ends."""

    def __init__(self, emit: Callable[[str], None], limit: int = LINE_LIMIT) -> None:
        self._emit = emit
        self._limit = limit
        self._pending = ""

    def feed(self, text: str) -> None:
        text = self._pending + text
        # A \r at the end may be the first half of a \r\n: wait for what follows.
        held = "\r" if text.endswith("\r") else ""
        text = text[: len(text) - len(held)]
        *done, rest = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for line in done:
            self._emit(line)
        while len(rest) > self._limit:
            self._emit(rest[: self._limit])
            rest = rest[self._limit :]
        self._pending = rest + held

    def close(self) -> None:
        """Pass on the last line, which had no line end."""
        if self._pending:
            self._emit(self._pending.removesuffix("\r"))
        self._pending = ""
