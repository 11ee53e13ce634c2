"""Gate bootstrap: ``paired_bootstrap`` against a plain numpy resampling loop.

Goal (BENCHMARKS.md): at most 2 s for 100k evaluation rows and 10k resamples.
The data is synthetic and seeded: a shared latent score, so the two models'
errors are correlated, as a real candidate's and champion's are. The plain loop
draws row indices (chunks of about 2**20, one thread) and recomputes each
metric per resample; it runs ``--plain-resamples`` and is scaled up to
``--resamples``, which the output says.

    python benchmarks/gate_bootstrap.py [--rows 100000] [--resamples 10000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mlops_actions.gate.bootstrap import (  # noqa: E402
    BOOTSTRAP_METRICS,
    paired_bootstrap,
    row_log_loss,
)
from mlops_actions.gate.pairing import PairedRows, pair_predictions  # noqa: E402

METRICS = ("accuracy", "f1", "log_loss")
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


def pairing_seconds(rows: PairedRows) -> float:
    """Time the join of two predictions.parquet frames (shuffled) on row_id."""
    import pandas as pd

    def frame(predicted: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "row_id": rows.row_id,
                "label": np.where(rows.truth, "yes", "no"),
                "prediction": np.where(predicted, "yes", "no"),
                "probability": probability,
            }
        )

    candidate = frame(rows.candidate, rows.candidate_probability)
    champion = frame(rows.champion, rows.champion_probability).sample(
        frac=1.0, random_state=0
    )
    began = time.perf_counter()
    paired = pair_predictions(candidate, champion, positive_class="yes")
    assert paired is not None
    return time.perf_counter() - began


def per_resample(rows: PairedRows, metric: str) -> Callable[[np.ndarray], np.ndarray]:
    """The improvement on each resample of row indices (one resample a row)."""
    y = rows.truth
    if metric == "accuracy":
        right_c, right_b = rows.candidate == y, rows.champion == y
        return lambda idx: right_c[idx].mean(axis=1) - right_b[idx].mean(axis=1)
    if metric == "f1":

        def f1(predicted: np.ndarray, idx: np.ndarray) -> np.ndarray:
            tp = (predicted & y)[idx].sum(axis=1)
            wrong = (predicted != y)[idx].sum(axis=1)
            return 2 * tp / np.maximum(2 * tp + wrong, 1)

        return lambda idx: f1(rows.candidate, idx) - f1(rows.champion, idx)
    loss_c = row_log_loss(y, rows.candidate_probability)
    loss_b = row_log_loss(y, rows.champion_probability)
    return lambda idx: loss_b[idx].mean(axis=1) - loss_c[idx].mean(axis=1)


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
    args = parser.parse_args()
    rows = synthetic(args.rows, args.seed)
    plain_n = min(args.plain_resamples, args.resamples)
    scale = args.resamples / plain_n
    print(
        f"gate bootstrap: {args.rows:,} rows x {args.resamples:,} resamples, "
        f"95% interval, seed {args.seed}"
    )
    pairing = pairing_seconds(rows)
    print(f"pair_predictions (join on row_id)  {pairing:8.3f} s")
    slowest = ("", 0.0)
    for metric in METRICS:
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
                BOOTSTRAP_METRICS[metric],
                confidence=0.95,
                resamples=args.resamples,
                seed=args.seed,
            )
            times.append(time.perf_counter() - began)
        ours = statistics.median(times)
        slowest = max(slowest, (metric, ours), key=lambda item: item[1])
        print(
            f"{metric:<9} paired_bootstrap  {ours:8.3f} s  "
            f"[{result.lower:+.5f}, {result.upper:+.5f}]  ({result.method}, "
            f"median of {args.repeat}; ratio {plain / ours:,.0f}x)"
        )
    total = pairing + slowest[1]
    met = "met" if total <= GOAL_S else "NOT met"
    print(
        f"goal: pairing + paired_bootstrap <= {GOAL_S:g} s: {met} "
        f"({total:.3f} s with the slowest, {slowest[0]})"
    )


if __name__ == "__main__":
    main()
