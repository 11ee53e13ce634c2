"""Stand-in for part A's contract helper (issue 11): drop at merge for A's.

Writes the files a pipeline's evaluate step hands the gate, in the
documented forms. Stdlib only at import; pyarrow/pandas are imported inside.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence


def write_metrics(
    folder: str | Path,
    metrics: Mapping[str, float | None],
    *,
    task: str | None = None,
    directions: Mapping[str, str] | None = None,
    rows: int | None = None,
    positive_class: str | None = None,
    target: str | None = None,
) -> Path:
    """``folder/metrics.json`` in the versioned form, written atomically."""
    report: dict[str, Any] = {
        "schema": "mlops-actions/metrics",
        "version": 1,
        "metrics": dict(metrics),
    }
    for key, value in (
        ("task", task),
        ("rows", rows),
        ("positive_class", positive_class),
        ("target", target),
        ("directions", dict(directions) if directions else None),
    ):
        if value is not None:
            report[key] = value
    path = Path(folder) / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".metrics-")
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def write_predictions(
    folder: str | Path,
    *,
    row_id: Sequence[Any],
    label: Sequence[Any],
    prediction: Sequence[Any],
    probability: Sequence[float] | Mapping[str, Sequence[float]] | None = None,
) -> Path:
    """``folder/predictions.parquet`` with the shared columns."""
    import pandas as pd

    columns: dict[str, Any] = {
        "row_id": list(row_id),
        "label": list(label),
        "prediction": list(prediction),
    }
    if isinstance(probability, Mapping):
        for name, values in probability.items():
            columns[f"probability_{name}"] = [float(v) for v in values]
    elif probability is not None:
        columns["probability"] = [float(v) for v in probability]
    path = Path(folder) / "predictions.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(columns).to_parquet(path, index=False)
    return path
