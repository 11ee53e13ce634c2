"""The paired bootstrap for multiclass and regression: each vectorized score
equals a direct numpy computation on the same drawn rows, and the point
estimates are scikit-learn's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from mlops_actions.gate import bootstrap, scores
from mlops_actions.gate.bootstrap import paired_bootstrap
from mlops_actions.gate.pairing import (
    PairedRows,
    missing_for,
    pair_predictions,
    unpaired_reason,
)

ROWS = 600
CLASSES = ("Adelie", "Chinstrap", "Gentoo")


def multiclass_frame(seed: int, skill: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = np.random.default_rng(7).integers(0, 3, ROWS)
    logits = rng.normal(0, 1, (ROWS, 3))
    logits[np.arange(ROWS), truth] += skill
    probability = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    names = np.array(CLASSES)
    frame = pd.DataFrame(
        {
            "row_id": np.arange(ROWS) * 3,
            "label": names[truth],
            "prediction": names[probability.argmax(axis=1)],
        }
    )
    for k, name in enumerate(CLASSES):
        frame[f"probability_{name}"] = probability[:, k]
    return frame


def regression_frame(seed: int, noise: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = np.random.default_rng(8).normal(4200.0, 800.0, ROWS)
    return pd.DataFrame(
        {
            "row_id": np.arange(ROWS),
            "label": truth,
            "prediction": truth + rng.normal(0, noise, ROWS),
        }
    )


@pytest.fixture(scope="module")
def classes() -> PairedRows:
    paired = pair_predictions(
        multiclass_frame(1, 1.6),
        multiclass_frame(2, 1.3).sample(frac=1.0, random_state=0),
        positive_class=None,
        task="multiclass",
    )
    assert paired is not None
    return paired


@pytest.fixture(scope="module")
def values() -> PairedRows:
    paired = pair_predictions(
        regression_frame(1, 300.0),
        regression_frame(2, 330.0),
        positive_class=None,
        task="regression",
    )
    assert paired is not None
    return paired


def indices(n: int, resamples: int = 300) -> np.ndarray:
    return np.random.default_rng(5).integers(0, n, size=(resamples, n))


def direct_class_score(metric: str, y: np.ndarray, p: np.ndarray) -> float:
    """scikit-learn on one resample's rows, labelled as on the full rows."""
    if metric == "accuracy":
        return float(np.mean(y == p))
    if metric == "balanced_accuracy":
        present = np.unique(y)
        return float(np.mean([np.mean(p[y == k] == k) for k in present]))
    average = metric.split("_")[0]
    return float(sk.f1_score(y, p, average=average, zero_division=0))


@pytest.mark.parametrize(
    "metric", ["accuracy", "balanced_accuracy", "macro_f1", "micro_f1", "weighted_f1"]
)
def test_class_scores_equal_a_direct_computation_on_the_same_rows(classes, metric):
    k = len(classes.classes)
    cells, _, row_cell = scores.joint_cells(
        classes.truth, classes.candidate, classes.champion, k
    )
    idx = indices(len(classes))[:60]  # scikit-learn per resample is slow
    drawn = np.stack([np.bincount(row_cell[i], minlength=len(cells)) for i in idx])
    every = np.ones(k, dtype=bool)
    ours = scores.class_improvement(metric, drawn, cells, k, (every, every))
    y, c, b = classes.truth, classes.candidate, classes.champion
    expected = [
        direct_class_score(metric, y[i], c[i]) - direct_class_score(metric, y[i], b[i])
        for i in idx
    ]
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


