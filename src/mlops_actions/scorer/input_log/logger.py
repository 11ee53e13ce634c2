"""Sampled input logging for drift monitoring, written off the request path.

A sampled request goes on a bounded queue; one background thread turns it
into rows and writes them to ``DIR/inputs-<UTC time>-<pid>-<token>-<n>.jsonl``
or ``.parquet``. ``token`` is random to each logger, so replicas sharing a
folder never pick one name even when each is PID 1 in its own container.
Each record is one input row: ``timestamp`` (UTC), ``request_id`` and
``inputs`` (column -> value, missing as null). A file is written as
``<name>.partial``, holding whole records only, and given its final name
when rotated (by size or age) or when the scorer stops, by a link that never
replaces a file (see ``files``): a reader never sees half a file.
JSON lines are appended as they come; a Parquet file is written whole at
rotation from the rows held for it (at most ``buffer_rows``).

When the store fails (folder removed, disk full, descriptors exhausted), the
rows not yet in a file are held in memory, at most ``buffer_rows`` (the
oldest dropped first), and written again with backoff: the folder is made
again, and a ``.partial`` removed while written is copied from its open
descriptor into a new file (see ``writer``). Logging never stops
for good.

Every sampled row is counted once: ``on_written(rows)`` when it is in a file,
``on_dropped(rows)`` when it never will be (queue or buffer full, a value the
file cannot hold, the scorer stopping while writing still fails), so written
plus dropped is the rows sampled. A failure is logged once when writing
starts failing and once when it works again, with the rows dropped meanwhile.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import secrets
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from mlops_actions.scorer.input_log.files import JsonLines, Parquet
from mlops_actions.scorer.input_log.writer import InputLogWriter
from mlops_actions.scorer.model.predict import ParsedInput
from mlops_actions.scorer.model.loading import Column

log = logging.getLogger("mlops_actions.scorer")
_STOP = object()
IDLE_SECONDS = 0.5  # how often an idle logger checks its file's age and name


class InputLogger:
    """Samples ``rate`` of requests and writes their rows to ``folder``.

    ``queue_size`` bounds the requests waiting for the writer thread,
    ``buffer_rows`` (default: ``queue_size``) the rows held while the store
    fails and the rows of one Parquet file; :meth:`close` keeps trying a
    failing store for ``close_seconds`` at most.
    """

    def __init__(
        self,
        folder: Path,
        *,
        rate: float,
        fmt: str = "jsonl",
        rotate_bytes: int = 64 << 20,
        rotate_seconds: float = 300.0,
        queue_size: int = 10_000,
        buffer_rows: int | None = None,
        close_seconds: float = 5.0,
        columns: tuple[Column, ...] | None = None,
        on_written: Callable[[int], None] | None = None,
        on_dropped: Callable[[int], None] | None = None,
    ) -> None:
        self.folder = folder
        self.rate = rate
        self.close_seconds = close_seconds
        self.on_dropped = on_dropped or (lambda rows: None)
        self.writer = InputLogWriter(
            folder,
            JsonLines() if fmt == "jsonl" else Parquet(columns),
            self._name,
            rotate_bytes=rotate_bytes,
            rotate_seconds=rotate_seconds,
            buffer_rows=buffer_rows or queue_size,
            on_written=on_written or (lambda rows: None),
            on_dropped=self.on_dropped,
        )
        self._queue: queue.Queue = queue.Queue(queue_size)
        self._thread = threading.Thread(
            target=self._loop, name="mlops-input-log", daemon=True
        )
        self._closed = False
        self._refused = 0  # rows the full queue refused; only offer() adds
        self._refused_seen = 0
        self._said_full = self._said_odd = False
        self._token = secrets.token_hex(4)
        self._sequence = 0

    def start(self) -> None:
        self._thread.start()

    def offer(self, request_id: str, item: ParsedInput) -> None:
        """Queue ``item`` if sampled; never blocks. Its rows are counted
        dropped if the queue is full or the logger closed."""
        if self.rate < 1.0 and random.random() >= self.rate:
            return
        if not self._closed:
            try:
                self._queue.put_nowait((time.time(), request_id, item))
                return
            except queue.Full:
                pass
        rows = _rows(item)
        self._refused += rows
        self.on_dropped(rows)

    def close(self) -> None:
        """Write what is queued, finish the current file, stop the thread.

        Returns within about ``close_seconds`` even while the store fails;
        the rows not written by then are counted dropped.
        """
        self._closed = True
        if self._thread.is_alive():
            self._queue.put(_STOP)  # the thread drains the queue: a short wait
            self._thread.join()

    def _loop(self) -> None:
        writer = self.writer
        while True:
            try:
                entry = self._queue.get(timeout=writer.wait(IDLE_SECONDS))
            except queue.Empty:
                entry = None
            if entry is _STOP:
                self._stop()
                return
            self._note_refused(idle=entry is None)
            if entry is not None:
                self._take(*entry)
            writer.write(idle=entry is None)
            writer.trim()

    def _take(self, stamp: float, request_id: str, item: ParsedInput) -> None:
        try:
            records = _records(stamp, request_id, item)
        except Exception:  # noqa: BLE001 - one odd input must not stop the log
            self.writer.drop(_rows(item))
            if not self._said_odd:
                self._said_odd = True
                log.warning("input log: rows it cannot read dropped", exc_info=True)
            return
        if records:
            self.writer.hold(records)

    def _stop(self) -> None:
        writer = self.writer
        deadline = time.monotonic() + self.close_seconds
        while True:
            writer.write(final=True)
            left = deadline - time.monotonic()
            if writer.settled or left <= 0:
                break
            time.sleep(min(max(writer.backoff, 0.01), left))
        late = 0
        while True:  # offered after the stop, as the scorer closed: never written
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                break
            late += _rows(entry[2]) if entry is not _STOP else 0
        if late:
            writer.drop(late)
        if writer.failure is not None:
            writer.give_up()

    def _note_refused(self, *, idle: bool) -> None:
        refused = self._refused
        if refused != self._refused_seen:
            self.writer.drop(refused - self._refused_seen, counted=True)
            self._refused_seen = refused
            if not self._said_full:
                self._said_full = True
                log.warning("input log: queue full, rows dropped until it drains")
        elif idle:
            self._said_full = False

    def _name(self, end: str) -> Path:
        """A name no other logger picks: the pid alone repeats across
        containers (each one's PID 1) and boots."""
        self._sequence += 1
        moment = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        unique = f"{moment}-{os.getpid()}-{self._token}-{self._sequence}"
        return self.folder / f"inputs-{unique}.{self.writer.format.suffix}{end}"


def _rows(item: ParsedInput) -> int:
    """The rows ``item`` has for the log: none for tensors."""
    loggable = item.columns is not None or hasattr(item.data, "to_dict")
    return item.rows if loggable else 0


def _records(stamp: float, request_id: str, item: ParsedInput) -> list[dict]:
    when = datetime.fromtimestamp(stamp, timezone.utc)
    if item.columns is not None:
        names = list(item.columns)
        rows = [dict(zip(names, row)) for row in zip(*item.columns.values())]
    elif hasattr(item.data, "to_dict"):
        rows = [
            {str(k): _missing(v) for k, v in row.items()}
            for row in item.data.to_dict(orient="records")
        ]
    else:
        return []  # tensors and the like: not rows a drift check can read
    return [{"timestamp": when, "request_id": request_id, "inputs": r} for r in rows]


def _missing(value: Any) -> Any:
    return None if isinstance(value, float) and value != value else value
