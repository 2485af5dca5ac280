"""Almgren–Chriss: the closed-form mean-variance optimal trajectory."""

from __future__ import annotations

from typing import Any

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid
from execbench.data.frames import iter_assets
from execbench.data.prices import bar_prices
from execbench.errors import StrategyError
from execbench.strategy import OrderContext, Param, Strategy, ac_trajectory, fit_profile, rate_bounds


class AlmgrenChriss(Strategy):
    """Almgren–Chriss with volatility estimated on the training period.

    ``risk_aversion`` is λ and ``eta`` the temporary-impact coefficient, in units where the order is 1
    and the price is 1 (``eta = 1e-4``: trading the whole order in one bar moves the price 1 bp against
    you); σ is the standard deviation of bar-price log returns over the training bars.  Higher
    urgency (λσ²/η) front-loads more.  The schedule is fixed at the origin and trades to bar T
    (the minimum period is ignored); the contract's minimum/maximum rates are enforced.  No volume
    forecast, so participation caps are not supported.
    """

    name = "ac"
    description = "Almgren-Chriss closed-form trajectory (risk_aversion, eta); sigma fitted on training bars."
    mode = "static"

    param_specs = {"risk_aversion": Param(float, low=0.0), "eta": Param(float, low=0.0, low_open=True)}

    def __init__(self, risk_aversion: float = 1.0, eta: float = 1e-4):
        self.risk_aversion = float(risk_aversion)
        self.eta = float(eta)
        self.sigma: float | None = None

    def fit(self, bars) -> "AlmgrenChriss":
        returns = [np.diff(np.log(bar_prices(frame))) for _, frame in iter_assets(bars)]
        pooled = np.concatenate(returns) if returns else np.array([])
        if pooled.size < 2:
            raise StrategyError("strategy 'ac': need training bars to estimate volatility")
        self.sigma = float(np.std(pooled, ddof=1))
        return self

    def get_state(self) -> dict[str, Any]:
        return {"sigma": self.sigma}

    def set_state(self, state: dict[str, Any]) -> None:
        sigma = state.get("sigma")
        if sigma is not None and (isinstance(sigma, bool) or not isinstance(sigma, (int, float))
                                  or not np.isfinite(sigma) or sigma < 0):
            raise StrategyError(f"strategy 'ac': state sigma={sigma!r}; expected a finite number >= 0")
        self.sigma = None if sigma is None else float(sigma)

    def unsupported(self, spec: ContractSpec) -> str | None:
        if spec.max_participation is not None:
            return "Almgren-Chriss schedules by time only and cannot honour a participation cap"
        return None

    def schedule(self, ctx: OrderContext, grid: ScenarioGrid) -> np.ndarray:
        if self.sigma is None:
            raise StrategyError("strategy 'ac' is not fitted: call fit(training bars) or load a saved state")
        trade = ac_trajectory(ctx.horizon, self.risk_aversion, self.eta, self.sigma)
        lo, hi = rate_bounds(grid)
        profile = np.broadcast_to(trade[None, :, None], (ctx.n_orders, ctx.horizon, 1))
        return fit_profile(profile, lo, hi)
