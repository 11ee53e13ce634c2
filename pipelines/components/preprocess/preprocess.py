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

The table is never held whole: see ``windows.py`` (one column, or one window
of rows, at a time).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from windows import NUMERIC, ColumnPlan, Snapshot, clean_column, plan_column
from windows import is_numeric, write_splits

ROW_ID = "row_id"
# One-hot width is bounded: rarer levels than the most frequent ones are
# treated like unseen categories (all zeros), which the model already handles.
MAX_CATEGORIES = 100
TASKS = ("auto", "binary", "multiclass", "regression")


class InputError(Exception):
    """A problem the user fixes by changing one of the step's inputs."""


def parse_columns(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def columns_to_read(columns: list[str], target: str, drop: list[str]) -> list[str]:
    """The snapshot's columns but ``drop``; a notice line for each it lacks.

    The pipeline's default (``year``) fits the penguins sample only: another
    table without that column is no reason to stop.
    """
    if target not in columns:
        raise InputError(
            f"target column '{target}' is not in the snapshot: pass --target with "
            f"one of {', '.join(columns)}"
        )
    if target in drop:
        raise InputError(
            f"drop_columns names the target '{target}': pass a comma list of "
            f"{', '.join(c for c in columns if c != target)}"
        )
    for name in drop:
        if name not in columns:
            print(f"notice: drop_columns names '{name}', which the table lacks")
    if ROW_ID in columns:
        raise InputError(
            f"the snapshot already has a '{ROW_ID}' column: drop or rename it "
            f"(--drop_columns {ROW_ID})"
        )
    return [name for name in columns if name not in drop]


def target_cleaner(task: str) -> Callable[[pd.Series], pd.Series]:
    """The conversion of a (cleaned) target column the task asks for."""

    def convert(column: pd.Series) -> pd.Series:
        if task == "regression":
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            return pd.Series(values, index=column.index, name=column.name)
        return column.astype(str)

    return convert


def read_target(
    snapshot: Snapshot, target: str, task: str
) -> tuple[ColumnPlan, np.ndarray, pd.Series]:
    """The target's plan, the positions of the rows with a value, their labels."""
    column = snapshot.column(target)
    plan = plan_column(column)
    column = clean_column(column, plan)
    if task == "regression" and not is_numeric(column):
        raise InputError(
            f"target '{target}' is not numeric, so it cannot be regressed: "
            "pass --task auto (classification) or a numeric --target"
        )
    # row_id is the position in the snapshot, so predictions from two runs on
    # the same snapshot pair up row by row (the gate's paired bootstrap).
    kept = np.flatnonzero(column.notna().to_numpy())
    labels = target_cleaner(task)(column.iloc[kept].reset_index(drop=True))
    return plan, kept, labels


def resolve_task(task: str, labels: pd.Series, target: str) -> str:
    """The task ``task`` names, ``auto`` resolved from the class count."""
    if task == "regression":
        return task
    classes = sorted(labels.unique())
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


def class_indices(labels: pd.Series) -> np.ndarray:
    """Each label's index among the sorted classes.

    The splitter sorts the classes too, so these stratify exactly as the
    labels would, without an array of millions of Python strings.
    """
    codes, uniques = pd.factorize(labels)
    rank = np.argsort(np.argsort(np.asarray(uniques, dtype=object), kind="stable"))
    return rank[codes]


def split(
    labels: pd.Series,
    target: str,
    test_fraction: float,
    valid_fraction: float,
    seed: int,
    stratify: bool = True,
) -> dict[str, np.ndarray]:
    """Sorted positions into ``labels`` (the rows with a target) per split."""
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
    if stratify:
        counts = labels.value_counts()
        smallest = int(counts.min())
        if smallest < need:
            numeric = pd.to_numeric(labels, errors="coerce").notna().all()
            also = " (or --task regression: the target is numeric)" if numeric else ""
            raise InputError(
                f"class '{counts.idxmin()}' of target '{target}' has {smallest} "
                f"rows, too few for a stratified split with these fractions: "
                f"provide at least {need} rows per class or raise the "
                f"fractions{also}"
            )
    elif len(labels) < need:
        raise InputError(
            f"target '{target}' has {len(labels)} rows with a value, too few to "
            f"split with these fractions: provide at least {need} rows"
        )
    values = class_indices(labels) if stratify else None
    positions = np.arange(len(labels))
    rest, test = train_test_split(
        positions,
        test_size=test_fraction,
        stratify=values,
        random_state=seed,
    )
    # valid_fraction is of the whole table, so rescale it to what remains.
    train, valid = train_test_split(
        rest,
        test_size=valid_fraction / (1 - test_fraction),
        stratify=values[rest] if stratify else None,
        random_state=seed,
    )
    return {
        name: np.sort(part)
        for name, part in (("train", train), ("valid", valid), ("test", test))
    }


def fit_preprocessor(
    snapshot: Snapshot,
    features: list[str],
    train_rows: np.ndarray,
    train_labels: pd.Series,
    classes: list[str],
    task: str = "binary",
) -> tuple[dict, dict[str, ColumnPlan]]:
    """The preprocessor spec, fitted on the train rows one column at a time,
    and each feature's cleaning plan (decided on the whole column)."""
    numeric, categorical, plans = [], [], {}
    for name in features:
        whole = snapshot.column(name)
        plans[name] = plan = plan_column(whole)
        column = clean_column(whole, plan).iloc[train_rows]
        del whole
        if plan.kind == NUMERIC:
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
    target = str(train_labels.name)
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
        values = train_labels.to_numpy(dtype=np.float64)
        spec["target_scale"] = {
            "mean": float(values.mean()),
            "std": float(values.std()) or 1.0,
        }
    return spec, plans


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

    snapshot = Snapshot(args.snapshot)
    print(f"read {snapshot.rows} rows x {len(snapshot.columns)} columns")
    target = args.target
    try:
        if args.task not in TASKS:
            raise InputError(
                f"task '{args.task}' is not one of {', '.join(TASKS)}: "
                "pass --task with one of them"
            )
        columns = columns_to_read(
            snapshot.columns, target, parse_columns(args.drop_columns)
        )
        target_plan, kept, labels = read_target(snapshot, target, args.task)
        task = resolve_task(args.task, labels, target)
        classes = [] if task == "regression" else sorted(labels.unique())
        parts = split(
            labels,
            target,
            args.test_fraction,
            args.valid_fraction,
            args.seed,
            stratify=task != "regression",
        )
        features = [name for name in columns if name != target]
        spec, plans = fit_preprocessor(
            snapshot,
            features,
            kept[parts["train"]],
            labels.iloc[parts["train"]],
            classes,
            task,
        )
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    said = "" if args.task == task else " (from the target's classes)"
    what = f"classes {' / '.join(classes)}" if classes else "a numeric target"
    print(
        f"kept {len(labels)} rows with a '{target}' value "
        f"(dropped {snapshot.rows - len(labels)}); task {task}{said}, {what}"
    )

    args.prepared.mkdir(parents=True, exist_ok=True)
    plans[target] = target_plan
    write_splits(
        snapshot,
        {name: plans[name] for name in columns},
        target_cleaner(task),
        target,
        {name: kept[part] for name, part in parts.items()},
        args.prepared,
        ROW_ID,
    )
    (args.prepared / "preprocessor.json").write_text(json.dumps(spec, indent=2) + "\n")
    sizes = ", ".join(f"{name} {len(part)}" for name, part in parts.items())
    print(
        f"split {sizes}; features: {len(spec['numeric'])} numeric, "
        f"{len(spec['categorical'])} categorical"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
