"""Metrics of many resamples at once, from what a resample is summed into.

Two shapes of resample, both vectorized over resamples (axis 0):

* class counts, for labels: ``drawn[r, j]`` is how often resample ``r`` drew
  rows of joint cell ``j`` (true class, candidate's class, champion's class).
  :func:`class_improvement` turns them into both models' confusion matrices
  and scores accuracy, micro/macro/weighted F1 and balanced accuracy as
  scikit-learn scores them on those rows (a class absent from a resample
  scores 0 where scikit-learn's ``zero_division`` default gives 0; macro F1
  averages over the classes that model's full-data ``f1_score`` would see: the
  true classes and its own predictions).
* row means, for per-row quantities: :func:`mean_columns` gives each row's
  columns, ``means[r]`` their mean over resample ``r``'s rows, and
  :func:`mean_improvement` the metric: mse, mae and mape are means of per-row
  errors, rmse the square root of each model's resampled mse, r2
  ``1 - mse / variance`` with the resample's own variance of the labels (so
  the difference is ``(mse_b - mse_c) / variance``, one column fewer; a
  resample whose labels are all equal, possible only with a handful of rows,
  scores 0 there, where scikit-learn would give each model 1 or 0).

Either answers candidate minus champion, in the metric's units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

CLASS_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "micro_f1", "weighted_f1")
MEAN_METRICS = ("mse", "rmse", "mae", "mape", "r2")


def joint_cells(
    truth: np.ndarray, candidate: np.ndarray, champion: np.ndarray, classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cells, counts, row_cell): the observed joint cells (sorted), how many
    rows each holds, and each row's index into ``cells``."""
    import numpy as np

    code = (truth.astype(np.int64) * classes + candidate) * classes + champion
    cells, row_cell, counts = np.unique(code, return_inverse=True, return_counts=True)
    return cells, counts, row_cell.reshape(-1)


def class_improvement(
    metric: str,
    drawn: np.ndarray,
    cells: np.ndarray,
    classes: int,
    labels: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Candidate minus champion ``metric`` for each row of ``drawn`` (resamples x
    cells); ``labels`` masks, per model, the classes its macro F1 averages."""
    import numpy as np

    truth = cells // (classes * classes)
    scores = []
    for model, predicted in enumerate((cells // classes % classes, cells % classes)):
        confusion = _confusion(drawn, truth * classes + predicted, classes)
        scores.append(_class_score(metric, confusion, labels[model]))
    return np.asarray(scores[0] - scores[1], dtype=np.float64)


def _confusion(drawn: np.ndarray, pair: np.ndarray, classes: int) -> np.ndarray:
    """(resamples, true, predicted) counts: the cells summed by (true, predicted)."""
    import numpy as np

    order = np.argsort(pair, kind="stable")
    pairs, starts = np.unique(pair[order], return_index=True)
    out = np.zeros((len(drawn), classes * classes))
    out[:, pairs] = np.add.reduceat(drawn[:, order], starts, axis=1)
    return out.reshape(len(drawn), classes, classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    import numpy as np

    out = np.zeros(np.broadcast(numerator, denominator).shape)
    return np.divide(numerator, denominator, out=out, where=denominator > 0)


def _class_score(metric: str, confusion: np.ndarray, labels: np.ndarray) -> np.ndarray:
    import numpy as np

    hits = np.diagonal(confusion, axis1=1, axis2=2)
    support = confusion.sum(axis=2)
    predicted = confusion.sum(axis=1)
    n = support.sum(axis=1)
    if metric in ("accuracy", "micro_f1"):  # one label a row: micro F1 = accuracy
        return _ratio(hits.sum(axis=1), n)
    if metric == "balanced_accuracy":
        present = support > 0
        recall = _ratio(hits, support)
        return _ratio((recall * present).sum(axis=1), present.sum(axis=1))
    f1 = _ratio(2 * hits, support + predicted)
    if metric == "weighted_f1":
        return _ratio((f1 * support).sum(axis=1), n)
    if metric == "macro_f1":
        return (f1 * labels).sum(axis=1) / max(int(labels.sum()), 1)
    raise ValueError(f"not a class-count metric: {metric!r}")


def mean_columns(
    metric: str,
    truth: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
) -> np.ndarray:
    """(rows, columns) per-row quantities whose resample means give ``metric``."""
    import numpy as np

    y = truth.astype(np.float64)
    errors = [y - candidate.astype(np.float64), y - champion.astype(np.float64)]
    if metric in ("mse", "rmse", "r2"):
        per_row = [e * e for e in errors]
    elif metric == "mae":
        per_row = [np.abs(e) for e in errors]
    elif metric == "mape":
        scale = np.maximum(np.abs(y), np.finfo(np.float64).eps)
        per_row = [np.abs(e) / scale for e in errors]
    else:
        raise ValueError(f"not a row-mean metric: {metric!r}")
    if metric in ("mse", "mae", "mape"):  # a mean of differences: one column
        return (per_row[0] - per_row[1])[:, None]
    if metric == "rmse":
        return np.column_stack(per_row)
    centred = y - y.mean()  # the variance is shift-free; centring keeps digits
    if np.any(centred != 0):  # r2 difference = (mse_b - mse_c) / variance
        return np.column_stack([per_row[0] - per_row[1], centred, centred**2])
    return np.column_stack([*per_row, centred, centred * centred])


def mean_improvement(metric: str, means: np.ndarray) -> np.ndarray:
    """Candidate minus champion ``metric`` from ``mean_columns``' resample means."""
    import numpy as np

    if metric in ("mse", "mae", "mape"):
        return np.asarray(means[:, 0], dtype=np.float64)
    if metric == "rmse":
        return np.sqrt(means[:, 0]) - np.sqrt(means[:, 1])
    if metric != "r2":
        raise ValueError(f"not a row-mean metric: {metric!r}")
    variance = np.maximum(means[:, -1] - means[:, -2] ** 2, 0.0)
    if means.shape[1] == 3:  # labels vary: one column of mse differences
        return -_ratio(means[:, 0], variance)
    return _r2(means[:, 0], variance) - _r2(means[:, 1], variance)


def _r2(mse: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """scikit-learn's r2_score: a constant label scores 1 if fitted exactly, else 0."""
    import numpy as np

    constant = np.where(mse == 0, 1.0, 0.0)
    return np.where(variance > 0, 1.0 - _ratio(mse, variance), constant)


def row_log_loss_multiclass(truth: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """Per-row log loss: ``-log p[true class]``, clipped to float64 eps as
    ``sklearn.metrics.log_loss`` clips (probabilities summing to 1 per row)."""
    import numpy as np

    eps = np.finfo(np.float64).eps
    picked = probability[np.arange(len(truth)), truth.astype(np.intp)]
    return -np.log(np.clip(picked, eps, 1 - eps))
