"""A causal seasonal volume model: expected bar volume = recent level × seasonal factor.

Fitted on training bars only.  The factor of a slot (time of day × day of week for intraday bars,
day of week for daily sessions) is the mean over the training bars of that slot of the bar's volume
divided by the mean volume of the ``level_bars`` bars before it (a causal normaliser).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from execbench.data.frames import iter_assets
from execbench.data.frequency import freq_minutes
from execbench.errors import DataError, StrategyError

if TYPE_CHECKING:
    import pandas as pd


def level_window(freq: str, calendar: str) -> int:
    """Bars in the trailing normaliser: one week of intraday bars, 20 sessions for daily bars."""
    if calendar == "sessions":
        return 20
    return max(1, 7 * 24 * 60 // freq_minutes(freq))


def slot_of(times: np.ndarray, calendar: str) -> np.ndarray:
    """Seasonal slot of bar open times (datetime64[ns] UTC, any shape): minute of the week for
    intraday bars, day of the week for daily sessions."""
    stamps = np.asarray(times, dtype="datetime64[ns]")
    minutes = stamps.astype("datetime64[m]").astype(np.int64)
    days = minutes // 1440
    day_of_week = (days + 3) % 7  # 1970-01-01 was a Thursday (3 with Monday = 0)
    if calendar == "sessions":
        return day_of_week
    return day_of_week * 1440 + minutes % 1440


@dataclass(frozen=True)
class SeasonalVolume:
    """Seasonal volume factors by slot, and the trailing-level window they were fitted with."""

    calendar: str
    level_bars: int
    slots: np.ndarray  # sorted slot ids
    factors: np.ndarray  # mean normalised volume of each slot

    @classmethod
    def fit(cls, bars: "pd.DataFrame") -> "SeasonalVolume":
        """Fit on training bars (one asset or a universe; assets are pooled)."""
        import pandas as pd  # when fitting only: strategies built on this module list without pandas

        calendar = bars.attrs.get("calendar", "continuous")
        window = level_window(bars.attrs["freq"], calendar)
        keys, values = [], []
        for _, frame in iter_assets(bars):
            volume = frame["volume"].to_numpy("float64")
            level = pd.Series(volume).rolling(window, min_periods=window).mean().shift(1).to_numpy()
            ok = np.isfinite(level) & (level > 0)
            keys.append(slot_of(frame.index.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[ns]"), calendar)[ok])
            values.append(volume[ok] / level[ok])
        if not keys or sum(k.size for k in keys) == 0:
            raise DataError(f"seasonal volume: need more than {window} training bars to fit")
        table = pd.Series(np.concatenate(values)).groupby(np.concatenate(keys)).mean()
        return cls(calendar=calendar, level_bars=window, slots=table.index.to_numpy(np.int64),
                   factors=table.to_numpy("float64"))

    def factor(self, times: np.ndarray) -> np.ndarray:
        """Seasonal factor of each bar time (1.0 for a slot never seen in training)."""
        slots = slot_of(times, self.calendar)
        pos = np.clip(np.searchsorted(self.slots, slots), 0, len(self.slots) - 1)
        found = self.slots[pos] == slots
        return np.where(found, self.factors[pos], 1.0)

    def state(self) -> dict:
        return {"calendar": self.calendar, "level_bars": self.level_bars, "slots": self.slots.tolist(),
                "factors": self.factors.tolist()}

    @classmethod
    def from_state(cls, state: dict) -> "SeasonalVolume":
        """Rebuild from ``state()``; ``StrategyError`` in one line for a state that is not one."""
        try:
            calendar, level_bars = state["calendar"], state["level_bars"]
            slots = np.asarray(state["slots"], dtype=np.int64)
            factors = np.asarray(state["factors"], dtype=float)
        except (KeyError, TypeError, ValueError) as exc:
            raise StrategyError(f"seasonal volume state: missing or malformed field ({type(exc).__name__}: {exc})") from None
        problems = []
        if calendar not in ("continuous", "sessions"):
            problems.append(f"calendar {calendar!r} (expected continuous or sessions)")
        if isinstance(level_bars, bool) or not isinstance(level_bars, int) or level_bars < 1:
            problems.append(f"level_bars {level_bars!r} (expected a whole number >= 1)")
        if slots.ndim != 1 or slots.shape != factors.shape or slots.size == 0:
            problems.append(f"{slots.size} slots for {factors.size} factors (expected as many, at least one)")
        elif not (np.isfinite(factors).all() and (factors >= 0).all()):
            problems.append("factors that are not finite and >= 0")
        if problems:
            raise StrategyError("seasonal volume state: " + "; ".join(problems))
        return cls(calendar=calendar, level_bars=level_bars, slots=slots, factors=factors)
