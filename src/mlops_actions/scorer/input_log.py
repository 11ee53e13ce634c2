"""Sampled input logging for drift monitoring, written off the request path.

A sampled request's rows go on a bounded queue (full: dropped and counted);
one background thread writes them to ``DIR/inputs-<UTC time>-<pid>-<n>.jsonl``
or ``.parquet``. Each record is one input row: ``timestamp`` (UTC),
``request_id`` and ``inputs`` (column -> value, missing as null). A file is
written as ``<name>.partial`` and renamed when rotated (by size or age) or
when the scorer stops, so a reader never sees half a file.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import orjson

from mlops_actions.scorer.inputs import ParsedInput
from mlops_actions.scorer.model import Column

log = logging.getLogger("mlops_actions.scorer")
_STOP = object()


class InputLogger:
    """Samples ``rate`` of requests and writes their rows to ``folder``."""

    def __init__(
        self,
        folder: Path,
        *,
        rate: float,
        fmt: str = "jsonl",
        rotate_bytes: int = 64 << 20,
        rotate_seconds: float = 300.0,
        queue_size: int = 10_000,
        columns: tuple[Column, ...] | None = None,
        on_written: Callable[[int], None] | None = None,
        on_dropped: Callable[[], None] | None = None,
    ) -> None:
        self.folder = folder
        self.rate = rate
        self.writer = _JsonLines() if fmt == "jsonl" else _Parquet(columns)
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self.on_written = on_written or (lambda rows: None)
        self.on_dropped = on_dropped or (lambda: None)
        self._queue: queue.Queue = queue.Queue(queue_size)
        self._thread = threading.Thread(
            target=self._loop, name="mlops-input-log", daemon=True
        )
        self._sequence = 0
        self._path: Path | None = None
        self._opened = 0.0

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def offer(self, request_id: str, item: ParsedInput) -> None:
        """Queue ``item`` if sampled; never blocks."""
        if self.rate < 1.0 and random.random() >= self.rate:
            return
        try:
            self._queue.put_nowait((time.time(), request_id, item))
        except queue.Full:
            self.on_dropped()

    def close(self) -> None:
        """Write what is queued, finish the current file, stop the thread."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _loop(self) -> None:
        while True:
            try:
                entry = self._queue.get(timeout=0.5)
            except queue.Empty:
                entry = None
            if entry is _STOP:
                self._finish()
                return
            try:
                if entry is not None:
                    self._write(*entry)
                elif self._path is not None:
                    self.writer.flush()  # idle: let readers of the file catch up
                if self._path is not None and self._due():
                    self._finish()
            except Exception:  # noqa: BLE001 - logging must never stop scoring
                log.exception("input log: writing to %s failed", self.folder)

    def _write(self, stamp: float, request_id: str, item: ParsedInput) -> None:
        records = _records(stamp, request_id, item)
        if not records:
            return
        if self._path is None:
            self._sequence += 1
            moment = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            name = f"inputs-{moment}-{os.getpid()}-{self._sequence}"
            self._path = self.folder / f"{name}.{self.writer.suffix}.partial"
            self._opened = time.monotonic()
            self.writer.open(self._path)
        self.writer.write(records)
        self.on_written(len(records))

    def _due(self) -> bool:
        assert self._path is not None
        return (
            time.monotonic() - self._opened >= self.rotate_seconds
            or self.writer.size() >= self.rotate_bytes
        )

    def _finish(self) -> None:
        if self._path is None:
            return
        self.writer.close()
        self._path.rename(self._path.with_suffix(""))
        self._path = None


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


class _JsonLines:
    suffix = "jsonl"

    def open(self, path: Path) -> None:
        self._file = open(path, "ab")

    def write(self, records: list[dict]) -> None:
        for record in records:
            self._file.write(orjson.dumps(record, option=orjson.OPT_UTC_Z) + b"\n")

    def flush(self) -> None:
        self._file.flush()

    def size(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()


class _Parquet:
    """Rows buffered into row groups of up to ``GROUP`` rows; the arrow schema
    comes from the model's signature when it has one, else from the first rows."""

    suffix = "parquet"
    GROUP = 4096

    def __init__(self, columns: tuple[Column, ...] | None) -> None:
        self._schema = _arrow_schema(columns) if columns is not None else None

    def open(self, path: Path) -> None:
        self._path = path
        self._writer: Any = None
        self._buffer: list[dict] = []

    def write(self, records: list[dict]) -> None:
        self._buffer.extend(records)
        if len(self._buffer) >= self.GROUP:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._buffer:
            return
        records, self._buffer = self._buffer, []
        schema = self._writer.schema if self._writer is not None else self._schema
        try:
            table = pa.Table.from_pylist(records, schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            log.warning(
                "input log: %d rows unlike the file's columns: %s", len(records), exc
            )
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._path, table.schema)
        self._writer.write_table(table)

    def size(self) -> int:
        return self._path.stat().st_size if self._path.exists() else 0

    def close(self) -> None:
        self.flush()
        if self._writer is not None:
            self._writer.close()


def _arrow_schema(columns: tuple[Column, ...]) -> Any:
    import pyarrow as pa

    types = {
        "double": pa.float64(),
        "float": pa.float32(),
        "long": pa.int64(),
        "integer": pa.int32(),
        "boolean": pa.bool_(),
        "string": pa.string(),
    }
    inputs = pa.struct([pa.field(c.name, types[c.type]) for c in columns])
    return pa.schema(
        [
            pa.field("timestamp", pa.timestamp("us", tz="UTC")),
            pa.field("request_id", pa.string()),
            pa.field("inputs", inputs),
        ]
    )
