"""POV: trade a fixed share of the forecast bar volume, finishing by bar T whatever happens."""

from __future__ import annotations

import numpy as np

from execbench.contracts import ScenarioGrid
from execbench.schedules import bounded_step, rate_bounds
from execbench.strategy import OrderContext, StepObservation
from strategies._seasonal import SeasonalStrategy


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

    def __init__(self, rate: float = 0.02, window: int = 4):
        self.rate = float(rate)
        self.window = int(window)

    def start(self, ctx: OrderContext, grid: ScenarioGrid) -> dict:
        expected, level = self.forecast(ctx)
        model = self._model()
        qty, notional = ctx.sizes()
        lo, _ = rate_bounds(grid)
        hi = self.step_caps(ctx, grid, expected)
        return {
            "expected": expected, "volumes": ctx.history("volumes", self.window),
            "expected_past": level[:, None] * model.factor(ctx.history_times(self.window)),
            "last_price": ctx.history("prices", 1)[:, 0], "qty": qty, "notional": notional,
            "is_notional": grid.arrays()["is_notional"], "lo": lo, "hi": hi,
            # a scenario's participation cap, when it has one, caps the target rate
            "rate": np.minimum(self.rate, grid.arrays()["max_participation"]),
        }

    def step(self, state: dict, obs: StepObservation) -> np.ndarray:
        s = obs.step
        expected = state["expected"]
        horizon = expected.shape[1]
        past_volume = np.concatenate([state["volumes"], obs.volumes], axis=1)[:, -self.window:]
        past_expected = np.concatenate([state["expected_past"], expected[:, :s]], axis=1)[:, -self.window:]
        with np.errstate(invalid="ignore", divide="ignore"):
            surprise = np.nansum(past_volume, axis=1) / np.nansum(past_expected, axis=1)
        surprise = np.where(np.isfinite(surprise) & (surprise > 0), surprise, 1.0)
        units = (expected[:, s] * surprise)[:, None] * state["rate"][None, :]
        price = obs.prices[:, -1] if s > 0 else state["last_price"]
        with np.errstate(invalid="ignore", divide="ignore"):
            of_qty = units / state["qty"][:, None]
            of_notional = units * (price / state["notional"])[:, None]
        desired = np.where(state["is_notional"][None, :], of_notional, of_qty)
        desired = np.nan_to_num(desired, nan=1.0 / horizon, posinf=1.0)
        remaining = 1.0 - obs.allocated.sum(axis=1)
        return bounded_step(desired, remaining, s, horizon, state["lo"], state["hi"][:, s, :],
                            later=state["hi"][:, s + 1:, :].sum(axis=1))
