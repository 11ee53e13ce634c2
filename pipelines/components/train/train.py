"""Train the tabular MLP on prepared splits and save it as an MLflow model.

The task (binary, multiclass or regression) comes from ``preprocessor.json``
and picks the network's head and loss. Params and per-epoch train_loss /
valid_loss / valid_accuracy (valid_rmse for regression) go to MLflow when
MLFLOW_TRACKING_URI is set. The model is written with
``mlflow.pyfunc.save_model`` (not logged: Azure ML does not accept MLflow 3
``log_model``), so the step's output folder is the model.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import torch

import tabular_model

ROW_ID = "row_id"
# The batch size "auto" picks: at least AUTO_STEPS_PER_EPOCH optimisation steps
# per epoch, between AUTO_MIN_BATCH and AUTO_MAX_BATCH rows per step. On a CPU
# a batch of 64 rows is bound by each step's fixed cost (an epoch of 120k rows:
# about 1.6 s at 64, 0.2 s at 1024, issue 12), while the best validation loss
# at equal epochs stayed within 0.004 of batch 64's at 187 to 2048 rows per step
# (synthetic tables of 20k and 200k rows, same learning rate). Small tables
# keep 64 rows per step: the bundled penguins sample trains as before. CUDA
# takes the same rule; a larger batch there is asked for by number (the GPU
# benchmark passes 8192).
AUTO_STEPS_PER_EPOCH = 64
AUTO_MIN_BATCH = 64
AUTO_MAX_BATCH = 1024
# The model needs these at load time; mlflow may be installed as mlflow-skinny
# (the Azure ML environments do, as azureml-mlflow caps it). Not torch: the
# pyfunc serves from weights.npz in numpy, and the scorer image stays small.
PINNED = (
    ("pandas",),
    ("numpy",),
    ("mlflow", "mlflow-skinny"),
    ("cloudpickle",),
)


class InputError(Exception):
    """A problem the user fixes by changing one of the step's inputs."""


def parse_hidden_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        sizes = [0]
    if any(size < 1 for size in sizes):
        raise InputError(
            f"hidden_sizes '{text}' is not a comma list of positive integers: "
            "pass e.g. --hidden_sizes 64,32 (or '' for a linear model)"
        )
    return sizes


def parse_batch_size(text: str) -> int | None:
    """The rows per step ``--batch_size`` asks for; None for ``auto``."""
    if text.strip().lower() == "auto":
        return None
    try:
        size = int(text)
    except ValueError:
        size = 0
    if size < 1:
        raise InputError(
            f"batch_size must be auto or an integer of at least 1: got {text!r}"
        )
    return size


