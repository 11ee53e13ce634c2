"""Clean a snapshot, split it, and fit the feature preprocessing on train.

Writes ``train.parquet``, ``valid.parquet`` and ``test.parquet`` holding the
cleaned raw features (nulls kept), a stable ``row_id`` and the target, plus
``preprocessor.json``: the statistics the model applies to raw rows. Keeping
the splits raw lets the scorer apply the very same transform at serving time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

ROW_ID = "row_id"
# One-hot width is bounded: rarer levels than the most frequent ones are
# treated like unseen categories (all zeros), which the model already handles.
MAX_CATEGORIES = 100


class InputError(Exception):
    """A problem the user fixes by changing one of the step's inputs."""


def parse_columns(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def clean(frame: pd.DataFrame, target: str, drop: list[str]) -> pd.DataFrame:
    if target not in frame.columns:
        raise InputError(
            f"target column '{target}' is not in the snapshot: pass --target with "
            f"one of {', '.join(frame.columns)}"
        )
    unknown = [name for name in drop if name not in frame.columns]
    if unknown or target in drop:
        bad = ", ".join(unknown) if unknown else target
        raise InputError(
            f"drop_columns names '{bad}', which is not a feature column: "
            f"pass a comma list of {', '.join(c for c in frame.columns if c != target)}"
        )
    if ROW_ID in frame.columns:
        raise InputError(
            f"the snapshot already has a '{ROW_ID}' column: drop or rename it "
            f"(--drop_columns {ROW_ID})"
        )
    frame = frame.drop(columns=drop)
    # row_id is the position in the snapshot, so predictions from two runs on
    # the same snapshot pair up row by row (the gate's paired bootstrap).
    frame.insert(0, ROW_ID, np.arange(len(frame), dtype=np.int64))
    for name in frame.columns:
        if pd.api.types.is_string_dtype(frame[name]):
            stripped = frame[name].str.strip()
            # After stripping, an empty cell carries no value: treat it as null.
            frame[name] = stripped.mask(stripped == "")
    frame = frame[frame[target].notna()].copy()
    frame[target] = frame[target].astype(str)
    # Numeric features are stored as float64: one missing value at serving time
    # must not change a column's type (the model signature declares doubles).
    for name in frame.columns:
        if name not in (ROW_ID, target) and is_numeric(frame[name]):
            frame[name] = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
    return frame.reset_index(drop=True)


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def split(
    frame: pd.DataFrame,
    target: str,
    test_fraction: float,
    valid_fraction: float,
    seed: int,
) -> dict[str, pd.DataFrame]:
    if not (0 < test_fraction < 1 and 0 < valid_fraction < 1):
        raise InputError(
            "test_fraction and valid_fraction must each be between 0 and 1: "
            f"got {test_fraction} and {valid_fraction}"
        )
    if test_fraction + valid_fraction >= 1:
        raise InputError(
            f"test_fraction + valid_fraction = {test_fraction + valid_fraction:g} "
            "leaves no training rows: make their sum less than 1"
        )
    labels = frame[target].to_numpy()
    counts = frame[target].value_counts()
    smallest = int(counts.min())
    need = int(np.ceil(2 / min(test_fraction, valid_fraction)))
    if smallest < need:
        raise InputError(
            f"class '{counts.idxmin()}' of target '{target}' has {smallest} rows, "
            f"too few for a stratified split with these fractions: "
            f"provide at least {need} rows per class or raise the fractions"
        )
    positions = np.arange(len(frame))
    rest, test = train_test_split(
        positions, test_size=test_fraction, stratify=labels, random_state=seed
    )
    # valid_fraction is of the whole table, so rescale it to what remains.
    train, valid = train_test_split(
        rest,
        test_size=valid_fraction / (1 - test_fraction),
        stratify=labels[rest],
        random_state=seed,
    )
    return {
        name: frame.iloc[np.sort(part)].reset_index(drop=True)
        for name, part in (("train", train), ("valid", valid), ("test", test))
    }


def fit_preprocessor(train: pd.DataFrame, target: str, classes: list[str]) -> dict:
    numeric, categorical = [], []
    for name in train.columns:
        if name in (ROW_ID, target):
            continue
        column = train[name]
        if is_numeric(column):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            values = values[~np.isnan(values)]
            # An all-null column still gets usable statistics (imputes to 0).
            median = float(np.median(values)) if values.size else 0.0
            mean = float(values.mean()) if values.size else 0.0
            std = float(values.std()) if values.size else 1.0
            numeric.append({"name": name, "median": median, "mean": mean, "std": std})
        else:
            counts = column.dropna().astype(str).value_counts()
            # Most frequent first, ties by name, so the choice is deterministic.
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            kept = sorted(level for level, _ in ranked[:MAX_CATEGORIES])
            categorical.append({"name": name, "categories": kept})
    if not numeric and not categorical:
        raise InputError(
            f"no feature columns are left besides target '{target}': "
            "drop fewer columns with --drop_columns"
        )
    return {
        "schema": "mlops-actions/preprocessor",
        "version": 1,
        "target": target,
        "classes": classes,
        "numeric": numeric,
        "categorical": categorical,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", required=True, type=Path)
    parser.add_argument("--target", default="sex")
    parser.add_argument("--test_fraction", type=float, default=0.2)
    parser.add_argument("--valid_fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--drop_columns", default="")
    parser.add_argument("--prepared", required=True, type=Path)
    args = parser.parse_args(argv)

    raw = pd.read_parquet(args.snapshot / "data.parquet")
    print(f"read {len(raw)} rows x {len(raw.columns)} columns")
    try:
        frame = clean(raw, args.target, parse_columns(args.drop_columns))
        classes = sorted(frame[args.target].unique())
        if len(classes) != 2:
            shown = ", ".join(classes[:10]) + (", ..." if len(classes) > 10 else "")
            raise InputError(
                f"target '{args.target}' has {len(classes)} classes ({shown}); "
                "pass --target naming a column with exactly 2 classes"
            )
        parts = split(
            frame, args.target, args.test_fraction, args.valid_fraction, args.seed
        )
        spec = fit_preprocessor(parts["train"], args.target, classes)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"kept {len(frame)} rows with a '{args.target}' value "
        f"(dropped {len(raw) - len(frame)}); classes {classes[0]} / {classes[1]}"
    )

    args.prepared.mkdir(parents=True, exist_ok=True)
    for name, part in parts.items():
        part.to_parquet(args.prepared / f"{name}.parquet", index=False)
    (args.prepared / "preprocessor.json").write_text(json.dumps(spec, indent=2) + "\n")
    sizes = ", ".join(f"{name} {len(part)}" for name, part in parts.items())
    print(
        f"split {sizes}; features: {len(spec['numeric'])} numeric, "
        f"{len(spec['categorical'])} categorical"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
