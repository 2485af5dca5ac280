"""Block-bootstrap confidence intervals, paired tests and the multiple-comparison adjustment."""

from __future__ import annotations

import numpy as np
import pytest

from execbench.analysis.inference import (
    block_length,
    bootstrap_ci,
    bootstrap_indices,
    holm,
    non_overlapping,
    paired_comparison,
)


def overlapping_window_means(rng, n, horizon, mu):
    """Like slippages of overlapping orders: each value averages T consecutive shocks."""
    shocks = rng.normal(0.0, 1.0, n + horizon - 1)
    return mu + np.convolve(shocks, np.ones(horizon) / np.sqrt(horizon), mode="valid")


def coverage(block, reps=120, n=1500, horizon=12, mu=0.7):
    rng = np.random.default_rng(11)
    hits = 0
    for k in range(reps):
        x = overlapping_window_means(rng, n, horizon, mu)
        ci = bootstrap_ci(x, bootstrap_indices(n, block, reps=200, seed=k), "mean")
        hits += ci.low <= mu <= ci.high
    return hits / reps


def test_block_bootstrap_covers_the_true_mean_where_iid_does_not():
    horizon = 12
    good = coverage(block_length(horizon))
    naive = coverage(1)
    assert 0.85 <= good <= 0.995, good
    assert naive < 0.6, naive  # ignoring the overlap makes the interval far too narrow


def test_median_interval_and_nan_handling():
    rng = np.random.default_rng(0)
    x = rng.standard_t(4, 3000) + 2.0
    idx = bootstrap_indices(x.size, 10, reps=300, seed=1)
    ci = bootstrap_ci(x, idx, "median")
    assert ci.low < 2.0 < ci.high and ci.low < ci.estimate < ci.high
    x[::7] = np.nan
    assert np.isfinite(bootstrap_ci(x, idx, "mean").estimate)
    with pytest.raises(ValueError, match="statistic"):
        bootstrap_ci(x, idx, "mode")


def test_paired_comparison_of_identical_strategies_finds_no_difference():
    rng = np.random.default_rng(2)
    a = rng.normal(size=2400)
    idx = bootstrap_indices(a.size, 24, reps=200, seed=0)
    independent = non_overlapping(np.zeros(a.size), 12)
    same = paired_comparison(a, a + 1e-12, idx, independent)  # rounding noise only
    assert same.mean_difference.estimate == pytest.approx(0.0, abs=1e-9)
    assert same.mean_difference.low <= 0.0 <= same.mean_difference.high
    assert same.wilcoxon_p == 1.0 and same.n_independent == 200
    better = paired_comparison(a + 0.5, a + rng.normal(0, 0.5, a.size), idx, independent)
    assert better.mean_difference.low > 0 and better.wilcoxon_p < 1e-6


def test_non_overlapping_orders_per_asset():
    keys = np.array(["A"] * 30 + ["B"] * 10)
    np.testing.assert_array_equal(non_overlapping(keys, 12), [0, 12, 24, 30])


def test_holm_adjustment():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.5]), [0.04, 0.09, 0.09, 0.5])
    np.testing.assert_allclose(holm(np.array([0.9, 0.8])), [1.0, 1.0])  # capped at 1
    assert holm([]).size == 0