def auto_batch_size(rows: int) -> int:
    """Rows per step for ``--batch_size auto`` on a training split of ``rows``."""
    return max(AUTO_MIN_BATCH, min(AUTO_MAX_BATCH, rows // AUTO_STEPS_PER_EPOCH))


def check_args(args: argparse.Namespace) -> None:
    if args.epochs < 1:
        raise InputError(f"epochs must be at least 1: got {args.epochs}")
    if not args.learning_rate > 0:
        raise InputError(f"learning_rate must be positive: got {args.learning_rate}")
    if args.weight_decay < 0:
        raise InputError(f"weight_decay must be >= 0: got {args.weight_decay}")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise InputError(
            "device 'cuda' was asked for but no CUDA device is visible: "
            "pass --device auto or --device cpu"
        )


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


def requirements() -> list[str]:
    # Exact pins, without local tags such as "+cpu": the same model then
    # installs the CUDA or CPU build of the same torch release.
    pins = []
    for names in PINNED:
        for name in names:
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
            pins.append(f"{name}=={version.split('+')[0]}")
            break
    return pins


def targets(split: pd.DataFrame, spec: dict) -> np.ndarray:
    """The split's target as the network learns it, for the spec's task."""
    values = split[spec["target"]]
    task = tabular_model.task_of(spec)
    if task == "regression":
        scale = spec["target_scale"]
        standard = (values.to_numpy(dtype=np.float64) - scale["mean"]) / scale["std"]
        return standard.astype(np.float32)
    if task == "multiclass":
        codes = pd.Index(spec["classes"]).get_indexer(values.astype(str))
        return codes.astype(np.int64)
    return (values == spec["classes"][1]).to_numpy(dtype=np.float32)


def save_model(
    module: torch.nn.Module,
    spec: dict,
    hidden_sizes: list[int],
    train_features: pd.DataFrame,
    output: Path,
    extra: dict,
) -> None:
    import mlflow
    from mlflow.models import infer_signature
    from mlflow.types import ColSpec, Schema

    with tempfile.TemporaryDirectory(prefix="mlops-train-") as tmp:
        staging = Path(tmp)
        (staging / "preprocessor.json").write_text(json.dumps(spec, indent=2))
        tabular_model.save_weights(module, hidden_sizes, str(staging / "weights.pt"))
        tabular_model.export_weights(module, str(staging / "weights.npz"))
        python_model = tabular_model.TabularClassifier()

        # Every feature may be null or absent at serving time (the transform
        # imputes it), and an integer column turns float64 once a null comes
        # in: declare numeric features as double and all features optional.
        numeric = {c["name"] for c in spec["numeric"]}
        as_double = {name: "float64" for name in numeric}
        # MLflow writes a missing value of the example as a bare NaN, which is
        # no JSON: show complete rows where the data has any.
        complete = train_features.dropna()
        rows = complete if len(complete) else train_features
        example = rows.head(3).astype(as_double)
        sample = train_features.head(1000).astype(as_double)
        signature = infer_signature(sample, predict_sample(module, spec, sample))
        signature.inputs = Schema(
            [
                ColSpec(col.type, col.name, required=False)
                for col in signature.inputs.inputs
            ]
        )
        model_dir = staging / "model"
        mlflow.pyfunc.save_model(
            path=str(model_dir),
            python_model=python_model,
            artifacts={
                "preprocessor": str(staging / "preprocessor.json"),
                "weights": str(staging / "weights.pt"),
                "weights_numpy": str(staging / "weights.npz"),
            },
            code_paths=[tabular_model.__file__],
            signature=signature,
            input_example=example,
            pip_requirements=requirements(),
        )
        (model_dir / "training.json").write_text(json.dumps(extra, indent=2) + "\n")
        # The runner (and Azure ML) hands us an existing, empty output folder;
        # save_model refuses existing paths, so build aside and move in.
        output.mkdir(parents=True, exist_ok=True)
        for entry in model_dir.iterdir():
            target = output / entry.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            shutil.move(str(entry), str(target))


def predict_sample(module: torch.nn.Module, spec: dict, rows: pd.DataFrame) -> Any:
    model = tabular_model.TabularClassifier()
    model.spec, model.layers = spec, tabular_model.numpy_layers(module)
    return model.predict(None, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepared", required=True, type=Path)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--learning_rate", type=float, default=0.003)
    parser.add_argument("--batch_size", default="auto")
    parser.add_argument("--hidden_sizes", default="64,32")
    parser.add_argument("--weight_decay", type=float, default=0.0001)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--model", required=True, type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        hidden_sizes = parse_hidden_sizes(args.hidden_sizes)
        asked_batch = parse_batch_size(args.batch_size)
        check_args(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    spec = json.loads((args.prepared / "preprocessor.json").read_text())
    task = tabular_model.task_of(spec)
    names = tabular_model.feature_names(spec)
    train = pd.read_parquet(args.prepared / "train.parquet")
    valid = pd.read_parquet(args.prepared / "valid.parquet")
    X_train = tabular_model.transform(train[names], spec)
    X_valid = tabular_model.transform(valid[names], spec)
    y_train, y_valid = targets(train, spec), targets(valid, spec)
    device = tabular_model.resolve_device(args.device)
    batch_size = asked_batch or auto_batch_size(len(X_train))
    print(
        f"train {X_train.shape[0]} rows, valid {X_valid.shape[0]} rows, "
        f"{X_train.shape[1]} inputs; task {task}; hidden {hidden_sizes}; "
        f"device {device}; batch {batch_size}{'' if asked_batch else ' (auto)'}"
    )

    params = {k: v for k, v in vars(args).items() if k not in ("prepared", "model")}
    params["batch_size_resolved"] = batch_size
    every = max(1, args.epochs // 10)
    with tracking("train") as mlflow:
        if mlflow is not None:
            mlflow.log_params({**params, "device_resolved": str(device)})

        def on_epoch(record: dict[str, float]) -> None:
            epoch = int(record["epoch"])
            if mlflow is not None:
                values = {k: v for k, v in record.items() if k != "epoch"}
                mlflow.log_metrics(values, step=epoch)
            if epoch == 1 or epoch % every == 0 or epoch == args.epochs:
                shown = " ".join(
                    f"{name} {value:.4f}"
                    for name, value in record.items()
                    if name != "epoch"
                )
                print(f"epoch {epoch:>4}/{args.epochs}: {shown}")

        module, history, stats = tabular_model.fit(
            X_train,
            y_train,
            X_valid,
            y_valid,
            hidden_sizes=hidden_sizes,
            epochs=args.epochs,
            batch_size=batch_size,
            learning_rate=args.learning_rate,
            weight_decay=args.weight_decay,
            seed=args.seed,
            device=str(device),
            on_epoch=on_epoch,
            task=task,
            n_classes=len(spec["classes"]) or None,
            target_std=spec.get("target_scale", {}).get("std", 1.0),
        )
        print(
            f"best epoch {stats['best_epoch']} (valid_loss "
            f"{stats['best_valid_loss']:.4f}); {stats['samples_per_second']:.0f} "
            f"samples/s over {stats['seconds']:.2f} s"
        )
        if mlflow is not None:
            mlflow.log_metrics(
                {
                    "best_epoch": stats["best_epoch"],
                    "best_valid_loss": stats["best_valid_loss"],
                    "samples_per_second": stats["samples_per_second"],
                    "train_seconds": stats["seconds"],
                }
            )
        extra = {
            "schema": "mlops-actions/training",
            "version": 1,
            "params": params,
            "stats": stats,
            "history": history,
        }
        save_model(module, spec, hidden_sizes, train[names], args.model, extra)
    print(f"saved MLflow model -> {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
