"""A zero-information market model fitted on training bars: a martingale in log price with seasonal
volatility, and seasonal volume with persistent noise.

Model (per bar j, bar price P under the price convention, r_j = log P_j − log P_{j−1}):

* r_j = σ · s(slot_j) · ε_j, with ε_j i.i.d., mean 0, variance 1, drawn from the empirical
  distribution of the training residuals (stored as quantiles), so the log price is a martingale
  whatever the tails;
* s is the seasonal volatility factor of the bar's slot (minute of the week for intraday bars, day
  of the week for sessions; ``volume_profile.slot_of``), the root mean square over the training bars
  of r_j divided by a one-week (20-session) trailing volatility;
* σ is the volatility level.  ``level`` estimates it causally from the bars before an origin,
  deseasonalised: σ̂² = mean of (r_j / s_j)² over the ``vol_bars`` bars before it.  The residuals
  are r_j / (s_j σ̂_j) with that same estimator, so its sampling error is part of the model;
* V_j = f(slot_j) · η_j with f the seasonal volume factor (``SeasonalVolume``) and log η an AR(1)
  fitted on the training bars (VWAP weights depend on the shape of volume only, not its level).

The model holds no information about direction: every simulated price path is driftless.  It is
what ``execbench.strategy.stopping`` prices the flexible-horizon option on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from execbench.data.frames import iter_assets
from execbench.data.frequency import freq_minutes
from execbench.errors import DataError, StrategyError
from execbench.strategy.volume_profile import SeasonalVolume, level_window, slot_of

if TYPE_CHECKING:
    import pandas as pd

QUANTILES = 1001  # stored quantiles of the standardised residuals
TIME_SAMPLE = 4096  # stored training bar times the simulation starts windows from


def vol_window(freq: str, calendar: str) -> int:
    """Bars in the causal volatility level: one day of intraday bars, 20 sessions for daily bars."""
    if calendar == "sessions":
        return 20
    return max(2, 24 * 60 // freq_minutes(freq))


def _lookup(table_slots: np.ndarray, table_values: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Value of each slot in a sorted table (1.0 for a slot the table does not hold)."""
    pos = np.clip(np.searchsorted(table_slots, slots), 0, len(table_slots) - 1)
    return np.where(table_slots[pos] == slots, table_values[pos], 1.0)


