"""Dynamic VWAP: re-forecast the remaining volume every bar and re-allocate what is left."""

from __future__ import annotations

import numpy as np

from execbench.contracts import ScenarioGrid
from execbench.strategy import OrderContext, Param, StepObservation
from execbench.strategy.stopping import ordered_sum
from execbench.strategies._seasonal import SeasonalStrategy


class DynamicVWAP(SeasonalStrategy):
    """Adaptive VWAP with a causal volume forecast.

    Before bar s it knows the realised bars before s.  It measures the recent level surprise r =
    (volume of the last ``window`` bars) / (their seasonal expectation), forecasts bar t ≥ s as
    seasonal × (1 + (r − 1)·decay^(t−s+1)) (the surprise fades), and trades the remaining fraction
    in proportion: a_s = R_s · F_s / Σ_{t≥s} F_t, within the contract's rate bounds (the last bar
    takes the remainder).  It trades to bar T, ignoring the minimum period.
    """

    name = "dvwap"
    description = "Dynamic VWAP: re-forecasts remaining volume each bar (seasonal × fading recent level)."
    mode = "adaptive"
    param_specs = {"window": Param(int, low=1), "decay": Param(float, low=0.0, high=1.0)}

    def __init__(self, window: int = 4, decay: float = 0.7):
        self.window = int(window)
        self.decay = float(decay)

    def start(self, ctx: OrderContext, grid: ScenarioGrid) -> dict:
        return self.adaptive_state(ctx, grid)

    def policy_kernel(self, state: dict) -> tuple:
        """``step`` as a per-order Numba kernel (``strategies._policies.dvwap_kernel``)."""
        from execbench.strategies._policies import dvwap_kernel

        return dvwap_kernel, self.policy_rows(state), (np.asarray(state["lo"], dtype=np.float64),
                                                       np.array([self.decay]), self.policy_sizes(state))

    def step(self, state: dict, obs: StepObservation) -> np.ndarray:
        s = obs.step
        expected = state["expected"]
        horizon = expected.shape[1]
        fade = self.decay ** np.arange(1, horizon - s + 1)
        future = expected[:, s:] * (1.0 + (self.surprise(state, obs)[:, None] - 1.0) * fade[None, :])
        total = ordered_sum(future)
        share = np.where(total > 0, future[:, 0] / np.where(total > 0, total, 1.0), 1.0 / (horizon - s))
        remaining = 1.0 - obs.allocated.sum(axis=1)
        return self.bounded(state, share[:, None] * remaining, obs)
