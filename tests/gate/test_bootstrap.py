"""Paired bootstrap: same answer as a plain resampling loop; pairing by row_id."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops_actions.gate import bootstrap
from mlops_actions.gate.bootstrap import BOOTSTRAP_METRICS, paired_bootstrap
from mlops_actions.gate.bootstrap import row_log_loss
from mlops_actions.gate.pairing import PairedRows, pair_predictions, unpaired_reason

ROWS, PLAIN_RESAMPLES, RESAMPLES = 3000, 20_000, 20_000


def predictions(rows: int, seed: int, sharpness: float = 1.5) -> pd.DataFrame:
    """predictions.parquet as evaluate writes it, for a correlated pair of models."""
    rng = np.random.default_rng(seed)
    truth = np.random.default_rng(99).random(rows) < 0.4
    latent = np.where(truth, 1.0, -1.0) + np.random.default_rng(98).normal(0, 1.2, rows)
    probability = 1 / (1 + np.exp(-(sharpness * latent + rng.normal(0, 0.6, rows))))
    return pd.DataFrame(
        {
            "row_id": np.arange(rows) * 7,
            "label": np.where(truth, "Adelie", "Gentoo"),
            "prediction": np.where(probability >= 0.5, "Adelie", "Gentoo"),
            "probability": probability,
        }
    )


@pytest.fixture(scope="module")
def rows() -> PairedRows:
    paired = pair_predictions(
        predictions(ROWS, 1, 1.7), predictions(ROWS, 2), positive_class="Adelie"
    )
    assert paired is not None
    return paired


def plain_loop(rows: PairedRows, metric: str, resamples: int) -> np.ndarray:
    """The textbook bootstrap: resample row indices, recompute both metrics."""
    rng = np.random.default_rng(12345)
    y, n = rows.truth, len(rows)

    def score(predicted: np.ndarray, probability: np.ndarray, idx: np.ndarray):
        tp = (predicted & y)[idx].sum(axis=1)
        fp = (predicted & ~y)[idx].sum(axis=1)
        fn = (~predicted & y)[idx].sum(axis=1)
        if metric == "accuracy":
            return (predicted == y)[idx].mean(axis=1)
        if metric == "precision":
            return np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        if metric == "recall":
            return np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        if metric == "f1":
            return 2 * tp / np.maximum(2 * tp + fp + fn, 1)
        losses = np.where(y, -np.log(probability), -np.log(1 - probability))
        return -losses[idx].mean(axis=1)  # negated: higher is better, as above

    draws = []
    for start in range(0, resamples, 1000):
        idx = rng.integers(0, n, size=(1000, n))
        draws.append(
            score(rows.candidate, rows.candidate_probability, idx)
            - score(rows.champion, rows.champion_probability, idx)
        )
    return np.concatenate(draws)


@pytest.mark.parametrize("metric", list(BOOTSTRAP_METRICS))
def test_agrees_with_a_plain_resampling_loop(rows, metric):
    plain = plain_loop(rows, metric, PLAIN_RESAMPLES)
    ours = paired_bootstrap(
        rows,
        metric,
        BOOTSTRAP_METRICS[metric],
        confidence=0.95,
        resamples=RESAMPLES,
        seed=0,
    )
    spread = plain.std()
    # Monte-Carlo error of a 2.5% quantile at 20k draws is ~0.02 sd; allow 0.1 sd.
    lower, upper = np.quantile(plain, [0.025, 0.975])
    assert abs(ours.lower - lower) < 0.1 * spread
    assert abs(ours.upper - upper) < 0.1 * spread
    assert ours.lower < ours.estimate < ours.upper
    assert (ours.metric, ours.resamples, ours.rows) == (metric, RESAMPLES, ROWS)


def test_accuracy_spread_is_the_exact_bootstrap_spread(rows):
    # Var of a resampled mean difference is var(d) / n: the cells draw is exact.
    d = (rows.candidate == rows.truth).astype(float) - (rows.champion == rows.truth)
    expected = d.std() / np.sqrt(len(d))
    result = paired_bootstrap(
        rows, "accuracy", "maximize", confidence=0.6827, resamples=200_000, seed=3
    )
    assert (result.upper - result.lower) / 2 == pytest.approx(expected, rel=0.02)


def test_point_estimates_are_scikit_learns(rows):
    skm = pytest.importorskip("sklearn.metrics")
    y = rows.truth
    for metric, score in (
        ("accuracy", skm.accuracy_score),
        ("f1", skm.f1_score),
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
    ):
        expected = score(y, rows.candidate) - score(y, rows.champion)
        result = paired_bootstrap(
            rows, metric, "maximize", confidence=0.9, resamples=100, seed=0
        )
        assert result.estimate == pytest.approx(expected, abs=1e-12)
    expected = skm.log_loss(y, rows.champion_probability) - skm.log_loss(
        y, rows.candidate_probability
    )
    result = paired_bootstrap(
        rows, "log_loss", "minimize", confidence=0.9, resamples=100, seed=0
    )
    assert result.estimate == pytest.approx(expected, abs=1e-12)


def test_positive_means_the_candidate_is_better_for_a_minimize_metric():
    truth = np.arange(400) % 2 == 0
    better = PairedRows(
        row_id=np.arange(400),
        truth=truth,
        candidate=truth,
        champion=truth,
        candidate_probability=np.where(truth, 0.9, 0.1),
        champion_probability=np.where(truth, 0.6, 0.4),
    )
    result = paired_bootstrap(
        better, "log_loss", "minimize", confidence=0.9, resamples=200, seed=0
    )
    assert result.estimate == pytest.approx(np.log(0.9) - np.log(0.6))
    assert 0 < result.lower <= result.upper


def test_log_loss_clips_as_scikit_learn_does():
    skm = pytest.importorskip("sklearn.metrics")
    y = np.array([True, False, True, False])
    p = np.array([0.0, 1.0, 1.0, 0.0])
    assert row_log_loss(y, p).mean() == pytest.approx(skm.log_loss(y, p))


def test_same_seed_same_interval_whatever_the_threads(rows, monkeypatch):
    def run() -> tuple[float, float]:
        result = paired_bootstrap(
            rows, "log_loss", "minimize", confidence=0.95, resamples=500, seed=7
        )
        return result.lower, result.upper

    first = run()
    monkeypatch.setattr(bootstrap, "_workers", lambda: 1)
    assert run() == first
    assert (
        paired_bootstrap(
            rows, "log_loss", "minimize", confidence=0.95, resamples=500, seed=8
        ).lower
        != first[0]
    )


@pytest.mark.parametrize("n", [1, 7, 64])
def test_every_row_is_drawn_with_probability_one_over_n(n):
    # 7 = 4 + 2 + 1 rows in three blocks; each row must still get 1/n.
    for row in range(n):
        values = (np.arange(n) == row).astype(float)
        means = bootstrap._mean_resamples(values, 20_000, seed=row)
        assert means.mean() == pytest.approx(1 / n, abs=5 * np.sqrt(1 / n / 20_000))
    spread = bootstrap._mean_resamples(np.arange(n, dtype=float), 50_000, seed=1)
    assert spread.var() == pytest.approx(np.arange(n).var() / n, rel=0.03, abs=1e-12)


def test_blocks_wider_than_16_bits_reach_all_their_rows():
    n = 2**17 + 3  # a 2**17-row block (32-bit draws), then 2 + 1
    upper_half = ((np.arange(n) >= 2**16) & (np.arange(n) < 2**17)).astype(float)
    means = bootstrap._mean_resamples(upper_half, 40, seed=0)
    assert means.mean() == pytest.approx(2**16 / n, abs=0.002)


def test_zero_denominators_score_zero():
    no_positives = PairedRows(
        row_id=np.arange(4),
        truth=np.zeros(4, bool),
        candidate=np.zeros(4, bool),
        champion=np.array([True, False, False, False]),
        candidate_probability=np.full(4, 0.2),
        champion_probability=np.full(4, 0.6),
    )
    result = paired_bootstrap(
        no_positives, "f1", "maximize", confidence=0.9, resamples=100, seed=0
    )
    assert (result.estimate, result.lower, result.upper) == (0.0, 0.0, 0.0)


def test_refuses_a_metric_it_cannot_resample(rows):
    with pytest.raises(ValueError, match="roc_auc"):
        paired_bootstrap(
            rows, "roc_auc", "maximize", confidence=0.9, resamples=100, seed=0
        )


def test_pairs_by_row_id_whatever_the_order():
    candidate, champion = predictions(50, 1), predictions(50, 2)
    shuffled = champion.sample(frac=1.0, random_state=0)
    paired = pair_predictions(candidate, shuffled, positive_class="Adelie")
    assert paired is not None
    assert list(paired.row_id) == list(candidate["row_id"])
    assert list(paired.champion_probability) == list(champion["probability"])
    assert list(paired.truth) == list(candidate["label"] == "Adelie")


def mismatch(candidate: pd.DataFrame, champion: pd.DataFrame) -> str:
    assert pair_predictions(candidate, champion, positive_class="Adelie") is None
    reason = unpaired_reason(candidate, champion, positive_class="Adelie")
    assert reason is not None
    return reason


def test_different_rows_are_not_paired_and_say_why():
    candidate, champion = predictions(50, 1), predictions(50, 2)
    assert mismatch(candidate, champion.iloc[3:]) == (
        "candidate and champion were scored on different rows (3 only in the "
        "candidate's predictions, 0 only in the champion's, e.g. row_id 0): "
        "evaluate the champion on the candidate's test set"
    )
    other = champion.assign(row_id=champion["row_id"] + 1)
    assert mismatch(candidate, other).startswith(
        "candidate and champion were scored on different rows (50 only in the "
        "candidate's predictions, 50 only in the champion's"
    )


def test_other_reasons_not_to_pair():
    candidate, champion = predictions(50, 1), predictions(50, 2)
    relabelled = champion.assign(
        label=champion["label"].where(champion.index != 4, "x")
    )
    assert mismatch(candidate, relabelled) == (
        "the true labels differ on 1 shared rows (e.g. row_id 28): not the same "
        "test set"
    )
    repeated = pd.concat([champion, champion.iloc[[0]]])
    assert mismatch(candidate, repeated) == "the champion's predictions repeat row_id 0"
    assert mismatch(candidate, champion.drop(columns="probability")) == (
        "the champion's predictions lack probability: re-run evaluate for it"
    )
    assert mismatch(candidate.iloc[:0], champion) == (
        "the candidate's predictions are empty"
    )
    broken = candidate.assign(
        probability=candidate["probability"].where(candidate.index != 2, np.nan)
    )
    assert mismatch(broken, champion) == (
        "the candidate's probability column has 1 value(s) that are not numbers "
        "in [0, 1]"
    )
    assert unpaired_reason(candidate, champion, positive_class="adelie") == (
        "the labels ('Adelie', 'Gentoo') are not a binary task with positive class "
        "'adelie'"
    )
