"""Summary statistics of slippage distributions (the paper's columns)."""

from __future__ import annotations

import numpy as np

PAPER_COLUMNS = ("N", "Mean", "Std", "Median", "P5", "P95", "Q25", "Q75")
QUANTILES = {"Median": 50, "P5": 5, "P95": 95, "Q25": 25, "Q75": 75}  # the percentile of each quantile column

def percentiles(values: np.ndarray, q, axis: int = -1) -> np.ndarray:
    """``np.percentile(values, q, axis=axis)`` (linear interpolation), computed on the values sorted along
    ``axis``: the same order statistics, hence the same numbers, in about 60 % of the time for several
    quantiles (NumPy partitions around two ranks per quantile; its sort is vectorised)."""
    return np.percentile(np.sort(values, axis=axis), q, axis=axis)


def summarize(values: np.ndarray) -> dict[str, float]:
    """N, mean, sample std, median, P5, P95, Q25, Q75 of the finite entries of ``values``.

    NaN entries (orders whose benchmark is undefined) are left out and not counted in N.
    """
    x = _finite(values)
    if x.size == 0:
        return {"N": 0, **{c: np.nan for c in PAPER_COLUMNS[1:]}}
    quantiles = dict(zip(QUANTILES, percentiles(x, list(QUANTILES.values())), strict=True))
    return {
        "N": int(x.size),
        "Mean": float(x.mean()),
        "Std": float(x.std(ddof=1)) if x.size > 1 else np.nan,
        **{c: float(quantiles[c]) for c in PAPER_COLUMNS[3:]},
    }



def statistic(values: np.ndarray, stat: str) -> float:
    """``summarize(values)[stat]``, computing only that statistic (no percentiles for N, Mean or Std)."""
    x = _finite(values)
    if stat == "N":
        return int(x.size)
    if stat not in PAPER_COLUMNS:
        raise ValueError(f"statistic {stat!r}: expected one of {', '.join(PAPER_COLUMNS)}")
    if x.size == 0 or (stat == "Std" and x.size == 1):
        return np.nan
    if stat == "Mean":
        return float(x.mean())
    if stat == "Std":
        return float(x.std(ddof=1))
    return float(np.percentile(x, QUANTILES[stat]))


def _finite(values: np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    return x[np.isfinite(x)]


def binned_kde(values: np.ndarray, grid: np.ndarray, bw_adjust: float = 1.0) -> np.ndarray:
    """Gaussian kernel density of ``values`` on the evenly spaced ``grid`` with Scott's bandwidth times
    ``bw_adjust`` (as ``scipy.stats.gaussian_kde`` and seaborn's ``kdeplot``), computed on a histogram
    over the grid's bins (exact up to the bin width; every order counts, in milliseconds where the exact
    sum over orders × grid points takes a tenth of a second per curve).  Values outside the grid are left
    out of the shape but not of the normalisation."""
    from scipy.ndimage import gaussian_filter1d

    step = grid[1] - grid[0]
    edges = np.r_[grid - step / 2, grid[-1] + step / 2]
    counts, _ = np.histogram(values, bins=edges)
    bandwidth = bw_adjust * values.std(ddof=1) * values.size ** (-1 / 5)
    smoothed = gaussian_filter1d(counts.astype(float), sigma=max(bandwidth / step, 1e-9), mode="constant")
    return smoothed / (values.size * step)
