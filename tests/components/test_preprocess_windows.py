"""Preprocess reads the snapshot by column and writes the splits by window.

The expected splits and statistics are computed here from the raw fixture
table, independently of the step's code; the step runs in process with tiny
windows (so every split spans many of them) and with one window for the
whole table, and both must write exactly those rows and values.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[2]
PREPROCESS = ROOT / "pipelines" / "components" / "preprocess"
ROWS = 600


@pytest.fixture(scope="module")
def steps() -> tuple:
    sys.path.insert(0, str(PREPROCESS))
    try:
        return importlib.import_module("preprocess"), importlib.import_module("windows")
    finally:
        sys.path.remove(str(PREPROCESS))


def raw_table() -> pd.DataFrame:
    """Whitespace and empty cells, null targets, an int column with nulls,
    a bool column, a column the step is told to drop."""
    rng = np.random.default_rng(3)
    colour = rng.choice(["red", " red", "blue ", "green", "", "  "], ROWS)
    label = rng.choice(
        ["yes", "no", " yes", "no ", "", None],
        ROWS,
        p=[0.25, 0.25, 0.15, 0.15, 0.1, 0.1],
    )
    count = pd.array(rng.integers(0, 9, ROWS), dtype="Int64")
    count[rng.random(ROWS) < 0.1] = pd.NA
    size = rng.normal(10.0, 3.0, ROWS)
    size[rng.random(ROWS) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "colour": pd.Series(colour, dtype="str"),
            "size": size,
            "label": pd.Series(label, dtype="str"),
            "count": count,
            "flag": rng.random(ROWS) < 0.5,
            "year": np.full(ROWS, 2024),
        }
    )


def expected_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """The cleaned table, by the step's documented rules, rows with a target."""
    frame = pd.DataFrame({"row_id": np.arange(ROWS, dtype=np.int64)})
    for name in ("colour", "label"):
        text = [None if s is None or pd.isna(s) else s.strip() for s in raw[name]]
        frame[name] = pd.Series([t or None for t in text], dtype="str")
    frame["size"] = raw["size"].astype(np.float64)
    frame["count"] = (
        raw["count"].astype("Float64").to_numpy(np.float64, na_value=np.nan)
    )
    frame["flag"] = raw["flag"].astype(np.float64)
    frame = frame[["row_id", "colour", "size", "label", "count", "flag"]]
    return frame[frame["label"].notna()].reset_index(drop=True)


def expected_splits(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    labels = frame["label"].to_numpy(dtype=object)
    rest, test = train_test_split(
        np.arange(len(frame)), test_size=0.2, stratify=labels, random_state=42
    )
    train, valid = train_test_split(
        rest, test_size=0.25, stratify=labels[rest], random_state=42
    )
    return {
        name: frame.iloc[np.sort(part)].reset_index(drop=True)
        for name, part in (("train", train), ("valid", valid), ("test", test))
    }


def run_step(steps: tuple, tmp: Path, window_rows: int) -> Path:
    preprocess, windows = steps
    snapshot, prepared = tmp / "snapshot", tmp / f"prepared-{window_rows}"
    snapshot.mkdir(exist_ok=True)
    raw_table().to_parquet(snapshot / "data.parquet", index=False)
    saved = windows.WINDOW_ROWS
    windows.WINDOW_ROWS = window_rows
    try:
        code = preprocess.main(
            ["--snapshot", str(snapshot), "--target", "label"]
            + ["--drop_columns", "year", "--prepared", str(prepared)]
        )
    finally:
        windows.WINDOW_ROWS = saved
    assert code == 0
    return prepared


@pytest.mark.parametrize("window_rows", [7, 100_000])
def test_splits_hold_the_cleaned_rows_whatever_the_window(
    steps: tuple, tmp_path: Path, window_rows: int
) -> None:
    prepared = run_step(steps, tmp_path, window_rows)
    expected = expected_splits(expected_frame(raw_table()))

    for name, part in expected.items():
        written = pd.read_parquet(prepared / f"{name}.parquet")
        pd.testing.assert_frame_equal(written, part, check_exact=True)


def test_statistics_are_those_of_the_train_rows(steps: tuple, tmp_path: Path) -> None:
    prepared = run_step(steps, tmp_path, 7)
    spec = json.loads((prepared / "preprocessor.json").read_text())
    train = expected_splits(expected_frame(raw_table()))["train"]

    assert spec["classes"] == ["no", "yes"]
    numeric = {c["name"]: c for c in spec["numeric"]}
    assert list(numeric) == ["size", "count", "flag"]
    for name, column in numeric.items():
        values = train[name].dropna().to_numpy()
        assert column["median"] == float(np.median(values))
        assert column["mean"] == float(values.mean())
        assert column["std"] == float(values.std())
    assert spec["categorical"] == [
        {"name": "colour", "categories": ["blue", "green", "red"]}
    ]


def test_split_parquet_keeps_the_whole_table_schema(
    steps: tuple, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    prepared = run_step(steps, tmp_path, 7)
    expected = expected_splits(expected_frame(raw_table()))["test"]

    schema = pq.read_schema(prepared / "test.parquet")
    assert schema.names == ["row_id", "colour", "size", "label", "count", "flag"]
    assert [str(t) for t in schema.types] == [
        "int64",
        "large_string",
        "double",
        "large_string",
        "double",
        "double",
    ]
    assert pq.ParquetFile(prepared / "test.parquet").metadata.num_rows == len(expected)


def test_class_indices_stratify_as_the_labels_would(steps: tuple) -> None:
    # Fault: stratifying on the labels made an array of one Python string per
    # row (hundreds of MB at 4M rows); class indices must split the same way.
    preprocess, _ = steps
    rng = np.random.default_rng(5)
    labels = pd.Series(
        rng.choice(["Zebra", "apple", "Äpfel", "éclair", "b", "10", "9"], 5000),
        dtype="str",
    )

    _, inverse = np.unique(labels.to_numpy(dtype=object), return_inverse=True)
    assert preprocess.class_indices(labels).tolist() == inverse.tolist()


def test_reading_windows_does_not_keep_the_files_column_chunks(
    steps: tuple, tmp_path: Path
) -> None:
    # Fault: a pre-buffered ParquetFile kept every column chunk it had read, so
    # by the last window it held about the whole file (400 MB at 4M rows).
    import pyarrow as pa

    _, windows = steps
    rng = np.random.default_rng(1)
    table = pd.DataFrame(rng.random((400_000, 4)), columns=list("abcd"))
    (tmp_path / "data.parquet").unlink(missing_ok=True)
    table.to_parquet(tmp_path / "data.parquet", index=False, row_group_size=100_000)
    size = (tmp_path / "data.parquet").stat().st_size
    snapshot = windows.Snapshot(tmp_path)
    before = pa.total_allocated_bytes()

    rows = sum(len(window) for _, window in snapshot.windows(list("abcd")))

    assert rows == 400_000
    assert pa.total_allocated_bytes() - before < size / 4
