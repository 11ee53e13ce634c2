"""Score the test split with the saved MLflow model and write metrics.json.

The metrics follow the task in ``preprocessor.json``: accuracy, f1, roc_auc
and log_loss (binary); accuracy, macro_f1, weighted_f1, log_loss and
balanced_accuracy (multiclass); rmse, mae, r2 and mape (regression); and
latency_p95_ms for all. The files are written with ``mlops_actions.contract``
(stdlib only; on Azure ML the component ships the package beside this file
through ``additional_includes``).

The model is loaded the way the scorer loads it (``mlflow.pyfunc.load_model``)
and fed raw rows, so the metrics cover the serving path: signature checks,
transform and network. ``predictions.parquet`` keeps one row per test row for
the gate's paired comparison of a candidate against the champion.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
from sklearn import metrics as skm

ROW_ID = "row_id"
WARMUP_CALLS = 5
# Test rows sent by the deploy smoke test, after the model's input example.
SMOKE_ROWS = 5
DIRECTIONS = {
    "binary": {
        "accuracy": "maximize",
        "f1": "maximize",
        "roc_auc": "maximize",
        "log_loss": "minimize",
    },
    "multiclass": {
        "accuracy": "maximize",
        "macro_f1": "maximize",
        "weighted_f1": "maximize",
        "log_loss": "minimize",
        "balanced_accuracy": "maximize",
    },
    "regression": {
        "rmse": "minimize",
        "mae": "minimize",
        "r2": "maximize",
        "mape": "minimize",
    },
}
LATENCY = {"latency_p95_ms": "minimize"}


@contextlib.contextmanager
def tracking(step: str) -> Iterator[Any]:
    """Yield the mlflow module inside a run, or None when tracking is off."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        print("MLFLOW_TRACKING_URI is not set: metrics are not tracked")
        yield None
        return
    import mlflow

    tags = {"mlops.step": os.environ.get("MLOPS_STEP", step)}
    if os.environ.get("MLOPS_PIPELINE_RUN_ID"):
        tags["mlops.pipeline_run"] = os.environ["MLOPS_PIPELINE_RUN_ID"]
    with mlflow.start_run(run_name=tags["mlops.step"], tags=tags):
        yield mlflow


def quality(
    truth: pd.Series, predicted: pd.DataFrame, classes: list[str], task: str = "binary"
) -> dict[str, float]:
    if task == "multiclass":
        return multiclass_quality(truth, predicted, classes)
    if task == "regression":
        return regression_quality(truth, predicted)
    positive = classes[1]
    y_true = (truth == positive).to_numpy(dtype=int)
    probability = predicted["probability"].to_numpy(dtype=np.float64)
    # AUC is undefined on a one-class test set; report it as missing (null in
    # JSON), which the gate treats as a failure rather than a pass.
    two_classes = len(np.unique(y_true)) == 2
    result = {
        "accuracy": skm.accuracy_score(truth, predicted["label"]),
        "f1": skm.f1_score(truth, predicted["label"], pos_label=positive),
        "roc_auc": skm.roc_auc_score(y_true, probability) if two_classes else math.nan,
        "log_loss": skm.log_loss(y_true, probability, labels=[0, 1]),
    }
    return {name: float(value) for name, value in result.items()}


def multiclass_quality(
    truth: pd.Series, predicted: pd.DataFrame, classes: list[str]
) -> dict[str, float]:
    label = predicted["label"].astype(str)
    probability = predicted[[f"probability_{name}" for name in classes]]
    result = {
        "accuracy": skm.accuracy_score(truth, label),
        "macro_f1": skm.f1_score(truth, label, labels=classes, average="macro"),
        "weighted_f1": skm.f1_score(truth, label, labels=classes, average="weighted"),
        "log_loss": skm.log_loss(
            truth, probability.to_numpy(dtype=np.float64), labels=classes
        ),
        "balanced_accuracy": skm.balanced_accuracy_score(truth, label),
    }
    return {name: float(value) for name, value in result.items()}


def regression_quality(truth: pd.Series, predicted: pd.DataFrame) -> dict[str, float]:
    y_true = truth.to_numpy(dtype=np.float64)
    y_pred = predicted["prediction"].to_numpy(dtype=np.float64)
    # MAPE is undefined when a true value is 0: missing (null), not a pass.
    has_zero = bool((y_true == 0).any())
    result = {
        "rmse": math.sqrt(skm.mean_squared_error(y_true, y_pred)),
        "mae": skm.mean_absolute_error(y_true, y_pred),
        "r2": skm.r2_score(y_true, y_pred) if len(y_true) > 1 else math.nan,
        "mape": (
            math.nan if has_zero else skm.mean_absolute_percentage_error(y_true, y_pred)
        ),
    }
    return {name: float(value) for name, value in result.items()}


