"""The last lines of a log file, read from its end in bounded memory.

A failed step or scorer may leave a log of any size, with lines of any length
(a progress bar without newlines, a dumped array). :func:`tail` reads at most
``max_bytes`` from the end of the file, whatever its size, and cuts each line
it returns to ``max_chars`` characters, so what it returns can always be
printed::

    for line in tail(log_path):
        print(line)
"""

from __future__ import annotations

import os
from pathlib import Path

#: Bytes read from the end of the file, at most.
TAIL_BYTES = 64 * 1024
#: Characters of one line shown, at most.
LINE_CHARS = 500
#: Ends a line that was cut to ``max_chars``.
CUT_AFTER = " [... line cut]"
#: Starts a line whose beginning lies before the bytes read.
CUT_BEFORE = "[line cut ...] "


def tail(
    path: Path,
    lines: int = 20,
    *,
    max_bytes: int = TAIL_BYTES,
    max_chars: int = LINE_CHARS,
) -> list[str]:
    """The last ``lines`` lines of the file at ``path``, without line ends.

    Reads at most ``max_bytes`` bytes, from the end. Bytes that are not UTF-8
    are shown as U+FFFD. A line longer than ``max_chars`` characters keeps its
    first ``max_chars`` and ends with :data:`CUT_AFTER`. When the bytes read
    start inside a line, that partial line is left out, unless it is the only
    one: then its visible end is shown after :data:`CUT_BEFORE`. A missing or
    unreadable file gives ``[]``.
    """
    if lines <= 0:
        return []
    try:
        with open(path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            start = max(0, size - max_bytes)
            # One byte more tells whether the window starts at a line start.
            log.seek(max(0, start - 1))
            data = log.read(size - max(0, start - 1))
    except OSError:
        return []
    partial = start > 0 and not data.startswith(b"\n")
    if start > 0:
        data = data[1:]
    found = data.decode("utf-8", errors="replace").splitlines()
    if partial and len(found) == 1:
        return [CUT_BEFORE + found[0][-max_chars:]]
    if partial:
        found = found[1:]
    return [_cut(line, max_chars) for line in found[-lines:]]


def _cut(line: str, max_chars: int) -> str:
    return line if len(line) <= max_chars else line[:max_chars] + CUT_AFTER
