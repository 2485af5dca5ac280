"""Inference that respects overlapping order windows.

Orders start at every bar, so neighbouring orders share up to T−1 bars and their slippages are
strongly dependent.  Confidence intervals therefore come from a stationary (Politis–Romano) block
bootstrap (``arch.bootstrap.StationaryBootstrap``) over orders sorted by origin time, with an expected
block length of ``BLOCK_FACTOR`` × T origins (× the number of assets for a universe, whose orders
share calendar days).  Paired rank tests use non-overlapping orders only (one origin every T bars per
asset), where the windows are disjoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from arch.bootstrap import StationaryBootstrap
from scipy import stats
from statsmodels.stats.multitest import multipletests

BLOCK_FACTOR = 2
DEFAULT_REPS = 400
DEFAULT_LEVEL = 0.95
ZERO_DIFFERENCE_BPS = 1e-6  # paired differences smaller than this are floating-point noise


def block_length(horizon: int, n_assets: int = 1) -> int:
    """Expected block length (in orders sorted by origin) for the stationary bootstrap."""
    return max(1, BLOCK_FACTOR * horizon * max(1, n_assets))


def bootstrap_indices(n: int, block: int, reps: int = DEFAULT_REPS, seed: int = 0) -> np.ndarray:
    """Resampled order positions, (reps, n), from ``arch``'s stationary bootstrap."""
    bootstrap = StationaryBootstrap(block, np.arange(n), seed=np.random.default_rng(seed))
    out = np.empty((reps, n), dtype=np.int64)
    for k, _ in enumerate(bootstrap.bootstrap(reps)):
        out[k] = bootstrap.index
    return out


@dataclass(frozen=True)
class Interval:
    """A point estimate and its percentile-bootstrap confidence interval."""

    estimate: float
    low: float
    high: float


def bootstrap_ci(values: np.ndarray, indices: np.ndarray, statistic: str = "mean",
                 level: float = DEFAULT_LEVEL) -> Interval:
    """Percentile CI of the mean or median of ``values`` (in the order the indices refer to).

    NaN entries (undefined benchmarks) are dropped from every resample.
    """
    x = np.asarray(values, dtype=np.float64)
    if statistic not in ("mean", "median"):
        raise ValueError(f"statistic: expected 'mean' or 'median', got {statistic!r}")
    finite = np.isfinite(x)
    if not finite.any():
        return Interval(np.nan, np.nan, np.nan)
    if finite.all():  # the NaN-aware reducers are several times slower
        reducer = np.mean if statistic == "mean" else np.median
    else:
        reducer = np.nanmean if statistic == "mean" else np.nanmedian
    resampled = reducer(x[indices], axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.nanquantile(resampled, [alpha, 1.0 - alpha])
    return Interval(float(reducer(x)), float(low), float(high))


def non_overlapping(order_keys: np.ndarray, horizon: int) -> np.ndarray:
    """Positions of orders whose windows do not overlap: every T-th order within each key (asset)."""
    keys = np.asarray(order_keys)
    positions = np.arange(keys.size)
    keep = np.zeros(keys.size, dtype=bool)
    for key in np.unique(keys):
        rows = positions[keys == key]
        keep[rows[::horizon]] = True
    return np.flatnonzero(keep)


@dataclass(frozen=True)
class PairedComparison:
    """Strategy A minus strategy B on the same orders, in ``perf_bps`` (positive = A is better)."""

    mean_difference: Interval
    wilcoxon_p: float
    n_orders: int
    n_independent: int


def paired_comparison(perf_a: np.ndarray, perf_b: np.ndarray, indices: np.ndarray, independent: np.ndarray,
                      level: float = DEFAULT_LEVEL) -> PairedComparison:
    """Mean difference with a block-bootstrap CI, and the Wilcoxon signed-rank p-value on the
    non-overlapping orders ``independent`` (two-sided; 1.0 when every difference is zero)."""
    diff = np.asarray(perf_a, dtype=np.float64) - np.asarray(perf_b, dtype=np.float64)
    diff = np.where(np.abs(diff) < ZERO_DIFFERENCE_BPS, 0.0, diff)  # rounding noise is no difference
    interval = bootstrap_ci(diff, indices, "mean", level)
    sample = diff[independent]
    sample = sample[np.isfinite(sample)]
    if sample.size == 0 or np.all(sample == 0):
        p_value = 1.0
    else:
        p_value = float(stats.wilcoxon(sample, zero_method="zsplit").pvalue)
    return PairedComparison(mean_difference=interval, wilcoxon_p=p_value, n_orders=int(np.isfinite(diff).sum()),
                            n_independent=int(sample.size))


def holm(p_values: list[float] | np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (``statsmodels``; controls the family-wise error rate under
    any dependence between the tests)."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return p
    return multipletests(p, method="holm")[1]
