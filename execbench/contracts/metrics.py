"""How a contract's outcome is measured, defined once: bps in the paper's sign and side-adjusted ``perf_bps``
(every result type, in memory or on disk, derives its columns from here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from execbench.contracts.grid import ScenarioGrid

SIGN_CONVENTION = ("bps = (achieved / benchmark - 1) * 1e4 (paper sign: a good buy is negative, a good sell "
                   "positive); perf_bps is side-adjusted, positive = better than the benchmark")


# |perf_bps| below this is floating-point noise (TWAP against its own TWAP benchmark differs by ~1e-12):
# a tie, neither a hit nor a miss
TIE_BPS = 1e-6


def hit_rate(perf: np.ndarray) -> float:
    """Share of the finite ``perf_bps`` values that beat the benchmark by more than ``TIE_BPS``."""
    x = np.asarray(perf, dtype=np.float64)
    x = x[np.isfinite(x)]
    return float((x > TIE_BPS).mean()) if x.size else float("nan")


def paper_bps(achieved: np.ndarray, benchmark: np.ndarray) -> np.ndarray:
    """``(achieved / benchmark − 1)·1e4``: a good buy is negative, a good sell positive; NaN where the
    benchmark is undefined."""
    with np.errstate(invalid="ignore"):
        return (achieved / benchmark - 1.0) * 1e4


def perf_bps(bps: np.ndarray, side_sign: np.ndarray) -> np.ndarray:
    """Side-adjusted bps, positive = better than the benchmark: −bps for buys (side +1), +bps for sells."""
    return -np.asarray(side_sign)[None, :] * bps


class PerScenario:
    """What every per-(order, scenario) result shares: ``grid`` and ``bps`` give ``perf_bps`` and columns."""

    grid: "ScenarioGrid"  # set by the dataclasses that mix this in
    bps: np.ndarray

    @property
    def n_orders(self) -> int:
        return self.bps.shape[0]

    @property
    def horizon(self) -> int:
        return self.grid.horizon

    @property
    def perf_bps(self) -> np.ndarray:
        """Side-adjusted bps, positive = better than the benchmark (``metrics.perf_bps``)."""
        return perf_bps(self.bps, self.grid.side_sign)

    def column(self, metric: str, label: str) -> np.ndarray:
        """One metric of one scenario across orders, e.g. ``column("bps", "buy-vwap-quantity-m3")``."""
        s = self.grid.index(label)
        if metric == "perf_bps":  # from the one bps column (the same values as the (n, S) ``perf_bps``)
            return perf_bps(self.bps[:, s][:, None], self.grid.side_sign[s:s + 1])[:, 0]
        return getattr(self, metric)[:, s]
