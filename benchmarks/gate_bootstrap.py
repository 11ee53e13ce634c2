"""Gate bootstrap: ``paired_bootstrap`` against a plain numpy resampling loop.

Goal (BENCHMARKS.md): at most 2 s for 100k evaluation rows and 10k resamples.
The data is synthetic and seeded, one block per task (binary, multiclass with
three classes, regression): a shared latent score, so the two models' errors
are correlated, as a real candidate's and champion's are. The plain loop draws
row indices (chunks of about 2**20, one thread) and recomputes each metric per
resample; it runs ``--plain-resamples`` and is scaled up to ``--resamples``,
which the output says.

    python benchmarks/gate_bootstrap.py [--rows 100000] [--resamples 10000]
        [--regression mse,rmse,mae,mape,r2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mlops_actions.gate.bootstrap import paired_bootstrap, row_log_loss  # noqa: E402
from mlops_actions.gate.pairing import PairedRows, pair_predictions  # noqa: E402
from mlops_actions.gate.scores import row_log_loss_multiclass  # noqa: E402
from mlops_actions.gate.tasks import known_direction  # noqa: E402

METRICS = {
    "binary": ("accuracy", "f1", "log_loss"),
    "multiclass": ("accuracy", "macro_f1", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}
GOAL_S = 2.0


def synthetic(rows: int, seed: int) -> PairedRows:
    rng = np.random.default_rng(seed)
    truth = rng.random(rows) < 0.4
    latent = np.where(truth, 1.0, -1.0) + rng.normal(0, 1.2, rows)

    def model(sharpness: float) -> np.ndarray:
        score = sharpness * latent + rng.normal(0, 0.6, rows)
        return 1 / (1 + np.exp(-score))

    candidate, champion = model(1.6), model(1.5)
    return PairedRows(
        row_id=np.arange(rows),
        truth=truth,
        candidate=candidate >= 0.5,
        champion=champion >= 0.5,
        candidate_probability=candidate,
        champion_probability=champion,
    )


def synthetic_multiclass(rows: int, seed: int, classes: int = 3) -> PairedRows:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, classes, rows)
    latent = rng.normal(0, 1.0, (rows, classes))
    latent[np.arange(rows), truth] += 1.2

    def model(sharpness: float) -> np.ndarray:
        logits = sharpness * latent + rng.normal(0, 0.6, (rows, classes))
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    candidate, champion = model(1.6), model(1.5)
    return PairedRows(
        row_id=np.arange(rows),
        truth=truth,
        candidate=candidate.argmax(axis=1),
        champion=champion.argmax(axis=1),
        candidate_probability=candidate,
        champion_probability=champion,
        task="multiclass",
        classes=tuple(f"class{k}" for k in range(classes)),
    )


def synthetic_regression(rows: int, seed: int) -> PairedRows:
    rng = np.random.default_rng(seed)
    truth = rng.normal(4200.0, 800.0, rows)
    shared = rng.normal(0, 250.0, rows)
    return PairedRows(
        row_id=np.arange(rows),
        truth=truth,
        candidate=truth + shared + rng.normal(0, 150.0, rows),
        champion=truth + shared + rng.normal(0, 180.0, rows),
        candidate_probability=None,
        champion_probability=None,
        task="regression",
    )


def frames(rows: PairedRows) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two predictions.parquet frames these rows came from."""
    import pandas as pd

    def frame(predicted: np.ndarray, probability: np.ndarray | None) -> pd.DataFrame:
        if rows.task == "binary":
            columns = {
                "label": np.where(rows.truth, "yes", "no"),
                "prediction": np.where(predicted, "yes", "no"),
                "probability": probability,
            }
        elif rows.task == "multiclass":
            names = np.array(rows.classes)
            columns = {"label": names[rows.truth], "prediction": names[predicted]}
            assert probability is not None
            for k, name in enumerate(rows.classes):
                columns[f"probability_{name}"] = probability[:, k]
        else:
            columns = {"label": rows.truth, "prediction": predicted}
        return pd.DataFrame({"row_id": rows.row_id, **columns})

    return (
        frame(rows.candidate, rows.candidate_probability),
        frame(rows.champion, rows.champion_probability),
    )


def pairing_seconds(rows: PairedRows) -> float:
    """Time the join of two predictions.parquet frames (shuffled) on row_id."""
    candidate, champion = frames(rows)
    champion = champion.sample(frac=1.0, random_state=0)
    began = time.perf_counter()
    paired = pair_predictions(candidate, champion, positive_class="yes", task=rows.task)
    assert paired is not None
    return time.perf_counter() - began


def per_resample(rows: PairedRows, metric: str) -> Callable[[np.ndarray], np.ndarray]:
    """The improvement on each resample of row indices (one resample a row)."""
    y = rows.truth
    if rows.task == "regression":
        return _regression(rows, metric)
    if rows.task == "multiclass":
        return _multiclass(rows, metric)
    if metric == "accuracy":
        right_c, right_b = rows.candidate == y, rows.champion == y
        return lambda idx: right_c[idx].mean(axis=1) - right_b[idx].mean(axis=1)
    if metric == "f1":

        def f1(predicted: np.ndarray, idx: np.ndarray) -> np.ndarray:
            tp = (predicted & y)[idx].sum(axis=1)
            wrong = (predicted != y)[idx].sum(axis=1)
            return 2 * tp / np.maximum(2 * tp + wrong, 1)

        return lambda idx: f1(rows.candidate, idx) - f1(rows.champion, idx)
    assert rows.candidate_probability is not None
    assert rows.champion_probability is not None
    loss_c = row_log_loss(y, rows.candidate_probability)
    loss_b = row_log_loss(y, rows.champion_probability)
    return lambda idx: loss_b[idx].mean(axis=1) - loss_c[idx].mean(axis=1)