def _trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the ``window`` values before each position (NaN until ``window`` are available)."""
    import pandas as pd

    return pd.Series(values).rolling(window, min_periods=window).mean().shift(1).to_numpy()


@dataclass(frozen=True)
class MartingaleModel:
    """A fitted zero-information model (see the module docstring); ``simulate`` draws windows."""

    freq: str
    calendar: str
    vol_bars: int
    slots: np.ndarray  # sorted slot ids
    vol_factors: np.ndarray  # seasonal volatility factor of each slot
    volume: SeasonalVolume
    quantiles: np.ndarray  # (QUANTILES,) of the standardised residuals
    volume_ar: tuple[float, float, float]  # mean, AR(1) coefficient and innovation std of log η
    times: np.ndarray  # sample of training bar open times (int64 ns, UTC)

    def __repr__(self) -> str:
        mu, phi, sd = self.volume_ar
        return (f"MartingaleModel({self.freq} {self.calendar}, {len(self.slots)} slots, vol level over {self.vol_bars} "
                f"bars, residual kurtosis {self.kurtosis():.1f}, log-volume AR(1) φ={phi:.2f} sd={sd:.2f})")

    def kurtosis(self) -> float:
        q = self.quantiles[1:-1]
        return float(np.mean(q**4) / np.mean(q**2) ** 2)

    @classmethod
    def fit(cls, bars: "pd.DataFrame", seed: int = 0) -> "MartingaleModel":
        """Fit on training bars (one asset or a universe; assets are pooled)."""
        from execbench.data.prices import bar_prices

        freq, calendar = bars.attrs["freq"], bars.attrs.get("calendar", "continuous")
        volume_model = SeasonalVolume.fit(bars)
        week, short = level_window(freq, calendar), vol_window(freq, calendar)
        per_asset = []
        for _, frame in iter_assets(bars):
            times = frame.index.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[ns]")
            returns = np.diff(np.log(bar_prices(frame)), prepend=np.nan)
            per_asset.append((times, returns, frame["volume"].to_numpy("float64")))
        keys, ratios = [], []
        for times, returns, _ in per_asset:  # pass 1: seasonal factors against a one-week level
            level = _trailing_mean(returns**2, week)
            ok = np.isfinite(returns) & np.isfinite(level) & (level > 0)
            keys.append(slot_of(times, calendar)[ok])
            ratios.append(returns[ok] ** 2 / level[ok])
        if not keys or sum(k.size for k in keys) < 10 * short:
            raise DataError(f"martingale model: need more than {week + 10 * short} training bars to fit")
        import pandas as pd

        table = pd.Series(np.concatenate(ratios)).groupby(np.concatenate(keys)).mean()
        slots, factors = table.index.to_numpy(np.int64), np.sqrt(table.to_numpy("float64"))
        factors = np.where(factors > 0, factors, 1.0)
        residuals, log_eta, previous = [], [], []
        for times, returns, volume in per_asset:  # pass 2: residuals against the causal estimator
            season = _lookup(slots, factors, slot_of(times, calendar))
            level = np.sqrt(_trailing_mean((returns / season) ** 2, short))
            ok = np.isfinite(returns) & np.isfinite(level) & (level > 0)
            residuals.append(returns[ok] / (season[ok] * level[ok]))
            expected = volume_model.factor(times) * _trailing_mean(volume, volume_model.level_bars)
            with np.errstate(invalid="ignore", divide="ignore"):
                eta = np.log(volume / expected)
            good = np.isfinite(eta)
            log_eta.append(eta[1:][good[1:] & good[:-1]])
            previous.append(eta[:-1][good[1:] & good[:-1]])
        eps = np.concatenate(residuals)
        eps = (eps - eps.mean()) / eps.std()
        quantiles = np.quantile(eps, np.linspace(0.0, 1.0, QUANTILES))
        y, x = np.concatenate(log_eta), np.concatenate(previous)
        if y.size > 10:
            phi = float(np.clip(np.corrcoef(x, y)[0, 1], 0.0, 0.99))
            mu = float(y.mean())
            sd = float(np.std(y - mu - phi * (x - mu)))
        else:  # no volume to learn from: constant volume shape
            mu, phi, sd = 0.0, 0.0, 0.0
        all_times = np.concatenate([t for t, _, _ in per_asset]).astype(np.int64)
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(all_times, size=min(TIME_SAMPLE, all_times.size), replace=False))
        return cls(freq=freq, calendar=calendar, vol_bars=short, slots=slots, vol_factors=factors,
                   volume=volume_model, quantiles=quantiles, volume_ar=(mu, phi, sd), times=sample)

    def vol_factor(self, times: np.ndarray) -> np.ndarray:
        """Seasonal volatility factor of each bar time (any shape)."""
        return _lookup(self.slots, self.vol_factors, slot_of(times, self.calendar))

    def level(self, history_prices: np.ndarray, history_times: np.ndarray) -> np.ndarray:
        """Causal, deseasonalised volatility level per order from the ``vol_bars`` + 1 bars before the
        origin, (n,) as a fraction per bar; NaN where the history holds no return."""
        returns = np.diff(np.log(history_prices), axis=1)
        squares = (returns / self.vol_factor(history_times[:, 1:])) ** 2
        finite = np.isfinite(squares)
        count = finite.sum(axis=1)
        total = np.where(finite, squares, 0.0).sum(axis=1)
        return np.sqrt(np.where(count > 0, total / np.maximum(count, 1), np.nan))

    def window_times(self, starts: np.ndarray, horizon: int) -> np.ndarray:
        """Open times of ``horizon`` consecutive bars from each start, (n, T) datetime64[ns]."""
        starts = np.asarray(starts, dtype="datetime64[ns]")
        if self.calendar == "sessions":
            days = starts.astype("datetime64[D]")
            offsets = np.arange(horizon)
            return np.busday_offset(days[:, None], offsets[None, :], roll="forward").astype("datetime64[ns]")
        step = np.timedelta64(freq_minutes(self.freq), "m").astype("timedelta64[ns]")
        return starts[:, None] + np.arange(horizon)[None, :] * step

    def simulate(self, n: int, horizon: int, rng: np.random.Generator, sigma: float = 1e-3
                 ) -> tuple[np.ndarray, np.ndarray]:
        """``n`` driftless windows of ``horizon`` bars at volatility level ``sigma``, starting at
        training bar times drawn at random: prices (from 1 before the first bar) and volumes, (n, T)."""
        starts = rng.choice(self.times, size=n).astype("datetime64[ns]")
        times = self.window_times(starts, horizon)
        grid = np.linspace(0.0, 1.0, len(self.quantiles))
        eps = np.interp(rng.random((n, horizon)), grid, self.quantiles)
        eps -= eps.mean()
        prices = np.exp(np.cumsum(sigma * self.vol_factor(times) * eps, axis=1))
        mu, phi, sd = self.volume_ar
        log_eta = np.empty((n, horizon))
        log_eta[:, 0] = mu + sd / np.sqrt(max(1e-12, 1.0 - phi**2)) * rng.standard_normal(n)
        for t in range(1, horizon):
            log_eta[:, t] = mu + phi * (log_eta[:, t - 1] - mu) + sd * rng.standard_normal(n)
        volumes = self.volume.factor(times) * np.exp(log_eta)
        return prices, volumes

    def state(self) -> dict[str, Any]:
        return {"freq": self.freq, "calendar": self.calendar, "vol_bars": self.vol_bars, "slots": self.slots.tolist(),
                "vol_factors": self.vol_factors.tolist(), "volume": self.volume.state(),
                "quantiles": self.quantiles.tolist(), "volume_ar": list(self.volume_ar), "times": self.times.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "MartingaleModel":
        """Rebuild from ``state()``; ``StrategyError`` in one line for a state that is not one."""
        try:
            model = cls(freq=str(state["freq"]), calendar=str(state["calendar"]), vol_bars=int(state["vol_bars"]),
                        slots=np.asarray(state["slots"], dtype=np.int64),
                        vol_factors=np.asarray(state["vol_factors"], dtype=float),
                        volume=SeasonalVolume.from_state(state["volume"]),
                        quantiles=np.asarray(state["quantiles"], dtype=float),
                        volume_ar=tuple(float(v) for v in state["volume_ar"]),
                        times=np.asarray(state["times"], dtype=np.int64))
        except (KeyError, TypeError, ValueError) as exc:
            raise StrategyError(f"martingale model state: missing or malformed field ({type(exc).__name__}: {exc})") from None
        if model.slots.shape != model.vol_factors.shape or model.quantiles.size < 3 or model.times.size == 0:
            raise StrategyError("martingale model state: slots, factors, quantiles or times are inconsistent")
        return model
