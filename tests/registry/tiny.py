"""A tiny MLflow pyfunc model, its evaluation folder and a fake pipeline run.

Saving one takes a fraction of a second, where training the reference pipeline
takes a minute: registry tests need a real MLflow model folder, not a good one.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

MODULE = "mlops_tiny_model"
SOURCE = '''
import mlflow.pyfunc


class Scale(mlflow.pyfunc.PythonModel):
    """Multiplies its input by a factor fixed when saved."""

    def __init__(self, factor):
        self.factor = factor

    def predict(self, context, model_input, params=None):
        return model_input * self.factor
'''


def save_model(folder: Path, factor: float) -> Path:
    """An MLflow pyfunc model folder whose predictions are input * factor.

    The class lives in a module written beside it and shipped with
    ``code_paths``, so the model loads in any process.
    """
    import mlflow.pyfunc

    code = folder.parent / f"{MODULE}.py"
    if not code.exists():
        code.write_text(SOURCE)
    if str(folder.parent) not in sys.path:
        sys.path.insert(0, str(folder.parent))
    module = sys.modules.get(MODULE) or importlib.import_module(MODULE)
    mlflow.pyfunc.save_model(
        str(folder),
        python_model=module.Scale(factor),
        code_paths=[str(code)],
        # explicit: inferring requirements costs seconds per model
        pip_requirements=["mlflow"],
    )
    return folder


def write_evaluation(folder: Path, metrics: dict[str, float]) -> Path:
    """An evaluate step's output folder: metrics.json + predictions.parquet."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    report = {"schema": "mlops-actions/metrics", "version": 1, "metrics": metrics}
    (folder / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    pd.DataFrame(
        {"row_id": [0, 1, 2], "label": [0, 1, 1], "prediction": [0, 1, 0]}
    ).to_parquet(folder / "predictions.parquet", index=False)
    return folder


def write_run(
    state: Path,
    run_id: str,
    model_dir: Path,
    metrics_dir: Path | None,
    status: str = "completed",
) -> Path:
    """``<state>/runs/<run_id>/run.json`` as ``mlops pipeline run`` leaves it."""
    folder = state / "runs" / run_id
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {"model": str(model_dir)}
    if metrics_dir is not None:
        outputs["metrics"] = str(metrics_dir)
    record = {
        "schema": "mlops-actions/pipeline-run",
        "version": 1,
        "run_id": run_id,
        "pipeline": "tiny",
        "file": "pipeline.yml",
        "folder": str(folder),
        "status": status,
        "inputs": {},
        "outputs": outputs if status == "completed" else {},
        "metrics": {},
        "steps": [],
    }
    (folder / "run.json").write_text(json.dumps(record, indent=2))
    return folder / "run.json"
