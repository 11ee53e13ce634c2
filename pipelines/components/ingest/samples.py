"""Built-in sample tables: the real penguins data and a seeded synthetic table.

Benchmarks import ``synthetic_table`` by file path, so this module depends on
numpy and pandas only and does no work at import time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Levels per categorical column: a spread from a few levels to a long tail.
CATEGORY_LEVELS = (3, 5, 8, 12, 20)
NULL_RATE = 0.02


def penguins() -> pd.DataFrame:
    """The raw palmerpenguins table (344 rows, missing values kept)."""
    import palmerpenguins

    return palmerpenguins.load_penguins()


def synthetic_table(rows: int, seed: int) -> pd.DataFrame:
    """A seeded binary-classification table with mixed feature types.

    15 numeric columns ``num_00``..``num_14`` of varied distributions, 5
    categorical columns ``cat_0``..``cat_4`` with 3 to 20 levels, about 2% nulls
    spread over the features, and a ``label`` column ("yes"/"no") drawn from a
    noisy logistic function of some features. Everything is vectorised: a
    million rows take a few seconds.
    """
    if rows < 1:
        raise ValueError(f"rows must be a positive integer, got {rows}")
    rng = np.random.default_rng(seed)
    n = rows

    base = rng.standard_normal(n)
    numeric = {
        "num_00": base,
        "num_01": rng.normal(50.0, 10.0, n),
        "num_02": rng.lognormal(0.0, 1.0, n),
        "num_03": rng.exponential(2.0, n),
        "num_04": rng.uniform(-1.0, 1.0, n),
        "num_05": rng.gamma(2.0, 2.0, n),
        "num_06": rng.poisson(3.0, n).astype(np.float64),
        "num_07": rng.beta(2.0, 5.0, n),
        "num_08": rng.standard_t(3.0, n),
        "num_09": rng.binomial(10, 0.3, n).astype(np.float64),
        # Correlated with num_00 so that models meet collinearity.
        "num_10": 0.8 * base + 0.6 * rng.standard_normal(n),
        "num_11": rng.laplace(0.0, 1.0, n),
        "num_12": rng.lognormal(3.0, 0.5, n),
        "num_13": rng.chisquare(4.0, n),
        "num_14": rng.integers(2000, 2025, n).astype(np.float64),
    }

    codes = {}
    for i, levels in enumerate(CATEGORY_LEVELS):
        # Zipf-like level frequencies: real categoricals are rarely uniform.
        weights = 1.0 / np.arange(1, levels + 1)
        codes[f"cat_{i}"] = rng.choice(levels, size=n, p=weights / weights.sum())

    cat0_effect = np.array([-0.8, 0.0, 0.9])
    cat2_effect = np.linspace(-0.6, 0.6, CATEGORY_LEVELS[2])
    logit = (
        -0.4
        + 1.1 * numeric["num_00"]
        - 0.7 * (np.log(numeric["num_02"]))
        + 1.2 * numeric["num_04"]
        + 0.15 * (numeric["num_05"] - 4.0)
        - 2.0 * (numeric["num_07"] - 0.286)
        + 0.5 * np.tanh(numeric["num_08"])
        + cat0_effect[codes["cat_0"]]
        + cat2_effect[codes["cat_2"]]
        + rng.normal(0.0, 0.5, n)
    )
    positive = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))

    # Nulls are drawn after the label so that missingness is uninformative;
    # per-column rates vary around NULL_RATE.
    columns = list(numeric) + list(codes)
    rates = rng.uniform(0.5, 1.5, len(columns)) * NULL_RATE
    missing = rng.random((n, len(columns))) < rates

    data: dict[str, object] = {}
    for j, name in enumerate(columns):
        if name in numeric:
            values = numeric[name]
            values[missing[:, j]] = np.nan
            data[name] = values
        else:
            levels = CATEGORY_LEVELS[int(name[-1])]
            labels = [chr(ord("a") + k) for k in range(levels)]
            column_codes = codes[name].copy()
            column_codes[missing[:, j]] = -1
            # from_codes maps -1 to missing, then one vectorised cast to str.
            categorical = pd.Categorical.from_codes(column_codes, categories=labels)
            data[name] = pd.Series(categorical).astype("str")
    data["label"] = np.where(positive, "yes", "no")
    return pd.DataFrame(data)
