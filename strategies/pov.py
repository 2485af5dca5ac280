"""POV: trade a fixed share of the forecast bar volume, finishing by bar T whatever happens."""

from __future__ import annotations

import numpy as np

from execbench.contracts import ScenarioGrid
from execbench.strategy import OrderContext, Param, StepObservation
from execbench.strategies._seasonal import SeasonalStrategy


class POV(SeasonalStrategy):
    """Percentage of volume on a causal forecast.

    Before bar s the forecast of bar s's volume is its seasonal expectation scaled by the recent level
    surprise (last ``window`` bars: realised / expected).  It trades ``rate`` × forecast volume (in
    units, converted to the notional target with the last price), within the contract's rate bounds,
    with the completion guarantee: never less than what is needed to finish by bar T at the maximum
    rate, and the last bar takes the remainder.  It stops when done, so on flexible contracts its
    realised window ends when the order is complete (but never before the minimum period).
    """

    name = "pov"
    description = "Percentage of volume: trades `rate` × forecast bar volume, completes by bar T."
    mode = "adaptive"
    param_specs = {"rate": Param(float, low=0.0, high=1.0, low_open=True), "window": Param(int, low=1)}

    def __init__(self, rate: float = 0.02, window: int = 4):
        self.rate = float(rate)
        self.window = int(window)

    def start(self, ctx: OrderContext, grid: ScenarioGrid) -> dict:
        qty, notional = ctx.sizes()
        arrays = grid.arrays()
        return {
            **self.adaptive_state(ctx, grid),
            "last_price": ctx.history("prices", 1)[:, 0], "qty": qty, "notional": notional,
            "is_notional": arrays["is_notional"],
            # a scenario's participation cap, when it has one, caps the target rate
            "rate": np.minimum(self.rate, arrays["max_participation"]),
        }

    def policy_kernel(self, state: dict) -> tuple:
        """``step`` as a per-order Numba kernel (``strategies._policies.pov_kernel``)."""
        from execbench.strategies._policies import pov_kernel

        sizes = np.column_stack([state["last_price"], state["qty"], state["notional"]])
        return pov_kernel, np.concatenate([self.policy_rows(state), sizes], axis=1), (
            np.asarray(state["lo"], dtype=np.float64), np.asarray(state["rate"], dtype=np.float64),
            np.asarray(state["is_notional"], dtype=np.bool_), self.policy_sizes(state))

    def step(self, state: dict, obs: StepObservation) -> np.ndarray:
        s = obs.step
        horizon = state["expected"].shape[1]
        units = (state["expected"][:, s] * self.surprise(state, obs))[:, None] * state["rate"][None, :]
        price = obs.prices[:, -1] if s > 0 else state["last_price"]
        with np.errstate(invalid="ignore", divide="ignore"):
            of_qty = units / state["qty"][:, None]
            of_notional = units * (price / state["notional"])[:, None]
        desired = np.where(state["is_notional"][None, :], of_notional, of_qty)
        return self.bounded(state, np.nan_to_num(desired, nan=1.0 / horizon, posinf=1.0), obs)
