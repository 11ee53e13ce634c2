"""The snapshot read one column at a time, the splits written one window at a time.

Preprocess used to load the table, clean a copy, filter a copy and slice three
more: four to five copies (2.8 GB at 4M rows, issue 12). Here a whole column
is read only to decide how it is cleaned and to fit its statistics; the rows
themselves pass through in windows of ``WINDOW_ROWS``, each cleaned by the
same per-column rules and appended to the splits it feeds. Peak memory is then
one column plus one window, whatever the table's length, and the values
written are those the whole-table version wrote (each rule is row by row;
the dtype that decides a rule is the whole column's, and every window is cast
to it first).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# 128Ki rows: about 25 MB per window for a 20-column table (4M rows: 864 MB
# peak, of which 224 MB are the imports, against 2.9 GB before). A table up to
# this size is written as before, byte for byte; a larger one in row groups
# of about 78k rows (train), holding the same values.
WINDOW_ROWS = 2**17
TEXT, NUMERIC, AS_IS = "text", "numeric", "as is"


@dataclass(frozen=True)
class ColumnPlan:
    """How one column is cleaned, decided once from the whole column."""

    dtype: Any  # the dtype a whole-table read gives it; windows are cast to it
    kind: str  # TEXT (stripped, "" is null), NUMERIC (float64) or AS_IS


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def plan_column(column: pd.Series) -> ColumnPlan:
    if pd.api.types.is_string_dtype(column):
        return ColumnPlan(column.dtype, TEXT)
    return ColumnPlan(column.dtype, NUMERIC if is_numeric(column) else AS_IS)


def clean_column(column: pd.Series, plan: ColumnPlan) -> pd.Series:
    if plan.kind == TEXT:
        stripped = column.str.strip()
        # After stripping, an empty cell carries no value: treat it as null.
        return stripped.mask(stripped == "")
    if plan.kind == NUMERIC:
        # float64 throughout: one missing value at serving time must not change
        # a column's type (the model signature declares doubles).
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.Series(values, index=column.index, name=column.name)
    return column


class Snapshot:
    """``data.parquet`` of a snapshot folder, read by column or by window."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "data.parquet"
        # Without pre-buffering, and through a small buffer, the reader keeps
        # no more than the window it decodes (pre-buffered, it keeps every
        # column chunk it read: about the file's size by the last window).
        self.file = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
        self.rows = self.file.metadata.num_rows
        # An index pandas stored as a column is not a column of the table.
        stored = (self.file.schema_arrow.pandas_metadata or {}).get("index_columns")
        index = {name for name in stored or [] if isinstance(name, str)}
        self.columns = [n for n in self.file.schema_arrow.names if n not in index]

    def column(self, name: str) -> pd.Series:
        """One whole column, with the dtype ``pd.read_parquet`` gives it."""
        return pd.read_parquet(self.path, columns=[name])[name]

    def windows(self, columns: list[str]) -> Iterator[tuple[int, pd.DataFrame]]:
        """(first row's position, rows) for consecutive windows of ``columns``."""
        offset = 0
        for batch in self.file.iter_batches(batch_size=WINDOW_ROWS, columns=columns):
            yield offset, pa.Table.from_batches([batch]).to_pandas()
            offset += batch.num_rows


def write_splits(
    snapshot: Snapshot,
    plans: dict[str, ColumnPlan],
    clean_target: Callable[[pd.Series], pd.Series],
    target: str,
    positions: dict[str, np.ndarray],
    prepared: Path,
    row_id: str,
) -> None:
    """Write ``<split>.parquet`` for each split of ``positions`` (sorted snapshot
    positions): ``row_id`` (the position) first, then the cleaned columns in
    the snapshot's order, ``target`` through ``clean_target``."""
    writers: dict[str, pq.ParquetWriter] = {}
    try:
        for offset, window in snapshot.windows(list(plans)):
            for name, plan in plans.items():
                column = clean_column(window[name].astype(plan.dtype), plan)
                window[name] = clean_target(column) if name == target else column
            window.insert(0, row_id, np.arange(offset, offset + len(window)))
            if not writers:
                schema = pa.Schema.from_pandas(window, preserve_index=False)
                writers = {
                    name: pq.ParquetWriter(prepared / f"{name}.parquet", schema)
                    for name in positions
                }
            for name, rows in positions.items():
                low, high = np.searchsorted(rows, [offset, offset + len(window)])
                if high > low:
                    part = window.take(rows[low:high] - offset)
                    writers[name].write_table(
                        pa.Table.from_pandas(part, schema=schema, preserve_index=False)
                    )
    finally:
        for writer in writers.values():
            writer.close()