def test_macro_f1_averages_over_each_models_own_classes():
    # The candidate never predicts class 2 and it is never true: scikit-learn's
    # macro F1 for it averages over classes 0 and 1 only; the champion's over 3.
    y = np.array([0, 1, 0, 1, 1, 0])
    c = np.array([0, 1, 1, 1, 0, 0])
    b = np.array([0, 2, 0, 1, 1, 0])
    rows = PairedRows(np.arange(6), y, c, b, None, None, "multiclass", ("a", "b", "c"))
    result = paired_bootstrap(
        rows, "macro_f1", "maximize", confidence=0.9, resamples=200, seed=0
    )
    expected = sk.f1_score(y, c, average="macro") - sk.f1_score(y, b, average="macro")
    assert result.estimate == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("metric", ["mse", "rmse", "mae", "mape", "r2"])
def test_regression_scores_equal_a_direct_computation_on_the_same_rows(values, metric):
    columns = scores.mean_columns(
        metric, values.truth, values.candidate, values.champion
    )
    idx = indices(len(values))
    ours = scores.mean_improvement(metric, columns[idx].mean(axis=1))
    direct = {
        "mse": sk.mean_squared_error,
        "rmse": sk.root_mean_squared_error,
        "mae": sk.mean_absolute_error,
        "mape": sk.mean_absolute_percentage_error,
        "r2": sk.r2_score,
    }[metric]
    y, c, b = values.truth, values.candidate, values.champion
    expected = [direct(y[i], c[i]) - direct(y[i], b[i]) for i in idx]
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)


def test_multiclass_log_loss_per_row_equals_scikit_learn(classes):
    ours = scores.row_log_loss_multiclass(classes.truth, classes.candidate_probability)
    expected = sk.log_loss(
        classes.truth, classes.candidate_probability, labels=[0, 1, 2]
    )
    assert ours.mean() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "metric, sign",
    [
        ("accuracy", 1),
        ("macro_f1", 1),
        ("f1_macro", 1),
        ("weighted_f1", 1),
        ("balanced_accuracy", 1),
        ("log_loss", -1),
    ],
)
def test_multiclass_estimates_are_scikit_learns(classes, metric, sign):
    direction = "maximize" if sign > 0 else "minimize"
    result = paired_bootstrap(
        classes, metric, direction, confidence=0.95, resamples=2000, seed=3
    )
    y, c, b = classes.truth, classes.candidate, classes.champion
    if metric == "log_loss":
        score = lambda p: sk.log_loss(y, p, labels=[0, 1, 2])  # noqa: E731
        champion, candidate = (
            score(classes.champion_probability),
            score(classes.candidate_probability),
        )
    else:
        name = {"f1_macro": "macro_f1"}.get(metric, metric)
        candidate = direct_class_score(name, y, c)
        champion = direct_class_score(name, y, b)
    assert result.estimate == pytest.approx(sign * (candidate - champion), abs=1e-12)
    assert result.lower < result.estimate < result.upper
    assert (result.metric, result.task, result.rows) == (metric, "multiclass", ROWS)


@pytest.mark.parametrize("metric", ["mse", "rmse", "mae", "mape", "r2"])
def test_regression_estimates_are_scikit_learns_and_the_better_model_wins(
    values, metric
):
    direction = "maximize" if metric == "r2" else "minimize"
    result = paired_bootstrap(
        values, metric, direction, confidence=0.95, resamples=4000, seed=1
    )
    columns = scores.mean_columns(
        metric, values.truth, values.candidate, values.champion
    )
    expected = scores.mean_improvement(metric, columns.mean(axis=0)[None])[0]
    sign = 1 if direction == "maximize" else -1
    assert result.estimate == pytest.approx(sign * expected, abs=1e-9)
    assert result.estimate > 0  # the candidate has less noise: better
    assert result.lower < result.estimate < result.upper
    assert result.method == "per-row errors resampled in power-of-two blocks"


