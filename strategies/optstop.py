"""Optimal zero-information stopping: what the flexible window alone is worth."""

from __future__ import annotations

from typing import Any

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid
from execbench.errors import StrategyError
from execbench.strategy import OrderContext, Param, StepObservation, Strategy, bounded_step, rate_bounds
from execbench.strategy.price_model import MartingaleModel
from execbench.strategy.stopping import (
    PATHS,
    SIGMA_REF,
    StoppingRule,
    average_fill,
    continue_desired,
    running_benchmark,
    solve_rules,
    state_basis,
)


class OptimalStopping(Strategy):
    """The optimal policy of each flexible scenario for a trader with no information about prices.

    Fitting estimates a martingale model on the training bars (``execbench.strategy.price_model``:
    seasonal volatility, empirical residuals, seasonal volume with AR(1) noise); the first call on a
    grid solves, per scenario, the accelerated-share-repurchase style policy by least-squares Monte
    Carlo on ``paths`` simulated windows (``execbench.strategy.stopping``): a deterministic schedule
    (``front`` of the order over the first m bars, TWAP on the rest) and, before each bar from m on,
    finish the remainder in that bar when the regression of (finish now − continue) on (last price
    vs running benchmark, average fill vs running benchmark, in units of the order's causal
    volatility level) is positive.  The match case trades TWAP.

    Its edge against the realised window is the option's value on those orders: anything a strategy
    earns beyond it needs information about prices or volumes.
    """

    name = "optstop"
    description = "Optimal zero-information stopping (LSMC on a martingale model of the training bars): the option value."
    mode = "adaptive"
    param_specs = {"paths": Param(int, low=256), "seed": Param(int, low=0)}

    def __init__(self, paths: int = PATHS, seed: int = 0):
        self.paths = int(paths)
        self.seed = int(seed)
        self.model: MartingaleModel | None = None
        self._rules: dict[tuple, dict] = {}  # per grid: the solved rules, and grid_state

    def fit(self, bars) -> "OptimalStopping":
        self.model = MartingaleModel.fit(bars, seed=self.seed)
        self.lookback = self.model.vol_bars + 1
        self._rules = {}
        return self

    def get_state(self) -> dict[str, Any]:
        return {"model": None if self.model is None else self.model.state()}

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("model") is not None:
            self.model = MartingaleModel.from_state(state["model"])
            self.lookback = self.model.vol_bars + 1
            self._rules = {}

    def unsupported(self, spec: ContractSpec) -> str | None:
        if spec.max_participation is not None:
            return "the stopping policy schedules by time only and cannot honour a participation cap"
        return None

    def fitted_model(self) -> MartingaleModel:
        if self.model is None:
            raise StrategyError("strategy 'optstop' is not fitted: call fit(training bars) or load a saved state")
        return self.model

    def rules(self, grid: ScenarioGrid) -> dict[str, StoppingRule]:
        """The solved rule of every scenario of ``grid`` (solved once per grid, deterministic in ``seed``)."""
        key = tuple(spec.label for spec in grid.specs) + (grid.horizon,)
        if key not in self._rules:
            self._rules[key] = solve_rules(self.fitted_model(), grid, seed=self.seed, paths=self.paths)
        return self._rules[key]

    def volatility(self, ctx: OrderContext) -> np.ndarray:
        """Each order's causal volatility level (fraction per bar), (n,); the median where the
        history holds no return."""
        model = self.fitted_model()
        level = model.level(ctx.history("prices", self.lookback), ctx.history_times(self.lookback))
        fallback = np.nanmedian(level) if np.isfinite(level).any() else SIGMA_REF
        return np.where(np.isfinite(level) & (level > 0), level, fallback)

    def grid_state(self, grid: ScenarioGrid) -> dict[str, np.ndarray]:
        """What every order of ``grid`` shares: the solved rules stacked by scenario and the contract
        arrays (computed once per grid)."""
        key = ("state",) + tuple(spec.label for spec in grid.specs) + (grid.horizon,)
        if key not in self._rules:
            rules = self.rules(grid)
            arrays = grid.arrays()
            lo, hi = rate_bounds(grid)
            self._rules[key] = {
                "coef": np.stack([rules[spec.label].coef for spec in grid.specs]),  # (S, T, BASIS)
                "front": np.array([rules[spec.label].front for spec in grid.specs], dtype=np.float64),
                "min_period": arrays["min_period"].astype(float),
                "is_twap": arrays["is_twap"].astype(np.bool_),
                "is_notional": arrays["is_notional"].astype(np.bool_),
                "lo": np.asarray(lo, dtype=np.float64),
                "hi": np.asarray(hi, dtype=np.float64),
            }
        return self._rules[key]

    def start(self, ctx: OrderContext, grid: ScenarioGrid) -> dict:
        return {"horizon": ctx.horizon, "sigma": self.volatility(ctx)[:, None], **self.grid_state(grid)}

    def policy_kernel(self, state: dict) -> tuple:
        """``step`` as a per-order Numba kernel (``strategies._policies.optstop_kernel``)."""
        from execbench.strategies._policies import optstop_kernel

        names = ("coef", "front", "min_period", "is_twap", "is_notional", "lo", "hi")
        return optstop_kernel, state["sigma"], tuple(state[name] for name in names)

    def step(self, state: dict, obs: StepObservation) -> np.ndarray:
        s = obs.step
        horizon = state["horizon"]
        remaining = 1.0 - obs.allocated.sum(axis=1)
        desired = continue_desired(remaining, s, horizon, state["min_period"][None, :], state["front"][None, :])
        if s > 0:
            bench = running_benchmark(obs.prices, obs.volumes, state["is_twap"])
            paid = average_fill(obs.prices, obs.allocated, state["is_notional"])
            basis = state_basis(obs.prices[:, -1:], bench, paid, state["sigma"])
        else:
            basis = np.zeros(remaining.shape + (state["coef"].shape[2],))
            basis[..., 0] = 1.0
        coef = state["coef"][:, s, :]
        value = basis[..., 0] * coef[:, 0]
        for b in range(1, coef.shape[1]):  # term by term, in the kernel's order
            value = value + basis[..., b] * coef[:, b]
        exercise = value > 0
        exercise &= s + 1 >= state["min_period"][None, :]
        desired = np.where(exercise, remaining, desired)
        return bounded_step(desired, remaining, s, horizon, state["lo"], state["hi"])
