"""Rows into the input log's files, held in memory while the store fails.

:class:`InputLogWriter` is the input log's writer thread's half: it takes a
request's encoded rows, writes them into files of one folder (see
``files``), and when that fails holds them, at most
``buffer_rows``, and tries again with backoff. It tells the failure once, when
writing starts failing, and once when it works again, with the rows dropped
meanwhile: never once a request.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlops_actions.scorer.input_log.files import JsonLines, Parquet, PartialFile
from mlops_actions.scorer.input_log.files import publish

log = logging.getLogger("mlops_actions.scorer")
FIRST_RETRY_SECONDS = 0.1
LAST_RETRY_SECONDS = 2.0  # the longest wait between tries while the store fails


class InputLogWriter:
    """Writes rows to files in ``folder`` named by ``name(suffix)``; used by
    one thread only.

    Counts each row once: ``on_written(rows)`` once it is in a file,
    ``on_dropped(rows)`` once it never will be. JSON lines are appended as
    they come and a file is published when it is ``rotate_bytes`` large or
    ``rotate_seconds`` old; Parquet rows are held until then (or until
    ``buffer_rows`` are) and written as one file. A removed ``.partial`` is
    copied from its open descriptor into a new file before it is published.
    """

    def __init__(
        self,
        folder: Path,
        format: JsonLines | Parquet,
        name: Callable[[str], Path],
        *,
        rotate_bytes: int,
        rotate_seconds: float,
        buffer_rows: int,
        on_written: Callable[[int], None],
        on_dropped: Callable[[int], None],
    ) -> None:
        self.folder = folder
        self.format = format
        self.name = name
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self.buffer_rows = buffer_rows
        self.on_written = on_written
        self.on_dropped = on_dropped
        #: (rows, bytes, encoded rows) not in a file yet, oldest first
        self._held: deque[tuple[int, int, Any]] = deque()
        self._held_rows = self._held_bytes = 0
        self._file: PartialFile | None = None
        self._since = 0.0  # when the file now written (or held for) began
        self._must_finish = False
        self.failure: Exception | None = None
        self.backoff = 0.0
        self._retry_at = 0.0
        self._dropped_meanwhile = 0
        self._said_unlike = False

    @property
    def settled(self) -> bool:
        """Nothing held and no file open: all rows given are accounted for."""
        return not self._held and self._file is None

    def wait(self, idle: float) -> float:
        """How long the thread may wait for rows before :meth:`write` is due."""
        if self.failure is None:
            return idle
        return max(0.0, self._retry_at - time.monotonic())

    def hold(self, records: list[dict]) -> None:
        """Encode ``records`` and hold them for :meth:`write`."""
        try:
            chunk = self.format.encode(records)
        except (TypeError, ValueError) as exc:  # a value the file cannot hold
            self.drop(len(records))
            self._say_unlike(exc)
            return
        if not self.format.streams and not self._held:
            self._since = time.monotonic()
        size = self._size(chunk)
        self._held.append((len(records), size, chunk))
        self._held_rows += len(records)
        self._held_bytes += size

    def _size(self, chunk: bytes | list[dict]) -> int:
        """``chunk``'s size as its format counts it."""
        if isinstance(self.format, JsonLines) and isinstance(chunk, bytes):
            return self.format.size(chunk)
        if isinstance(self.format, Parquet) and isinstance(chunk, list):
            return self.format.size(chunk)
        raise TypeError(
            f"{type(self.format).__name__} did not encode {type(chunk).__name__}"
        )

    def trim(self) -> None:
        """Drop the oldest held rows beyond ``buffer_rows``."""
        while self._held_rows > self.buffer_rows:
            rows, size, _ = self._held.popleft()
            self._held_rows -= rows
            self._held_bytes -= size
            self.drop(rows)

    def drop(self, rows: int, *, counted: bool = False) -> None:
        """Count ``rows`` dropped (``counted``: already, by the full queue)."""
        if not counted:
            self.on_dropped(rows)
        if self.failure is not None:
            self._dropped_meanwhile += rows

    def write(self, *, idle: bool = False, final: bool = False) -> None:
        """Move held rows into files; ``final`` publishes the file now.

        If the store fails, the rows stay held and the next call tries again
        only after a backoff (``final`` tries at once).
        """
        if self.failure is not None and not final:
            if time.monotonic() < self._retry_at:
                return
        try:
            if self.format.streams:
                self._append(idle=idle, final=final)
            elif self._held and (final or self.failure is not None or self._due()):
                self._write_whole()
        except Exception as exc:  # noqa: BLE001 - a failing store must not stop logging
            self._failed(exc)
            return
        if self.failure is not None:
            self._recovered()

    def give_up(self) -> None:
        """Stopping while the store fails: count what is held dropped, and
        publish the file with the records it holds."""
        self.drop(self._held_rows)
        self._held.clear()
        self._held_rows = self._held_bytes = 0
        unfinished = ""
        if self._file is not None:
            try:
                self._finish()
            except OSError as exc:
                unfinished = f"; {self._file.path} is left unfinished: {exc}"
            if self._file is not None:
                self._file.close()
        log.warning(
            "input log: stopped with writing to %s still failing (%s): %d rows "
            "dropped while it failed%s",
            self.folder,
            self.failure,
            self._dropped_meanwhile,
            unfinished,
        )

    def _append(self, *, idle: bool, final: bool) -> None:
        if idle and self._file is not None and self._file.gone():
            self._must_finish = True
        if self._file is not None and self._due():
            self._finish()
        while self._held:
            if self._file is None:
                self._file, self._since = self._open(), time.monotonic()
            rows, size, chunk = self._held[0]
            self._file.append(chunk)
            self._held.popleft()
            self._held_rows -= rows
            self._held_bytes -= size
            self.on_written(rows)
            if self._due():
                self._finish()
        if final and self._file is not None:
            self._finish()

    def _write_whole(self) -> None:
        assert isinstance(self.format, Parquet)
        tables, unlike = self.format.tables([chunk for _, _, chunk in self._held])
        if unlike:
            self._leave_out(unlike)
        if tables:
            file = self._open()
            try:
                file.append(self.format.file(tables))
                publish(file.path, self._fresh_name)
            except BaseException:
                file.discard()
                raise
            file.close()
        rows = self._held_rows
        self._held.clear()
        self._held_rows = self._held_bytes = 0
        self.on_written(rows)

    def _leave_out(self, unlike: list[int]) -> None:
        """Drop the held requests at indexes ``unlike``."""
        indexes = set(unlike)
        held, self._held = self._held, deque()
        self._held_rows = self._held_bytes = 0
        left_out = 0
        for index, entry in enumerate(held):
            if index in indexes:
                left_out += entry[0]
            else:
                self._held.append(entry)
                self._held_rows += entry[0]
                self._held_bytes += entry[1]
        self.drop(left_out)
        self._say_unlike("their columns are unlike the file's")

    def _say_unlike(self, why: object) -> None:
        if not self._said_unlike:  # once: such rows tend to keep coming
            self._said_unlike = True
            log.warning("input log: rows the file cannot hold are dropped: %s", why)

    def _due(self) -> bool:
        if self._must_finish:
            return True
        if self.format.streams:
            assert self._file is not None
            size = self._file.size
        elif self._held_rows >= self.buffer_rows:
            return True
        else:
            size = self._held_bytes
        age = time.monotonic() - self._since
        return size >= self.rotate_bytes or age >= self.rotate_seconds

    def _finish(self) -> None:
        """Publish the JSON lines file (copied first if it was removed)."""
        assert self._file is not None
        if not self._file.size:  # every append to it failed: nothing to read
            self._file.discard()
            self._file, self._must_finish = None, False
            return
        if self._file.gone():
            self._must_finish = True
            if not self._rescue():
                return
        publish(self._file.path, self._fresh_name)
        self._file.close()
        self._file, self._must_finish = None, False

    def _rescue(self) -> bool:
        """Copy a removed file's records into a new file; False where it was
        moved instead, which keeps them."""
        lost = self._file
        assert lost is not None
        if lost.linked():
            log.warning("input log: %s was moved while written; left as is", lost.path)
            lost.close()
            self._file, self._must_finish = None, False
            return False
        copy = self._open()
        try:
            lost.copy_to(copy)
        except BaseException:
            copy.discard()
            raise
        lost.close()
        self._file = copy
        log.warning(
            "input log: %s was removed while written; its records are copied to %s",
            lost.path,
            copy.path,
        )
        return True

    def _open(self) -> PartialFile:
        self.folder.mkdir(parents=True, exist_ok=True)  # again, if it was removed
        return PartialFile(self.name(".partial"))

    def _fresh_name(self) -> Path:
        return self.name("")

    def _failed(self, exc: Exception) -> None:
        if self.failure is None:
            self.backoff, self._dropped_meanwhile = FIRST_RETRY_SECONDS, 0
            log.warning(
                "input log: writing to %s failed (%s); holding up to %d rows and "
                "trying again",
                self.folder,
                exc,
                self.buffer_rows,
                exc_info=not isinstance(exc, OSError),  # a bug: show where
            )
        else:
            self.backoff = min(2 * self.backoff, LAST_RETRY_SECONDS)
        self.failure = exc
        self._retry_at = time.monotonic() + self.backoff

    def _recovered(self) -> None:
        dropped, self.failure = self._dropped_meanwhile, None
        log.log(
            logging.WARNING if dropped else logging.INFO,
            "input log: writing to %s works again; %d rows dropped while it failed",
            self.folder,
            dropped,
        )
