"""Flexible-horizon heuristic: front-load, then finish early when the price is on your side."""

from __future__ import annotations

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid
from execbench.strategy import bounded_step, rate_bounds
from execbench.strategy import OrderContext, Param, StepObservation, Strategy
from execbench.strategy.stopping import continue_desired, running_benchmark


class FlexHeuristic(Strategy):
    """The transparent rule any learned model must beat on flexible contracts.

    For a flexible contract with minimum period m (bars numbered 1..T; the decision for bar t uses the
    realised bars before t only; comparisons are strict, so with one realised bar — where the price is
    its own benchmark — nothing triggers):

    1. Bars t < m: trade max(front / m, R / (T − t + 1)) — the share ``front`` of the order spread over
       the first m bars, never slower than TWAP on the remainder R.
    2. Bars t ≥ m: compare the last realised price P(t−1) with the benchmark so far (VWAP, or the mean
       price for a TWAP benchmark, of bars 1..t−1).  A buyer finishes the whole remainder in bar t if
       P(t−1) < benchmark·(1 − threshold); a seller if P(t−1) > benchmark·(1 + threshold).  Otherwise
       keep going at R / (T − t + 1) (stretch evenly to T); at bar m itself, at the pace of rule 1.
    3. Bar T takes whatever remains; the contract's minimum/maximum rates always hold.

    Ending early is what shortens the benchmark window to the bars already traded, where the price
    looked favourable.  On the fixed-horizon match case there is nothing to choose: it trades TWAP.
    """

    name = "flex"
    description = "Flexible-horizon heuristic: front-load, finish at/after bar m when price beats the benchmark so far."
    mode = "adaptive"

    param_specs = {"front": Param(float, low=0.0, high=1.0), "threshold_bps": Param(float)}

    def __init__(self, front: float = 0.5, threshold_bps: float = 0.0):
        self.front = float(front)
        self.threshold_bps = float(threshold_bps)

    def unsupported(self, spec: ContractSpec) -> str | None:
        if spec.max_participation is not None:
            return "the flexible-horizon heuristic has no volume forecast and cannot honour a participation cap"
        return None

    def start(self, ctx: OrderContext, grid: ScenarioGrid) -> dict:
        arrays = grid.arrays()
        lo, hi = rate_bounds(grid)
        return {
            "horizon": ctx.horizon,
            "n_orders": ctx.n_orders,
            "min_period": arrays["min_period"].astype(float),
            "match": np.array([spec.match for spec in grid.specs]),
            "is_twap": arrays["is_twap"],
            "buy": grid.side_sign > 0,
            "lo": lo,
            "hi": hi,
        }

    def policy_kernel(self, state: dict) -> tuple:
        """``step`` as a per-order Numba kernel (``strategies._policies.flex_kernel``)."""
        from execbench.strategies._policies import flex_kernel

        flags = tuple(np.asarray(state[k], dtype=np.bool_) for k in ("match", "is_twap", "buy"))
        return flex_kernel, np.zeros((state["n_orders"], 1)), (
            np.asarray(state["min_period"], dtype=np.float64), *flags, np.asarray(state["lo"], dtype=np.float64),
            np.asarray(state["hi"], dtype=np.float64),
            np.array([self.front, self.threshold_bps, state["horizon"]], dtype=np.float64))

    def step(self, state: dict, obs: StepObservation) -> np.ndarray:
        s = obs.step
        bar = s + 1  # 1-based bar number of the decision
        horizon = state["horizon"]
        remaining = 1.0 - obs.allocated.sum(axis=1)
        stretch = remaining / (horizon - s)
        desired = continue_desired(remaining, s, horizon, state["min_period"][None, :], self.front)
        if s > 0:
            last = obs.prices[:, -1]
            bench = running_benchmark(obs.prices, obs.volumes, state["is_twap"])
            edge = self.threshold_bps * 1e-4
            good = np.where(state["buy"][None, :], last[:, None] < bench * (1 - edge),
                            last[:, None] > bench * (1 + edge))
            finish = good & (bar >= state["min_period"][None, :])
            desired = np.where(finish, remaining, desired)
        desired = np.where(state["match"][None, :], stretch, desired)
        return bounded_step(desired, remaining, s, horizon, state["lo"], state["hi"])