def _multiclass(rows: PairedRows, metric: str) -> Callable[[np.ndarray], np.ndarray]:
    y, k = rows.truth, len(rows.classes)
    if metric == "accuracy":
        right_c, right_b = rows.candidate == y, rows.champion == y
        return lambda idx: right_c[idx].mean(axis=1) - right_b[idx].mean(axis=1)
    if metric == "macro_f1":

        def f1(predicted: np.ndarray, idx: np.ndarray) -> np.ndarray:
            total = np.zeros(len(idx))
            for label in range(k):
                is_true, said = (y == label)[idx], (predicted == label)[idx]
                tp = (is_true & said).sum(axis=1)
                denominator = is_true.sum(axis=1) + said.sum(axis=1)
                total += 2 * tp / np.maximum(denominator, 1)
            return total / k

        return lambda idx: f1(rows.candidate, idx) - f1(rows.champion, idx)
    assert rows.candidate_probability is not None
    assert rows.champion_probability is not None
    loss_c = row_log_loss_multiclass(y, rows.candidate_probability)
    loss_b = row_log_loss_multiclass(y, rows.champion_probability)
    return lambda idx: loss_b[idx].mean(axis=1) - loss_c[idx].mean(axis=1)


def _regression(rows: PairedRows, metric: str) -> Callable[[np.ndarray], np.ndarray]:
    y = rows.truth
    sq_c, sq_b = (y - rows.candidate) ** 2, (y - rows.champion) ** 2
    if metric == "rmse":
        return lambda idx: np.sqrt(sq_b[idx].mean(1)) - np.sqrt(sq_c[idx].mean(1))
    if metric == "mse":
        return lambda idx: sq_b[idx].mean(1) - sq_c[idx].mean(1)
    if metric in ("mae", "mape"):
        scale = (
            np.maximum(np.abs(y), np.finfo(np.float64).eps) if metric == "mape" else 1
        )
        abs_c, abs_b = np.abs(y - rows.candidate), np.abs(y - rows.champion)
        abs_c, abs_b = abs_c / scale, abs_b / scale
        return lambda idx: abs_b[idx].mean(1) - abs_c[idx].mean(1)

    def r2(sq: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return 1 - sq[idx].mean(1) / y[idx].var(axis=1)

    return lambda idx: r2(sq_c, idx) - r2(sq_b, idx)


def plain_loop(
    rows: PairedRows, metric: str, resamples: int, seed: int
) -> tuple[float, float, float]:
    """(seconds, lower, upper) of the textbook index-resampling bootstrap."""
    n = len(rows)
    improvement = per_resample(rows, metric)
    rng = np.random.default_rng(seed)
    per_chunk = max(1, 2**20 // n)
    draws = []
    began = time.perf_counter()
    for start in range(0, resamples, per_chunk):
        size = min(per_chunk, resamples - start)
        draws.append(improvement(rng.integers(0, n, size=(size, n))))
    lower, upper = np.quantile(np.concatenate(draws), [0.025, 0.975])
    return time.perf_counter() - began, float(lower), float(upper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--plain-resamples", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--regression",
        default=",".join(METRICS["regression"]),
        help="regression metrics, comma-separated (of mse,rmse,mae,mape,r2)",
    )
    args = parser.parse_args()
    metrics = {**METRICS, "regression": tuple(args.regression.split(","))}
    plain_n = min(args.plain_resamples, args.resamples)
    scale = args.resamples / plain_n
    print(
        f"gate bootstrap: {args.rows:,} rows x {args.resamples:,} resamples, "
        f"95% interval, seed {args.seed}"
    )
    slowest = ("", 0.0)
    for task, make in (
        ("binary", synthetic),
        ("multiclass", synthetic_multiclass),
        ("regression", synthetic_regression),
    ):
        rows = make(args.rows, args.seed)
        pairing = pairing_seconds(rows)
        label = "" if task == "binary" else f" {task}"
        print(f"pair_predictions{label} (join on row_id)  {pairing:8.3f} s")
        for metric in metrics[task]:
            seconds, lower, upper = plain_loop(rows, metric, plain_n, args.seed)
            plain = seconds * scale
            print(
                f"{metric:<9} plain numpy loop  {plain:8.3f} s  "
                f"[{lower:+.5f}, {upper:+.5f}]  ({plain_n:,} resamples in "
                f"{seconds:.3f} s, scaled x{scale:g})"
            )
            times = []
            for _ in range(args.repeat):
                began = time.perf_counter()
                result = paired_bootstrap(
                    rows,
                    metric,
                    known_direction(metric) or "maximize",
                    confidence=0.95,
                    resamples=args.resamples,
                    seed=args.seed,
                )
                times.append(time.perf_counter() - began)
            ours = statistics.median(times)
            total = pairing + ours
            slowest = max(slowest, (f"{task} {metric}", total), key=lambda x: x[1])
            print(
                f"{metric:<9} paired_bootstrap  {ours:8.3f} s  "
                f"[{result.lower:+.5f}, {result.upper:+.5f}]  ({result.method}, "
                f"median of {args.repeat}; ratio {plain / ours:,.0f}x)"
            )
    met = "met" if slowest[1] <= GOAL_S else "NOT met"
    print(
        f"goal: pairing + paired_bootstrap <= {GOAL_S:g} s: {met} "
        f"({slowest[1]:.3f} s with the slowest, {slowest[0]})"
    )


if __name__ == "__main__":
    main()