def test_rmse_interval_matches_a_plain_index_resampling_loop(values):
    # Same distribution, other draws: the percentile intervals agree closely.
    result = paired_bootstrap(
        values, "rmse", "minimize", confidence=0.9, resamples=20_000, seed=4
    )
    y, c, b = values.truth, values.candidate, values.champion
    idx = np.random.default_rng(9).integers(0, len(values), size=(20_000, len(values)))
    plain = np.sqrt(((y - b)[idx] ** 2).mean(1)) - np.sqrt(((y - c)[idx] ** 2).mean(1))
    lower, upper = np.quantile(plain, [0.05, 0.95])
    spread = upper - lower
    assert abs(result.lower - lower) < 0.05 * spread
    assert abs(result.upper - upper) < 0.05 * spread


def test_multiclass_accuracy_interval_matches_a_plain_loop(classes):
    result = paired_bootstrap(
        classes, "accuracy", "maximize", confidence=0.9, resamples=20_000, seed=4
    )
    right_c = classes.candidate == classes.truth
    right_b = classes.champion == classes.truth
    idx = np.random.default_rng(9).integers(0, len(classes), size=(20_000, ROWS))
    plain = right_c[idx].mean(1) - right_b[idx].mean(1)
    lower, upper = np.quantile(plain, [0.05, 0.95])
    spread = upper - lower
    assert abs(result.lower - lower) < 0.05 * spread
    assert abs(result.upper - upper) < 0.05 * spread


def test_mean_resamples_of_columns_use_the_same_rows_for_every_column():
    values = np.arange(10.0)
    both = bootstrap._mean_resamples(np.column_stack([values, 2 * values]), 500, 0)
    assert both.shape == (500, 2)
    np.testing.assert_allclose(both[:, 1], 2 * both[:, 0])
    one = bootstrap._mean_resamples(values, 500, 0)
    np.testing.assert_allclose(one, both[:, 0])


def test_primary_rmse_is_resampled_not_refused(values):
    # The fault: `primary: rmse` was refused ("cannot resample 'rmse'").
    result = paired_bootstrap(
        values, "rmse", "minimize", confidence=0.95, resamples=200, seed=0
    )
    assert result.metric == "rmse" and result.task == "regression"


def test_a_metric_of_another_task_is_refused(values):
    with pytest.raises(ValueError, match="cannot resample 'accuracy' for a regression"):
        paired_bootstrap(
            values, "accuracy", "maximize", confidence=0.9, resamples=100, seed=0
        )


def test_binary_rows_also_resample_balanced_accuracy_and_macro_f1():
    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.3
    c = np.where(rng.random(500) < 0.85, y, ~y)
    b = np.where(rng.random(500) < 0.8, y, ~y)
    rows = PairedRows(np.arange(500), y, c, b, None, None)
    for metric, score in (
        ("balanced_accuracy", sk.balanced_accuracy_score),
        ("macro_f1", lambda t, p: sk.f1_score(t, p, average="macro")),
    ):
        result = paired_bootstrap(
            rows, metric, "maximize", confidence=0.9, resamples=500, seed=0
        )
        assert result.estimate == pytest.approx(score(y, c) - score(y, b), abs=1e-12)


def test_pairing_multiclass_and_regression_say_what_is_wrong():
    candidate, champion = multiclass_frame(1, 1.6), multiclass_frame(2, 1.3)
    assert (
        unpaired_reason(
            candidate,
            champion.assign(
                prediction=champion["prediction"].where(champion.index != 3, None)
            ),
            positive_class=None,
            task="multiclass",
        )
        == "the champion's prediction column has 1 value(s) that are not classes "
        "(missing values)"
    )
    a, b = regression_frame(1, 1.0), regression_frame(2, 1.0)
    assert (
        unpaired_reason(
            a,
            b.assign(prediction=b["prediction"].where(b.index != 0, np.inf)),
            positive_class=None,
            task="regression",
        )
        == "the champion's prediction column has 1 value(s) that are not finite "
        "numbers"
    )
    # No probability column is needed for a regression, nor for multiclass F1.
    assert unpaired_reason(a, b, positive_class=None, task="regression") is None
    bare = champion.drop(columns=[f"probability_{name}" for name in CLASSES])
    rows = pair_predictions(candidate, bare, positive_class=None, task="multiclass")
    assert rows is not None and missing_for(rows, "macro_f1") is None
    assert missing_for(rows, "log_loss") == (
        "log_loss needs the columns probability_Adelie, probability_Chinstrap, "
        "probability_Gentoo in the champion's predictions: write them in evaluate"
    )


