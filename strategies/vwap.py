"""Static VWAP: follow the historical average volume curve of the window."""

from __future__ import annotations

import numpy as np

from execbench.contracts import ScenarioGrid
from execbench.schedules import fit_profile, rate_bounds
from execbench.strategy import OrderContext
from strategies._seasonal import SeasonalStrategy


def participation_caps(grid: ScenarioGrid, ctx: OrderContext, expected_volume: np.ndarray,
                       prices: np.ndarray | None = None) -> np.ndarray:
    """Per-bar upper bound on the allocation, (n, T, S): the max rate, and where a scenario has a
    participation cap, cap × expected bar volume / order size (in the scenario's target units)."""
    arrays = grid.arrays()
    hi = np.broadcast_to(arrays["max_rate"][None, None, :], (ctx.n_orders, ctx.horizon, len(grid))).copy()
    caps = arrays["max_participation"]
    if np.isfinite(caps).any():
        qty, notional = ctx.sizes()
        price = ctx.history("prices", 1)[:, 0] if prices is None else prices
        for s in np.flatnonzero(np.isfinite(caps)):
            if arrays["is_notional"][s]:
                room = caps[s] * expected_volume * price[:, None] / np.maximum(notional, 1e-300)[:, None]
            else:
                room = caps[s] * expected_volume / np.maximum(qty, 1e-300)[:, None]
            hi[:, :, s] = np.minimum(hi[:, :, s], room)
    return hi


class StaticVWAP(SeasonalStrategy):
    """Allocate in proportion to the expected volume of each bar of the full horizon.

    The expected volume is the seasonal factor of the bar's slot (time of day × day of week for
    intraday bars, day of week for daily sessions), fitted on the training period only.  The schedule
    is fixed at the origin and ignores the minimum period (it always trades to bar T).  Mixed with the
    minimum rate so every bar gets at least 1/T², capped by the maximum rate and, with a participation
    cap, by cap × expected volume.
    """

    name = "vwap"
    description = "Static VWAP curve: historical volume profile by time-of-day/day-of-week (training period)."
    mode = "static"

    def schedule(self, ctx: OrderContext, grid: ScenarioGrid) -> np.ndarray:
        expected, _ = self.forecast(ctx)
        lo, _ = rate_bounds(grid)
        hi = participation_caps(grid, ctx, expected)
        return fit_profile(expected[:, :, None], lo, hi)