def write_predictions(
    contract: Any,
    folder: Path,
    test: pd.DataFrame,
    target: str,
    predicted: pd.DataFrame,
    task: str,
    classes: list[str],
) -> None:
    probability: Any = None
    if task == "binary":
        probability = predicted["probability"].to_numpy(dtype=np.float64)
    elif task == "multiclass":
        probability = {
            name: predicted[f"probability_{name}"].to_numpy(dtype=np.float64)
            for name in classes
        }
    column = "prediction" if task == "regression" else "label"
    contract.write_predictions(
        folder,
        row_id=test[ROW_ID].to_numpy(),
        label=test[target].to_numpy(),
        prediction=predicted[column].to_numpy(),
        probability=probability,
    )


def latency_p95_ms(model: Any, features: pd.DataFrame, calls: int) -> float:
    # One-row frames, as the scorer sees single requests; the warm-ups keep
    # first-call costs (lazy imports, allocator growth) out of the percentile.
    rows = [features.iloc[[i % len(features)]] for i in range(calls + WARMUP_CALLS)]
    for row in rows[:WARMUP_CALLS]:
        model.predict(row)
    timings = []
    for row in rows[WARMUP_CALLS:]:
        started = time.perf_counter()
        model.predict(row)
        timings.append(time.perf_counter() - started)
    return float(np.percentile(timings, 95) * 1000)


def write_smoke(model: Any, features: pd.DataFrame, path: Path) -> None:
    """A request and the answer this model gave to it, for deploy smoke tests.

    The rows are the model's input example and a few test rows, sent in
    MLflow's ``dataframe_split`` form; a deployed scorer must answer the same.
    """
    example = getattr(model, "input_example", None)
    rows = features.head(SMOKE_ROWS)
    if isinstance(example, pd.DataFrame) and set(example.columns) <= set(rows.columns):
        rows = pd.concat([example[rows.columns], rows], ignore_index=True)
    expected = model.predict(rows)
    # 15 digits: the request's numbers are those predict saw, within 1e-15.
    body = json.loads(rows.to_json(orient="split", index=False, double_precision=15))
    # The answer as the scorer gives it (README "Smoke test"): one record per
    # row, every column the model returns, with the same Python values
    # (numbers compared within the tolerance, labels exactly).
    answers = {"predictions": _records(expected)}
    smoke = {
        "schema": "mlops-actions/smoke",
        "version": 1,
        "request": {"dataframe_split": body},
        "expected": answers,
        "tolerance": 1e-6,
    }
    path.write_text(json.dumps(smoke, indent=2) + "\n")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame`` as MLflow's scoring protocol answers it: one record per row."""
    columns = {str(name): frame[name].tolist() for name in frame.columns}
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--prepared", required=True, type=Path)
    parser.add_argument("--latency_rows", type=int, default=200)
    parser.add_argument("--metrics", required=True, type=Path)
    args = parser.parse_args(argv)
    if args.latency_rows < 1:
        print(
            f"error: latency_rows must be at least 1: got {args.latency_rows}",
            file=sys.stderr,
        )
        return 2

    try:
        from mlops_actions import contract
    except ImportError:
        print(
            "error: evaluate writes its files with mlops_actions.contract: "
            "install mlops-actions in the step's environment (pip install "
            "path/to/mlops-actions), or run with --env host",
            file=sys.stderr,
        )
        return 4
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow.pyfunc

    spec = json.loads((args.prepared / "preprocessor.json").read_text())
    target, classes = spec["target"], spec["classes"]
    task = spec.get("task", "binary")
    test = pd.read_parquet(args.prepared / "test.parquet")
    model = mlflow.pyfunc.load_model(str(args.model))
    schema = model.metadata.get_input_schema()
    names = schema.input_names() if schema is not None else None
    features = test[names] if names else test.drop(columns=[ROW_ID, target])
    print(
        f"scoring {len(test)} test rows with {len(features.columns)} features "
        f"(task {task})"
    )

    predicted = model.predict(features)
    values = quality(test[target], predicted, classes, task)
    values["latency_p95_ms"] = latency_p95_ms(model, features, args.latency_rows)
    print(", ".join(f"{name} {value:.4f}" for name, value in values.items()))

    args.metrics.mkdir(parents=True, exist_ok=True)
    contract.write_metrics(
        args.metrics,
        {name: finite_or_none(value) for name, value in values.items()},
        task=task,
        directions={**DIRECTIONS[task], **LATENCY},
        rows=int(len(test)),
        positive_class=classes[1] if task == "binary" else None,
        target=target,
    )
    write_predictions(contract, args.metrics, test, target, predicted, task, classes)

    write_smoke(model, features, args.metrics / "smoke.json")

    with tracking("evaluate") as tracker:
        if tracker is not None:
            finite = {k: v for k, v in values.items() if math.isfinite(v)}
            tracker.log_metrics(finite)
    print(f"wrote metrics.json, predictions.parquet and smoke.json -> {args.metrics}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
