"""Shared base of the strategies that forecast volume with the seasonal model."""

from __future__ import annotations

from typing import Any

import numpy as np

from execbench.errors import StrategyError
from execbench.strategy import bounded_step, participation_caps, rate_bounds
from execbench.strategy import OrderContext, StepObservation, Strategy
from execbench.strategy import SeasonalVolume
from execbench.strategy.stopping import ordered_sum


class SeasonalStrategy(Strategy):
    """A strategy with a ``SeasonalVolume`` model fitted on the training bars.

    Adaptive subclasses get ``adaptive_state`` (forecast, rate bounds, caps, recent history) and
    ``surprise`` (realised / expected volume over the last ``window`` bars, before each decision).
    """

    model: SeasonalVolume | None = None
    window: int = 4

    def fit(self, bars) -> "SeasonalStrategy":
        self.model = SeasonalVolume.fit(bars)
        self.lookback = self.model.level_bars
        return self

    def get_state(self) -> dict[str, Any]:
        return {"volume_model": None if self.model is None else self.model.state()}

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("volume_model") is not None:
            self.model = SeasonalVolume.from_state(state["volume_model"])
            self.lookback = self.model.level_bars

    def _model(self) -> SeasonalVolume:
        if self.model is None:
            raise StrategyError(f"strategy {self.name!r} is not fitted: call fit(training bars) or load a saved state")
        return self.model

    def step_caps(self, ctx: OrderContext, grid, expected: np.ndarray) -> np.ndarray:
        """Per-bar allocation caps (n, T, S): the max rate and, for scenarios with a participation
        cap, cap × forecast bar volume / order size (converted at the arrival price for notional)."""
        return participation_caps(grid, ctx, expected)

    def adaptive_state(self, ctx: OrderContext, grid) -> dict:
        """What an adaptive policy needs at the origin: the forecast, recent volumes and their
        expectation, and the per-bar bounds."""
        expected, level = self.forecast(ctx)
        return {
            "expected": expected,
            "volumes": ctx.history("volumes", self.window),
            "expected_past": level[:, None] * self._model().factor(ctx.history_times(self.window)),
            "lo": rate_bounds(grid)[0],
            "hi": self.step_caps(ctx, grid, expected),
        }

    def surprise(self, state: dict, obs: StepObservation) -> np.ndarray:
        """Realised over expected volume of the last ``window`` bars before bar ``obs.step``, (n,)
        (1 where undefined)."""
        past_volume = np.concatenate([state["volumes"], obs.volumes], axis=1)[:, -self.window:]
        expected = np.concatenate([state["expected_past"], state["expected"][:, :obs.step]], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = (ordered_sum(np.nan_to_num(past_volume, nan=0.0))
                     / ordered_sum(np.nan_to_num(expected[:, -self.window:], nan=0.0)))
        return np.where(np.isfinite(ratio) & (ratio > 0), ratio, 1.0)

    @staticmethod
    def policy_rows(state: dict) -> np.ndarray:
        """``adaptive_state`` as one row per order for a Numba policy (``strategies._policies._seasonal``):
        the forecast (T), the last ``window`` history volumes, their expectation, the caps (T × S)."""
        n = state["expected"].shape[0]
        return np.concatenate([state["expected"], state["volumes"], state["expected_past"],
                               state["hi"].reshape(n, -1)], axis=1)

    def policy_sizes(self, state: dict) -> np.ndarray:
        """(window, T) for a Numba policy."""
        return np.array([self.window, state["expected"].shape[1]], dtype=np.int64)

    @staticmethod
    def bounded(state: dict, desired: np.ndarray, obs: StepObservation) -> np.ndarray:
        """``bounded_step`` with this bar's caps and the capacity of the later bars."""
        s = obs.step
        remaining = 1.0 - obs.allocated.sum(axis=1)
        horizon = state["expected"].shape[1]
        return bounded_step(desired, remaining, s, horizon, state["lo"], state["hi"][:, s, :],
                            later=state["hi"][:, s + 1:, :].sum(axis=1))

    def forecast(self, ctx: OrderContext) -> tuple[np.ndarray, np.ndarray]:
        """Expected volume of each execution bar from the origin's information, (n, T), and the
        trailing level (mean volume of the ``level_bars`` bars before the origin), (n,)."""
        model = self._model()
        history = ctx.history("volumes", model.level_bars)
        with np.errstate(invalid="ignore"):
            level = np.nan_to_num(np.nanmean(history, axis=1))
        factors = model.factor(ctx.bar_times())
        return level[:, None] * factors, level
