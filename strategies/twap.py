"""TWAP: the same share of the order in every bar of the full horizon."""

from __future__ import annotations

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid
from execbench.strategy import OrderContext, Strategy


class TWAP(Strategy):
    """Time-weighted schedule over all T bars.

    Equal shares per bar for a quantity target and equal notional per bar for a notional target:
    in both cases the allocation (a fraction of the order in its own units) is 1/T per bar.  It
    ignores the minimum period, so its realised window is always the full horizon.  It cannot honour
    a participation cap (it has no volume forecast), so it refuses scenarios that set one.
    """

    name = "twap"
    description = "Equal shares (quantity) or equal notional (notional) in each of the T bars."
    mode = "static"

    def unsupported(self, spec: ContractSpec) -> str | None:
        if spec.max_participation is not None:
            return "TWAP schedules by time only and cannot honour a participation cap"
        return None

    def schedule(self, ctx: OrderContext, grid: ScenarioGrid) -> np.ndarray:
        return np.full((ctx.n_orders, ctx.horizon, len(grid)), 1.0 / ctx.horizon)
