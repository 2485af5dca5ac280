"""TWAP: the same share of the order in every bar of the full horizon."""

from __future__ import annotations

import numpy as np

from execbench.contracts import ScenarioGrid
from execbench.strategy import OrderContext, Strategy


class TWAP(Strategy):
    """Time-weighted schedule over all T bars.

    Equal shares per bar for a quantity target and equal notional per bar for a notional target:
    in both cases the allocation (a fraction of the order in its own units) is 1/T per bar.  It
    ignores the minimum period, so its realised window is always the full horizon.
    """

    name = "twap"
    description = "Equal shares (quantity) or equal notional (notional) in each of the T bars."
    mode = "static"

    def schedule(self, ctx: OrderContext, grid: ScenarioGrid) -> np.ndarray:
        return np.full((ctx.n_orders, ctx.horizon, len(grid)), 1.0 / ctx.horizon)
