"""The input log's files: whole records only, finished without replacing any.

A file is written as ``<name>.partial`` through :class:`PartialFile`, which
holds whole records only: a failed or short write is cut back to the last
whole record, so a file abandoned on a full disk never ends in half a line.
:func:`publish` gives a finished file its final name with a hard link, which
fails where a file of that name exists (a rename would silently replace it:
another replica's file, on a shared volume). The formats turn rows into the
bytes of a file: JSON lines are appended as they come; a Parquet file is
encoded whole, because a Parquet file cut short has no footer and cannot be
read at all.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import orjson

from mlops_actions.scorer.model.loading import Column

log = logging.getLogger("mlops_actions.scorer")

#: what ``link`` fails with where the filesystem has no hard links (some FUSE
#: and SMB mounts); ``EPERM`` is also Linux's answer on such filesystems
NO_HARD_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS})
COPY_CHUNK = 1 << 20
NAME_ATTEMPTS = 5


class PartialFile:
    """A ``.partial`` file this process created and is writing.

    Created exclusively: it is never someone else's file. ``size`` is the
    length of the whole records in it; :meth:`append` either adds all of
    ``data`` after them or raises ``OSError`` with the file cut back to
    ``size`` (tried again before the next append if the cut itself failed).
    """

    def __init__(self, path: Path) -> None:
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        self.path = path
        self.size = 0
        self._fd = os.open(path, flags, 0o644)
        self._torn = False

    def append(self, data: bytes | memoryview) -> None:
        if self._torn:
            os.ftruncate(self._fd, self.size)
            self._torn = False
        view = memoryview(data).cast("B")
        done = 0
        try:
            while done < len(view):
                written = os.pwrite(self._fd, view[done:], self.size + done)
                if written == 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.path)
                done += written
        except OSError:
            self._torn = True
            with suppress(OSError):
                os.ftruncate(self._fd, self.size)
                self._torn = False
            raise
        self.size += done

    def gone(self) -> bool:
        """Whether ``path`` no longer names this file: it, or its folder, was
        removed (or moved) while it was written."""
        mine = os.fstat(self._fd)
        try:
            there = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return True
        return (there.st_dev, there.st_ino) != (mine.st_dev, mine.st_ino)

    def linked(self) -> bool:
        """Whether the file still has a name anywhere (it was moved, not removed)."""
        return os.fstat(self._fd).st_nlink > 0

    def copy_to(self, other: PartialFile) -> None:
        """Append this file's records to ``other``, read through the open
        descriptor, which keeps them even after the file was removed."""
        offset = 0
        while offset < self.size:
            chunk = os.pread(self._fd, min(COPY_CHUNK, self.size - offset), offset)
            if not chunk:
                raise OSError(errno.EIO, "file shorter than written", self.path)
            other.append(chunk)
            offset += len(chunk)

    def discard(self) -> None:
        """Remove the file; if that fails, leave it empty rather than cut short."""
        with suppress(OSError):
            os.ftruncate(self._fd, 0)
        with suppress(OSError):
            os.unlink(self.path)
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            with suppress(OSError):  # what it holds is written; nothing to retry
                os.close(self._fd)
            self._fd = -1


def publish(partial: Path, fresh_name: Callable[[], Path]) -> Path:
    """Give the finished file ``partial`` its final name, never replacing a file.

    Tries ``partial`` without ``.partial``, then names from ``fresh_name``
    while the one tried is taken; returns the name it got. Where the
    filesystem has no hard links, a name is checked to be free and then
    renamed to: the names carry a token random to each logger, so only that
    logger itself could race the check, and it does not.
    """
    final = partial.with_suffix("")
    for _ in range(NAME_ATTEMPTS):
        try:
            os.link(partial, final)
        except FileExistsError:
            final = fresh_name()
            continue
        except OSError as exc:
            if exc.errno not in NO_HARD_LINKS:
                raise
            if os.path.lexists(final):
                final = fresh_name()
                continue
            os.rename(partial, final)
            return final
        try:
            os.unlink(partial)
        except FileNotFoundError:
            pass
        except OSError as exc:  # published all the same: never publish it twice
            log.warning("input log: %s, finished as %s, stays: %s", partial, final, exc)
        return final
    raise FileExistsError(errno.EEXIST, "no free name for a finished file", str(final))


class JsonLines:
    """One JSON object a line; each request's rows are appended as they come."""

    suffix = "jsonl"
    streams = True

    def encode(self, records: list[dict]) -> bytes:
        """The lines of ``records``; ``TypeError`` for a value JSON cannot hold."""
        return b"".join(
            orjson.dumps(record, option=orjson.OPT_UTC_Z) + b"\n" for record in records
        )

    def size(self, chunk: bytes) -> int:
        return len(chunk)


class Parquet:
    """A file encoded whole from the rows held for it, one list a request.

    Rows stay Python records until the file is written (converting a request
    at a time costs twenty times more). The schema comes from the model's
    signature when it has one; else it is the rows' own, widened as they
    come (a column null so far takes the first type seen).
    """

    suffix = "parquet"
    streams = False
    GROUP = 1024  # requests converted at once

    def __init__(self, columns: tuple[Column, ...] | None) -> None:
        self._schema = _arrow_schema(columns) if columns is not None else None

    def encode(self, records: list[dict]) -> list[dict]:
        return records

    def size(self, chunk: list[dict]) -> int:
        """An estimate, for rotating by size: 8 bytes a value, 40 a row."""
        return sum(40 + 8 * len(record["inputs"]) for record in chunk)

    def tables(self, chunks: list[list[dict]]) -> tuple[list[Any], list[int]]:
        """``chunks`` as arrow tables of one schema, and the indexes of the
        chunks left out, with rows unlike the file's columns."""
        import pyarrow as pa

        tables: list[Any] = []
        unlike: list[int] = []
        seen = self._schema

        def add(records: list[dict]) -> None:
            nonlocal seen
            table = pa.Table.from_pylist(records, schema=self._schema)
            if self._schema is None:
                both = [table.schema] if seen is None else [seen, table.schema]
                seen = pa.unify_schemas(both, promote_options="permissive")
            tables.append(table)

        for first in range(0, len(chunks), self.GROUP):
            group = chunks[first : first + self.GROUP]
            try:
                add([record for chunk in group for record in chunk])
            except (TypeError, ValueError):  # find the requests at fault
                for index, chunk in enumerate(group, first):
                    try:
                        add(chunk)
                    except (TypeError, ValueError):
                        unlike.append(index)
        return tables, unlike

    def file(self, tables: list[Any]) -> memoryview:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.concat_tables(tables, promote_options="permissive")
        sink = pa.BufferOutputStream()
        pq.write_table(table.combine_chunks(), sink)
        return memoryview(sink.getvalue())


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
