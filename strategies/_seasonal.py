"""Shared base of the strategies that forecast volume with the seasonal model."""

from __future__ import annotations

from typing import Any

import numpy as np

from execbench.errors import StrategyError
from execbench.strategy import OrderContext, Strategy
from execbench.volume_profile import SeasonalVolume


class SeasonalStrategy(Strategy):
    """A strategy with a ``SeasonalVolume`` model fitted on the training bars."""

    model: SeasonalVolume | None = None

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
        from strategies.vwap import participation_caps

        return participation_caps(grid, ctx, expected)

    def forecast(self, ctx: OrderContext) -> tuple[np.ndarray, np.ndarray]:
        """Expected volume of each execution bar from the origin's information, (n, T), and the
        trailing level (mean volume of the ``level_bars`` bars before the origin), (n,)."""
        model = self._model()
        history = ctx.history("volumes", model.level_bars)
        with np.errstate(invalid="ignore"):
            level = np.nan_to_num(np.nanmean(history, axis=1))
        factors = model.factor(ctx.bar_times())
        return level[:, None] * factors, level
