"""Causal LEM input features (paper §3.3), aligned so that no decision sees its own bar.

For an order with origin bar o, horizon T and lookback L the feature sequence has L + T − 1
positions; position p describes bar o − L + p, so positions 0..L−1 are the bars before the origin
and L..L+T−2 the execution bars o..o+T−2 (bar o+T−1 is never an input).  The decision for execution
bar o+s may use positions ≤ L−1+s, i.e. bars ≤ o+s−1 — the model must mask the rest (causal
attention, and each step's decision block reading only its own position).  The upstream ``lems``
formatter is off by one here: its step s reads bar o+s itself.

Features per bar b:

* ``volume``: V_b divided by the mean bar volume of the ``NORMALISER`` (336) bars that end where the
  sequence starts, so the normaliser lies wholly before every decision;
* ``vwap_return``: 100·log(P_b / P_{b−1}) of bar prices (bar VWAPs), in percent so that it enters the
  network on the same scale as the other features (``RETURN_SCALE``);
* calendar: hour of day and day of week for intraday bars, day of week and month for daily sessions,
  each scaled to [−0.5, 0.5];
* ``frequency``: the bar length in days (for multi-frequency training).

Missing history (before the start of the data) is 0.

``lead=1`` reproduces the upstream ``lems`` alignment for comparison only: the sequence is shifted one
bar later, so the decision for bar o+s sees bar o+s itself.  The look-ahead audit flags a model fed
this way.
"""

from __future__ import annotations

import numpy as np

from execbench.data.frequency import freq_minutes
from execbench.strategy import OrderContext, RealisedWindow

NORMALISER = 336
RETURN_SCALE = 100.0  # returns in percent
ALIGNMENTS = {"causal": 0, "upstream": 1}  # alignment name → lead in bars


def min_history(lookback: int) -> int:
    """Bars of history an order needs before its origin: the lookback, the volume normaliser and one return."""
    return lookback + NORMALISER + 1


def feature_names(calendar: str) -> tuple[str, ...]:
    seasonal = ("day_of_week", "month") if calendar == "sessions" else ("hour", "day_of_week")
    return ("volume", "vwap_return", *seasonal, "frequency")


def _calendar(times: np.ndarray, calendar: str) -> tuple[np.ndarray, np.ndarray]:
    stamps = np.asarray(times, dtype="datetime64[ns]")
    missing = np.isnat(stamps)
    days = stamps.astype("datetime64[D]").astype(np.int64)
    day_of_week = (days + 3) % 7  # 1970-01-01 was a Thursday
    if calendar == "sessions":
        months = stamps.astype("datetime64[M]").astype(np.int64) % 12
        first, second = day_of_week / 4.0 - 0.5, months / 11.0 - 0.5
    else:
        hours = (stamps.astype("datetime64[h]").astype(np.int64)) % 24
        first, second = hours / 23.0 - 0.5, day_of_week / 6.0 - 0.5
    return np.where(missing, 0.0, first), np.where(missing, 0.0, second)


def lem_features(ctx: OrderContext, window: RealisedWindow, lookback: int, lead: int = 0) -> np.ndarray:
    """Feature sequences (n, L + T − 1, F) for the orders of ``ctx`` (see the module docstring).

    Only ``window``'s first T − 1 bars are read (T − 1 + ``lead`` with a lead).
    """
    ahead = ctx.horizon - 1 + lead  # execution bars in the sequence
    return sequence_features(ctx, window.prices[:, :ahead], window.volumes[:, :ahead], lookback, lead)


def sequence_features(ctx: OrderContext, prices: np.ndarray, volumes: np.ndarray, lookback: int,
                      lead: int = 0) -> np.ndarray:
    """Feature sequences (n, L + k, F): the lookback positions, then one per execution bar given in
    ``prices`` / ``volumes`` (n, k) — the bars seen so far, for stepwise inference, or T − 1 of them."""
    if lead not in (0, 1) or lookback <= lead:
        raise ValueError(f"lem_features: lead must be 0 or 1 and below lookback={lookback}, got {lead}")
    ahead = prices.shape[1]
    past_prices = ctx.history("prices", lookback + 1 - lead)
    past_volumes = ctx.history("volumes", lookback + NORMALISER - lead)
    prices = np.concatenate([past_prices, prices], axis=1)  # bars o−L−1+lead .. o+k−1+lead
    volumes = np.concatenate([past_volumes[:, NORMALISER:], volumes], axis=1)
    level = _level(past_volumes)
    times = np.concatenate([ctx.history_times(lookback - lead), ctx.bar_times()[:, :ahead]], axis=1)
    return _features(prices, volumes, level, times, ctx)


def _level(past_volumes: np.ndarray) -> np.ndarray:
    """Each order's volume level: the mean of the ``NORMALISER`` bars that open its history."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nanmean(past_volumes[:, :NORMALISER], axis=1)


def volume_level(ctx: OrderContext, lookback: int) -> np.ndarray:
    """(n,) the level the volume features of ``ctx``'s orders are divided by (history only: the same at
    every execution bar, so stepwise inference computes it once)."""
    return _level(ctx.history("volumes", lookback + NORMALISER))


def last_position_features(ctx: OrderContext, prices: np.ndarray, volumes: np.ndarray, lookback: int,
                           level: np.ndarray | None = None) -> np.ndarray:
    """``sequence_features(ctx, prices, volumes, lookback)[:, -1]`` (n, F), the same numbers, from the
    bars it needs only: what stepwise inference adds after each revealed bar (``prices`` / ``volumes``
    (n, k), k ≥ 1, the bars seen so far).  ``level``: ``volume_level(ctx, lookback)``, if already
    computed."""
    if prices.shape[1] < 1:
        raise ValueError("last_position_features: needs at least one revealed bar")
    level = volume_level(ctx, lookback) if level is None else level
    previous = prices[:, -2:-1] if prices.shape[1] > 1 else ctx.history("prices", 1)
    times = ctx.bar_times()[:, prices.shape[1] - 1:prices.shape[1]]
    return _features(np.concatenate([previous, prices[:, -1:]], axis=1), volumes[:, -1:], level, times, ctx)[:, 0]


def _features(prices: np.ndarray, volumes: np.ndarray, level: np.ndarray, times: np.ndarray,
              ctx: OrderContext) -> np.ndarray:
    """The features (n, k, F) of k positions from their bars' ``volumes`` and open ``times`` (n, k), the
    prices (n, k + 1) from the bar before the first, and each order's volume ``level``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        volume = volumes / np.where(level > 0, level, np.nan)[:, None]
        returns = RETURN_SCALE * np.log(prices[:, 1:] / prices[:, :-1])
    first, second = _calendar(times, ctx.calendar)
    frequency = np.full(volume.shape, freq_minutes(ctx.freq) * 60 / 86_400.0)
    features = np.stack([volume, returns, first, second, frequency], axis=-1)
    return np.nan_to_num(features, nan=0.0, posinf=0.0, neginf=0.0)