@pytest.mark.parametrize("n, columns", [(1, 1), (7, 3), (1000, 1), (40_000, 3)])
def test_mean_resamples_are_the_means_of_the_drawn_rows(n, columns):
    # 40000 rows: 13 resamples a chunk, so 30 resamples take three chunks.
    values = np.random.default_rng(n).normal(4200.0, 800.0, (n, columns))
    drawn = bootstrap._drawn_rows(n, 30, seed=3)
    assert drawn.shape == (30, n) and drawn.min() >= 0 and drawn.max() < n
    means = bootstrap._mean_resamples(values, 30, seed=3)
    np.testing.assert_allclose(means, values[drawn].mean(axis=1), rtol=1e-13)
    one = bootstrap._mean_resamples(values[:, 0], 30, seed=3)
    np.testing.assert_allclose(one, values[drawn, 0].mean(axis=1), rtol=1e-13)


def test_blocks_are_powers_of_two_that_tile_the_rows():
    for n in (1, 7, 100_000, 2**17 + 3, 5_000_001):
        plan = bootstrap._plan(n, 10, seed=0)
        assert sum(plan.sizes) == n
        assert all(size & (size - 1) == 0 for size in plan.sizes)
        assert plan.firsts == tuple(np.cumsum([0, *plan.sizes[:-1]]))
        assert max(plan.sizes) <= max(bootstrap._block_cap(n), 1)
        assert len(plan.sizes) <= 64 + n.bit_length()


@pytest.mark.parametrize("metric", ["mse", "rmse", "mae", "mape", "r2", "log_loss"])
def test_bootstrap_interval_is_scikit_learn_on_the_drawn_rows(values, classes, metric):
    # The same resamples, scored one by one by scikit-learn: the same interval.
    rows = classes if metric == "log_loss" else values
    resamples, seed = 200, 11
    result = paired_bootstrap(
        rows,
        metric,
        "maximize" if metric == "r2" else "minimize",
        confidence=0.9,
        resamples=resamples,
        seed=seed,
    )
    direct = {
        "mse": sk.mean_squared_error,
        "rmse": sk.root_mean_squared_error,
        "mae": sk.mean_absolute_error,
        "mape": sk.mean_absolute_percentage_error,
        "r2": sk.r2_score,
        "log_loss": lambda y, p: sk.log_loss(y, p, labels=[0, 1, 2]),
    }[metric]
    y = rows.truth
    if metric == "log_loss":
        c, b = rows.candidate_probability, rows.champion_probability
    else:
        c, b = rows.candidate, rows.champion
    sign = 1 if metric == "r2" else -1
    expected = [
        sign * (direct(y[i], c[i]) - direct(y[i], b[i]))
        for i in bootstrap._drawn_rows(len(rows), resamples, seed)
    ]
    lower, upper = np.quantile(expected, [0.05, 0.95])
    assert result.lower == pytest.approx(lower, rel=1e-9, abs=1e-12)
    assert result.upper == pytest.approx(upper, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("width", [1, 2, 3])  # last column real, complex, real
def test_square_last_is_the_mean_of_the_last_columns_squares(width):
    values = np.random.default_rng(2).normal(0.0, 800.0, (40_000, width))
    drawn = bootstrap._drawn_rows(len(values), 30, seed=4)
    means = bootstrap._mean_resamples(values, 30, seed=4, square_last=True)
    assert means.shape == (30, width + 1)
    expected = np.column_stack([values, values[:, -1] ** 2])[drawn].mean(axis=1)
    np.testing.assert_allclose(means, expected, rtol=1e-12, atol=1e-10)
