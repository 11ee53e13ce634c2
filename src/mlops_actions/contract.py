"""Write the files the gate reads, from your own evaluate step.

A component imports this and nothing heavy comes with it: only the standard
library at import time; pyarrow is imported when predictions are written::

    from mlops_actions.contract import write_metrics, write_predictions

    write_metrics(out, {"rmse": 3.2, "mae": 2.1}, task="regression", rows=len(y))
    write_predictions(out, row_id=ids, label=y, prediction=y_hat)

``metrics.json`` is written in the versioned form (schema
``mlops-actions/metrics``, version 1) and ``predictions.parquet`` with the
columns ``row_id``, ``label``, ``prediction`` and, for a classifier, the
probabilities (``probability`` for a binary task, ``probability_<class>``
per class for a multiclass one). Both are written atomically: a reader sees
the old file or the whole new one. Bad input is a ``ValueError`` or
``TypeError`` naming the argument, before anything is written.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlops_actions.jsonio import write_json

METRICS_SCHEMA = "mlops-actions/metrics"
TASKS = ("binary", "multiclass", "regression")
DIRECTIONS = ("maximize", "minimize")
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.parquet"


def write_metrics(
    folder: Path | str,
    metrics: Mapping[str, float],
    *,
    task: str | None = None,
    directions: Mapping[str, str] | None = None,
    rows: int | None = None,
    positive_class: Any = None,
    target: str | None = None,
) -> Path:
    """Write ``folder/metrics.json``; returns its path.

    ``metrics`` maps each name to a number (a NaN or infinite value is written
    as null, which the gate refuses, as it should); ``task`` is one of
    binary, multiclass, regression; ``directions`` maps a metric to maximize
    or minimize (the gate refuses a rule that says the opposite).
    """
    values = {}
    for name, value in dict(metrics).items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"metrics: a metric name must be a text, got {name!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            number = _number(value)
            if number is None:
                raise TypeError(
                    f"metrics[{name!r}]: must be a number, got "
                    f"{type(value).__name__} {value!r}"
                )
            value = number
        values[name] = value if math.isfinite(value) else None
    if task is not None and task not in TASKS:
        raise ValueError(f"task: must be one of {', '.join(TASKS)}, got {task!r}")
    for name, direction in dict(directions or {}).items():
        if direction not in DIRECTIONS:
            raise ValueError(
                f"directions[{name!r}]: must be maximize or minimize, "
                f"got {direction!r}"
            )
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int)):
        raise TypeError(f"rows: must be a whole number, got {rows!r}")
    body = {
        "schema": METRICS_SCHEMA,
        "version": 1,
        "metrics": values,
        "task": task,
        "directions": dict(directions or {}),
        "rows": rows,
        "positive_class": _plain(positive_class),
        "target": target,
    }
    path = Path(folder) / METRICS_FILE
    write_json(path, body)
    return path


def write_predictions(
    folder: Path | str,
    *,
    row_id: Sequence[Any],
    label: Sequence[Any],
    prediction: Sequence[Any],
    probability: Sequence[float] | Mapping[Any, Sequence[float]] | None = None,
) -> Path:
    """Write ``folder/predictions.parquet``, one row per evaluated row;
    returns its path.

    ``row_id`` identifies a row of the evaluation set (unique: the paired
    bootstrap matches the champion's rows to the candidate's by it).
    ``probability`` is None (regression), a sequence (binary: of the positive
    class) or a mapping from class to a sequence (multiclass: written as
    ``probability_<class>`` columns). Lists, tuples, numpy arrays and pandas
    Series all work.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, list[Any]] = {
        "row_id": _column("row_id", row_id),
        "label": _column("label", label),
        "prediction": _column("prediction", prediction),
    }
    if isinstance(probability, Mapping):
        if not probability:
            raise ValueError("probability: the mapping names no class")
        for klass, values in probability.items():
            columns[f"probability_{klass}"] = _column(
                f"probability[{klass!r}]", values, numeric=True
            )
    elif probability is not None:
        columns["probability"] = _column("probability", probability, numeric=True)
    rows = len(columns["row_id"])
    for name, values in columns.items():
        if len(values) != rows:
            raise ValueError(
                f"{name}: {len(values)} values, but row_id has {rows}: give one "
                "per evaluated row"
            )
    if len(set(map(repr, columns["row_id"]))) != rows:
        raise ValueError("row_id: the ids repeat: give each evaluated row its own id")
    table = pa.table({name: pa.array(values) for name, values in columns.items()})
    path = Path(folder) / PREDICTIONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _column(name: str, values: Any, *, numeric: bool = False) -> list[Any]:
    """``values`` as a list of plain Python values (numpy scalars unwrapped)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name}: must be a sequence of values, got {values!r}")
    plain = [
        _plain(value)
        for value in (values.tolist() if hasattr(values, "tolist") else values)
    ]
    if numeric:
        for value in plain:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name}: must hold numbers, got {value!r}")
        return [float(value) for value in plain]
    return plain


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds; anything else as is."""
    if (
        hasattr(value, "item")
        and callable(value.item)
        and not isinstance(value, (list, tuple, dict))
    ):
        try:
            return value.item()
        except (TypeError, ValueError):
            return value
    return value


def _number(value: Any) -> float | None:
    """A numpy number as a float; None for anything that is not a number."""
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
