"""Tasks (binary, multiclass, regression) and the metrics whose direction is known.

A metric's name is looked up case-blind, ``-`` read as ``_``, and through its
common spellings (scikit-learn's and MLflow's: ``f1_macro``, ``r2_score``,
``root_mean_squared_error``), so ``RMSE`` and ``rmse`` are the same metric.
scikit-learn's ``neg_*`` scorers (``neg_root_mean_squared_error``) are negated
losses: higher is better.

A task is declared in ``gate.yml`` (``task:``) or inferred from the candidate's
``predictions.parquet`` by :func:`infer_task`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[Task, ...] = ("binary", "multiclass", "regression")

#: canonical name -> direction
DIRECTIONS = {
    "accuracy": "maximize",
    "balanced_accuracy": "maximize",
    "f1": "maximize",
    "macro_f1": "maximize",
    "micro_f1": "maximize",
    "weighted_f1": "maximize",
    "precision": "maximize",
    "recall": "maximize",
    "roc_auc": "maximize",
    "log_loss": "minimize",
    "latency_p95_ms": "minimize",
    "mse": "minimize",
    "rmse": "minimize",
    "mae": "minimize",
    "mape": "minimize",
    "r2": "maximize",
}
#: other spellings -> canonical name
ALIASES = {
    "accuracy_score": "accuracy",
    "balanced_accuracy_score": "balanced_accuracy",
    "f1_score": "f1",
    "f1_macro": "macro_f1",
    "f1_micro": "micro_f1",
    "f1_weighted": "weighted_f1",
    "precision_score": "precision",
    "recall_score": "recall",
    "roc_auc_score": "roc_auc",
    "auc": "roc_auc",
    "logloss": "log_loss",
    "cross_entropy": "log_loss",
    "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse",
    "mean_absolute_error": "mae",
    "mean_absolute_percentage_error": "mape",
    "r2_score": "r2",
    "r_squared": "r2",
}
#: scikit-learn's negated losses: higher is better
_NEGATED = {
    f"neg_{name}"
    for name in (
        "log_loss",
        "mean_squared_error",
        "root_mean_squared_error",
        "mean_absolute_error",
        "mean_absolute_percentage_error",
        "mse",
        "rmse",
        "mae",
        "mape",
    )
}

#: what the paired bootstrap can resample, per task (canonical names)
BOOTSTRAP_BY_TASK: dict[str, tuple[str, ...]] = {
    "binary": (
        "accuracy",
        "f1",
        "precision",
        "recall",
        "log_loss",
        "balanced_accuracy",
        "macro_f1",
        "micro_f1",
        "weighted_f1",
    ),
    "multiclass": (
        "accuracy",
        "balanced_accuracy",
        "macro_f1",
        "micro_f1",
        "weighted_f1",
        "log_loss",
    ),
    "regression": ("mse", "rmse", "mae", "mape", "r2"),
}

# Labels this numeric and this varied are a quantity, not classes.
_MAX_CLASSES = 20


def canonical(name: str) -> str:
    """The metric's canonical name (``f1_macro`` -> ``macro_f1``), or itself."""
    key = name.strip().lower().replace("-", "_")
    return ALIASES.get(key, key)


def known_direction(name: str) -> str | None:
    """maximize or minimize for a metric whose direction is not a matter of
    taste, else None."""
    key = name.strip().lower().replace("-", "_")
    if key in _NEGATED:
        return "maximize"
    return DIRECTIONS.get(canonical(name))


def tasks_of(name: str) -> tuple[str, ...]:
    """The tasks whose bootstrap can resample ``name`` (empty: none)."""
    metric = canonical(name)
    return tuple(task for task in TASKS if metric in BOOTSTRAP_BY_TASK[task])


def infer_task(frame: pd.DataFrame) -> tuple[Task, str]:
    """(task, why) from ``predictions.parquet``'s ``label`` column.

    Float labels with fractional values, or numeric labels with more than 20
    distinct values, are regression; more than two classes are multiclass; the
    rest is binary.
    """
    import pandas as pd

    labels = frame["label"]
    distinct = pd.unique(labels.dropna())
    numeric = pd.api.types.is_numeric_dtype(labels) and not (
        pd.api.types.is_bool_dtype(labels)
    )
    if numeric:
        fractional = pd.api.types.is_float_dtype(labels) and bool(
            (labels.dropna() % 1 != 0).any()
        )
        if fractional or len(distinct) > _MAX_CLASSES:
            kind = "fractional" if fractional else "numeric"
            return "regression", f"{len(distinct)} distinct {kind} labels"
    shown = ", ".join(repr(_plain(v)) for v in sorted(distinct, key=str)[:5])
    more = ", ..." if len(distinct) > 5 else ""
    task: Task = "multiclass" if len(distinct) > 2 else "binary"
    return task, f"{len(distinct)} classes: {shown}{more}"


def _plain(value: object) -> object:
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def resolve_task(
    declared: Task | None, predictions: pd.DataFrame, *, written: str | None = None
) -> tuple[Task, str]:
    """(task, where it comes from): ``gate.yml``'s ``task``, else the one the
    candidate's metrics.json declares (``written``), else inferred from the
    candidate's predictions."""
    if declared is not None:
        return declared, "declared in gate.yml"
    if written in TASKS:
        return written, "declared in metrics.json"
    task, why = infer_task(predictions)
    return task, f"inferred from predictions.parquet: {why}"


def task_refusal(primary: str, task: str, source: str) -> str | None:
    """Why the bootstrap cannot resample ``primary`` for ``task``, or None."""
    if canonical(primary) in BOOTSTRAP_BY_TASK[task]:
        return None
    fits = [other for other in tasks_of(primary) if other != task]
    fix = f"set `task: {fits[0]}` in gate.yml" if fits else "choose another primary"
    return (
        f"task: {task} ({source}): the paired bootstrap cannot resample "
        f"{primary} for a {task} task: {fix}"
    )
