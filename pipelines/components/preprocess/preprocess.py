"""Clean a snapshot, split it, and fit the feature preprocessing on train.

Writes ``train.parquet``, ``valid.parquet`` and ``test.parquet`` holding the
cleaned raw features (nulls kept), a stable ``row_id`` and the target, plus
``preprocessor.json``: the task, the classes or the target's scale, and the
statistics the model applies to raw rows. Keeping the splits raw lets the
scorer apply the very same transform at serving time.

The task is ``binary``, ``multiclass`` or ``regression``; ``auto`` (the
default) takes a classification target's class count: 2 is binary, more is
multiclass. Regression is asked for by name, since a numeric column can be
either.
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
TASKS = ("auto", "binary", "multiclass", "regression")


class InputError(Exception):
    """A problem the user fixes by changing one of the step's inputs."""


def parse_columns(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def present_columns(frame: pd.DataFrame, target: str, drop: list[str]) -> list[str]:
    """The columns of ``drop`` the table has; a notice line for each it lacks.

    The pipeline's default (``year``) fits the penguins sample only: another
    table without that column is no reason to stop.
    """
    if target in drop:
        raise InputError(
            f"drop_columns names the target '{target}': pass a comma list of "
            f"{', '.join(c for c in frame.columns if c != target)}"
        )
    for name in drop:
        if name not in frame.columns:
            print(f"notice: drop_columns names '{name}', which the table lacks")
    return [name for name in drop if name in frame.columns]


def clean(
    frame: pd.DataFrame, target: str, drop: list[str], task: str = "binary"
) -> pd.DataFrame:
    if target not in frame.columns:
        raise InputError(
            f"target column '{target}' is not in the snapshot: pass --target with "
            f"one of {', '.join(frame.columns)}"
        )
    drop = present_columns(frame, target, drop)
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
    if task == "regression":
        if not is_numeric(frame[target]):
            raise InputError(
                f"target '{target}' is not numeric, so it cannot be regressed: "
                "pass --task auto (classification) or a numeric --target"
            )
        frame[target] = frame[target].to_numpy(dtype=np.float64)
    else:
        frame[target] = frame[target].astype(str)
    # Numeric features are stored as float64: one missing value at serving time
    # must not change a column's type (the model signature declares doubles).
    for name in frame.columns:
        if name not in (ROW_ID, target) and is_numeric(frame[name]):
            frame[name] = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
    return frame.reset_index(drop=True)


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def resolve_task(task: str, frame: pd.DataFrame, target: str) -> str:
    """The task ``task`` names, ``auto`` resolved from the class count."""
    if task == "regression":
        return task
    classes = sorted(frame[target].unique())
    shown = ", ".join(classes[:10]) + (", ..." if len(classes) > 10 else "")
    if len(classes) < 2:
        raise InputError(
            f"target '{target}' has {len(classes)} class ({shown}): "
            "pass --target naming a column with at least 2 classes"
        )
    found = "binary" if len(classes) == 2 else "multiclass"
    if task not in ("auto", found):
        hint = "exactly 2" if task == "binary" else "more than 2"
        raise InputError(
            f"target '{target}' has {len(classes)} classes ({shown}), so the task "
            f"is {found}, not {task}: pass --task {found} (or auto), or a "
            f"--target with {hint} classes"
        )
    return found


def split(
    frame: pd.DataFrame,
    target: str,
    test_fraction: float,
    valid_fraction: float,
    seed: int,
    stratify: bool = True,
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
    need = int(np.ceil(2 / min(test_fraction, valid_fraction)))
    labels = frame[target].to_numpy()
    if stratify:
        counts = frame[target].value_counts()
        smallest = int(counts.min())
        if smallest < need:
            numeric = pd.to_numeric(frame[target], errors="coerce").notna().all()
            also = " (or --task regression: the target is numeric)" if numeric else ""
            raise InputError(
                f"class '{counts.idxmin()}' of target '{target}' has {smallest} "
                f"rows, too few for a stratified split with these fractions: "
                f"provide at least {need} rows per class or raise the "
                f"fractions{also}"
            )
    elif len(frame) < need:
        raise InputError(
            f"target '{target}' has {len(frame)} rows with a value, too few to "
            f"split with these fractions: provide at least {need} rows"
        )
    positions = np.arange(len(frame))
    rest, test = train_test_split(
        positions,
        test_size=test_fraction,
        stratify=labels if stratify else None,
        random_state=seed,
    )
    # valid_fraction is of the whole table, so rescale it to what remains.
    train, valid = train_test_split(
        rest,
        test_size=valid_fraction / (1 - test_fraction),
        stratify=labels[rest] if stratify else None,
        random_state=seed,
    )
    return {
        name: frame.iloc[np.sort(part)].reset_index(drop=True)
        for name, part in (("train", train), ("valid", valid), ("test", test))
    }


def fit_preprocessor(
    train: pd.DataFrame, target: str, classes: list[str], task: str = "binary"
) -> dict:
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
    spec = {
        "schema": "mlops-actions/preprocessor",
        "version": 1,
        "task": task,
        "target": target,
        "classes": classes,
        "numeric": numeric,
        "categorical": categorical,
    }
    if task == "regression":
        # The network learns the standardised target; the model scales back.
        values = train[target].to_numpy(dtype=np.float64)
        spec["target_scale"] = {
            "mean": float(values.mean()),
            "std": float(values.std()) or 1.0,
        }
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", required=True, type=Path)
    parser.add_argument("--target", default="sex")
    parser.add_argument("--task", default="auto")
    parser.add_argument("--test_fraction", type=float, default=0.2)
    parser.add_argument("--valid_fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--drop_columns", default="")
    parser.add_argument("--prepared", required=True, type=Path)
    args = parser.parse_args(argv)

    raw = pd.read_parquet(args.snapshot / "data.parquet")
    print(f"read {len(raw)} rows x {len(raw.columns)} columns")
    try:
        if args.task not in TASKS:
            raise InputError(
                f"task '{args.task}' is not one of {', '.join(TASKS)}: "
                "pass --task with one of them"
            )
        frame = clean(raw, args.target, parse_columns(args.drop_columns), args.task)
        task = resolve_task(args.task, frame, args.target)
        classes = [] if task == "regression" else sorted(frame[args.target].unique())
        parts = split(
            frame,
            args.target,
            args.test_fraction,
            args.valid_fraction,
            args.seed,
            stratify=task != "regression",
        )
        spec = fit_preprocessor(parts["train"], args.target, classes, task)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    said = "" if args.task == task else " (from the target's classes)"
    what = f"classes {' / '.join(classes)}" if classes else "a numeric target"
    print(
        f"kept {len(frame)} rows with a '{args.target}' value "
        f"(dropped {len(raw) - len(frame)}); task {task}{said}, {what}"
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
