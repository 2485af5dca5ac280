"""Static VWAP: follow the historical average volume curve of the window."""

from __future__ import annotations

import numpy as np

from execbench.contracts import ScenarioGrid
from execbench.strategy import fit_profile, participation_caps, rate_bounds
from execbench.strategy import OrderContext
from execbench.strategies._seasonal import SeasonalStrategy


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
