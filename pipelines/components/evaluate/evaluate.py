"""Score the test split with the saved MLflow model and write metrics.json.

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
    "accuracy": "maximize",
    "f1": "maximize",
    "roc_auc": "maximize",
    "log_loss": "minimize",
    "latency_p95_ms": "minimize",
}


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
    truth: pd.Series, predicted: pd.DataFrame, classes: list[str]
) -> dict[str, float]:
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
    body = json.loads(rows.to_json(orient="split", index=False))
    smoke = {
        "schema": "mlops-actions/smoke",
        "version": 1,
        "request": {"dataframe_split": body},
        "expected": {
            "label": [str(label) for label in expected["label"]],
            "probability": [float(p) for p in expected["probability"]],
        },
        "tolerance": 1e-6,
    }
    path.write_text(json.dumps(smoke, indent=2) + "\n")


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

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow.pyfunc

    spec = json.loads((args.prepared / "preprocessor.json").read_text())
    target, classes = spec["target"], spec["classes"]
    test = pd.read_parquet(args.prepared / "test.parquet")
    model = mlflow.pyfunc.load_model(str(args.model))
    schema = model.metadata.get_input_schema()
    names = schema.input_names() if schema is not None else None
    features = test[names] if names else test.drop(columns=[ROW_ID, target])
    print(f"scoring {len(test)} test rows with {len(features.columns)} features")

    predicted = model.predict(features)
    values = quality(test[target], predicted, classes)
    values["latency_p95_ms"] = latency_p95_ms(model, features, args.latency_rows)
    print(", ".join(f"{name} {value:.4f}" for name, value in values.items()))

    args.metrics.mkdir(parents=True, exist_ok=True)
    report = {
        "schema": "mlops-actions/metrics",
        "version": 1,
        "metrics": {name: finite_or_none(value) for name, value in values.items()},
        "rows": int(len(test)),
        "positive_class": classes[1],
        "target": target,
        "directions": DIRECTIONS,
    }
    (args.metrics / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    pd.DataFrame(
        {
            ROW_ID: test[ROW_ID].to_numpy(),
            "label": test[target].to_numpy(),
            "prediction": predicted["label"].to_numpy(),
            "probability": predicted["probability"].to_numpy(dtype=np.float64),
        }
    ).to_parquet(args.metrics / "predictions.parquet", index=False)

    write_smoke(model, features, args.metrics / "smoke.json")

    with tracking("evaluate") as tracker:
        if tracker is not None:
            finite = {k: v for k, v in values.items() if math.isfinite(v)}
            tracker.log_metrics(finite)
    print(f"wrote metrics.json, predictions.parquet and smoke.json -> {args.metrics}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
