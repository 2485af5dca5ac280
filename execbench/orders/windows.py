"""Order windows: every bar of the evaluation period is an order origin (overlapping windows).

An order with origin bar i executes over bars i .. i+T−1.  What the strategy may know at the
origin is everything up to the close of bar i−1.  A window that spans a data gap is skipped and
counted, never evaluated across the gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from execbench.data.frames import iter_assets
from execbench.data.frequency import parse_freq
from execbench.data.prices import bar_prices
from execbench.errors import DataError
from execbench.orders.regimes import volatility_regimes
from execbench.orders.split import to_utc

SESSION_MAX_STEP = pd.Timedelta(days=7)  # daily session bars: a longer step is a hole in the data
DEFAULT_ORDER_SIZE = 0.01  # order = 1 % of the expected market volume over its window
SIZE_LOOKBACK = 336  # bars of trailing volume used to size orders (the paper's normaliser length)
SIZE_BLOCK = 4096  # orders whose SIZE_LOOKBACK bars are gathered at once (11 MB): memory flat in the orders


@dataclass(frozen=True)
class MarketSeries:
    """One asset's bars as plain arrays (prices under ``PRICE_CONVENTION``)."""

    asset: str
    times: np.ndarray  # (N,) datetime64[ns], bar open times (UTC)
    prices: np.ndarray  # (N,) float64
    volumes: np.ndarray  # (N,) float64
    _views: dict = field(default_factory=dict, init=False, compare=False, repr=False)  # ``rows``' views

    def __getstate__(self) -> dict:
        """Pickled without the views (a pickled view would be a copy of every window)."""
        return {**self.__dict__, "_views": {}}

    def rows(self, name: str, width: int) -> np.ndarray:
        """``name`` (a field) as the rows of a sliding window of ``width`` bars, (N − width + 1, width): a
        read-only strided view of the series, made once per field and width."""
        key = (name, width)
        if key not in self._views:
            values = getattr(self, name)
            step = values.strides[0]
            self._views[key] = np.lib.stride_tricks.as_strided(values, (len(values) - width + 1, width), (step, step),
                                                               writeable=False)
        return self._views[key]

    @classmethod
    def from_frame(cls, asset: str, frame: pd.DataFrame) -> "MarketSeries":
        """Build from a canonical single-asset frame."""
        return cls(
            asset=str(asset),
            times=frame.index.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[ns]"),
            prices=bar_prices(frame),
            volumes=frame["volume"].to_numpy("float64"),
        )


REFERENCES = ("arrival", "first", "last", "full_vwap", "full_twap")  # ``reference_prices``' keys
REFERENCE_BLOCK = 65536  # orders per block when the reference prices of all orders are gathered


@dataclass(frozen=True)
class OrderWindows:
    """The orders of an evaluation: origins into per-asset series, plus counts of skipped origins."""

    horizon: int
    freq: str
    calendar: str
    series: tuple[MarketSeries, ...]
    asset_id: np.ndarray  # (n,) index into ``series``
    origin: np.ndarray  # (n,) bar index of the first execution bar in its series
    order_size: float
    skipped: dict[str, int] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, init=False, compare=False, repr=False)  # derived per-order arrays

    def __len__(self) -> int:
        return len(self.origin)

    def __repr__(self) -> str:
        assets = [s.asset for s in self.series]
        shown = ", ".join(assets[:3]) + (f", … ({len(assets)} assets)" if len(assets) > 3 else "")
        return (f"OrderWindows({len(self):,} orders of T={self.horizon} {self.freq} bars on {shown}; "
                f"skipped {self.skipped})")

    def subset(self, rows: np.ndarray | slice) -> "OrderWindows":
        """The orders at ``rows`` (same series), with the per-order arrays already derived (expected
        volumes, regimes) taken along: each order's value depends on its own bars alone, so a batch
        of a chunk need not gather its 336 bars of volume again."""
        out = OrderWindows(self.horizon, self.freq, self.calendar, self.series, self.asset_id[rows],
                           self.origin[rows], self.order_size, dict(self.skipped))
        out._cache.update({key: values[rows] for key, values in self._cache.items() if isinstance(values, np.ndarray)})
        return out

    def on_series(self, series: tuple[MarketSeries, ...]) -> "OrderWindows":
        """The same orders on ``series``, which must hold the same bars up to each order's origin and may
        differ only from there on (the look-ahead audit's perturbed markets).  What is derived from the
        bars before the origins alone (expected volumes, so the order sizes) is taken along; the rest is
        derived again from ``series``."""
        out = replace(self, series=series)
        out._cache["expected_volume"] = self.expected_volume()
        return out

    def with_own_cache(self) -> "OrderWindows":
        """The same orders and series with a derived-arrays cache of their own, holding only the expected
        volumes, computed here first: another thread can use it while this one fills its own cache."""
        return self.on_series(self.series)

    def around_orders(self, lookback: int) -> "OrderWindows":
        """The same orders on their series cut (as views, no copy) to the bars from ``lookback`` before
        the earliest origin to the end of the latest window: every history of at most ``lookback`` bars
        and every window reads the same values as before, and derived per-order values are taken along.
        The look-ahead audit perturbs a call's market on these, so a call of a few orders does not copy
        the whole series at every step."""
        series, origin = list(self.series), self.origin.copy()
        for k, (rows, low, high) in enumerate(self._asset_rows()):
            if low is None:
                continue
            first, ms = max(0, low - int(lookback)), self.series[k]
            stop = min(len(ms.times), high + self.horizon)
            series[k] = MarketSeries(ms.asset, ms.times[first:stop], ms.prices[first:stop], ms.volumes[first:stop])
            origin[rows] -= first
        out = replace(self, series=tuple(series), origin=origin)
        out._cache.update({key: values for key, values in self._cache.items() if isinstance(values, np.ndarray)})
        return out

    def _gather(self, name: str, offsets: np.ndarray) -> np.ndarray:
        """``name`` (a series' field) at each order's origin + ``offsets`` (consecutive, increasing), (n,
        len(offsets)); NaN (NaT for times) before the start of the data.  Orders whose bars all exist are
        rows of a strided view of the series (one copy); the others are gathered position by position."""
        width = len(offsets)
        first_values = getattr(self.series[0], name) if self.series else np.zeros(0)
        missing = np.datetime64("NaT") if first_values.dtype.kind == "M" else np.nan
        out = np.empty((len(self), width), dtype=first_values.dtype if first_values.dtype.kind == "M" else float)
        start = offsets[0] if width else 0
        for k, (rows, low, high) in enumerate(self._asset_rows()):
            if low is None:
                continue
            values = getattr(self.series[k], name)
            first = self.origin[rows] + start
            if width and low + start >= 0 and high + start + width <= len(values):
                out[rows] = self.series[k].rows(name, width)[first]  # rows of a sliding window over the series
                continue
            idx = first[:, None] + np.arange(width)[None, :]
            valid = idx >= 0
            out[rows] = np.where(valid, values[np.where(valid, idx, 0)], missing)
        return out

    def _asset_rows(self) -> list[tuple[np.ndarray | slice, int | None, int | None]]:
        """Per series: its orders' rows (all of them, for one series) and their lowest and highest origin
        (``None`` where it has no order); once per set of orders."""
        if "asset_rows" not in self._cache:  # not an array: a subset finds its own
            parts = []
            for k in range(len(self.series)):
                rows = np.flatnonzero(self.asset_id == k) if len(self.series) > 1 else slice(None)
                origins = self.origin[rows]
                parts.append((rows, int(origins.min()), int(origins.max())) if origins.size else (rows, None, None))
            self._cache["asset_rows"] = parts
        return self._cache["asset_rows"]

    def window(self, name: str) -> np.ndarray:
        """``"prices"`` or ``"volumes"`` of the T execution bars, shape (n, T)."""
        return self._gather(name, np.arange(self.horizon))

    def history(self, name: str, lookback: int) -> np.ndarray:
        """``"prices"`` or ``"volumes"`` of the ``lookback`` bars before the origin, oldest first,
        shape (n, lookback); NaN before the start of the data."""
        return self._gather(name, np.arange(-lookback, 0))

    def history_times(self, lookback: int) -> np.ndarray:
        """Open times of the ``lookback`` bars before the origin, (n, lookback); NaT before the data."""
        return self._gather("times", np.arange(-lookback, 0)).astype("datetime64[ns]", copy=False)

    def time_at(self, offset: int) -> np.ndarray:
        """Open time of the bar ``offset`` bars from each order's origin (negative: before it), (n,);
        NaT before the start of the data.  ``history_times(k)[:, 0]`` is ``time_at(-k)``, without the
        (n, k) array."""
        out = np.full(len(self), np.datetime64("NaT"), dtype="datetime64[ns]")
        for k, series in enumerate(self.series):
            rows = np.flatnonzero(self.asset_id == k)
            if rows.size:
                idx = self.origin[rows] + offset
                valid = (idx >= 0) & (idx < len(series.times))
                out[rows[valid]] = series.times[idx[valid]]
        return out

    def bar_times(self) -> np.ndarray:
        """Open times of the execution bars, shape (n, T), datetime64[ns] UTC."""
        out = np.empty((len(self), self.horizon), dtype="datetime64[ns]")
        for k, series in enumerate(self.series):
            rows = np.flatnonzero(self.asset_id == k)
            out[rows] = series.times[self.origin[rows, None] + np.arange(self.horizon)[None, :]]
        return out

    def origin_times(self) -> np.ndarray:
        """Open time of each order's first execution bar, datetime64[ns] UTC."""
        return self.time_at(0)

    def regimes(self) -> np.ndarray:
        """Causal volatility regime (HH/HL/LH/LL/NA) at each order's origin (``orders/regimes.py``)."""
        if "regimes" in self._cache:
            return self._cache["regimes"]
        out = np.empty(len(self), dtype=object)
        for k, series in enumerate(self.series):
            rows = np.flatnonzero(self.asset_id == k)
            if rows.size:
                out[rows] = volatility_regimes(series.prices, self.freq)[self.origin[rows]]
        self._cache["regimes"] = out
        return out

    def assets(self) -> np.ndarray:
        """Asset name of each order."""
        names = np.array([s.asset for s in self.series], dtype=object)
        return names[self.asset_id]

    def arrival_price(self) -> np.ndarray:
        """Price of the last bar before the origin (what is known when the order arrives)."""
        return self.history("prices", 1)[:, 0]

    def expected_volume(self) -> np.ndarray:
        """Expected market volume over each order's window, known at the origin: the mean bar volume
        of the ``SIZE_LOOKBACK`` bars before the origin × T."""
        if "expected_volume" not in self._cache:
            out = np.empty(len(self))
            for start in range(0, len(self), SIZE_BLOCK):  # each order's mean from its own row: any block gives it
                block = slice(start, start + SIZE_BLOCK)
                hist = (self if len(self) <= SIZE_BLOCK else self.subset(block)).history("volumes", SIZE_LOOKBACK)
                with np.errstate(invalid="ignore"):
                    out[block] = np.nan_to_num(np.nanmean(hist, axis=1)) * self.horizon
            self._cache["expected_volume"] = out
        return self._cache["expected_volume"]

    def reference_prices(self, prices: np.ndarray | None = None,
                         volumes: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per-order reference prices: ``arrival`` (last bar before the origin), ``first`` and ``last``
        bar of the window, and the ``full_vwap``/``full_twap`` over all T bars.  ``prices`` and
        ``volumes`` are this object's window arrays, if the caller already has them; without them the
        prices are gathered a block of orders at a time and kept (subsets take them along)."""
        if prices is None and volumes is None:
            if f"reference:{REFERENCES[0]}" not in self._cache:
                parts = []
                for start in range(0, len(self), REFERENCE_BLOCK):
                    block = self.subset(slice(start, start + REFERENCE_BLOCK))
                    parts.append(block.reference_prices(block.window("prices"), block.window("volumes")))
                for key in REFERENCES[::-1]:  # the first last: a reader that finds it finds them all
                    self._cache[f"reference:{key}"] = (np.concatenate([p[key] for p in parts]) if parts
                                                       else np.zeros(0))
            return {key: self._cache[f"reference:{key}"] for key in REFERENCES}
        prices = self.window("prices") if prices is None else prices
        volumes = self.window("volumes") if volumes is None else volumes
        total = volumes.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            full_vwap = np.where(total > 0, (prices * volumes).sum(axis=1) / np.where(total > 0, total, 1.0), np.nan)
        return {"arrival": self.arrival_price(), "first": prices[:, 0], "last": prices[:, -1],
                "full_vwap": full_vwap, "full_twap": prices.mean(axis=1)}

    def orders_frame(self) -> pd.DataFrame:
        """Per-order labels, in order: ``asset``, ``origin`` (UTC) and ``regime``; built once and shared by
        every result on these orders (treat it as read-only)."""
        if "orders_frame" not in self._cache:
            self._cache["orders_frame"] = pd.DataFrame({
                "asset": self.assets(),
                "origin": pd.DatetimeIndex(self.origin_times()).tz_localize("UTC"),
                "regime": self.regimes(),
            })
        return self._cache["orders_frame"]

    def sizes(self) -> tuple[np.ndarray, np.ndarray]:
        """Order quantity (base units) and notional (quote units) of each order.

        Quantity = ``order_size`` × the mean bar volume over the ``SIZE_LOOKBACK`` bars before the
        origin × T (so the order is ``order_size`` of the expected window volume); notional =
        quantity × arrival price.  Both are known at the origin.
        """
        qty = self.order_size * self.expected_volume()
        return qty, qty * self.arrival_price()


def _valid_origins(series: MarketSeries, horizon: int, calendar: str, step: pd.Timedelta,
                   start: pd.Timestamp | None, end: pd.Timestamp | None, min_history: int) -> tuple[np.ndarray, dict]:
    n_bars = len(series.times)
    candidates = np.arange(n_bars)
    times = series.times
    in_period = np.ones(n_bars, dtype=bool)
    if start is not None:
        in_period &= times >= np.datetime64(start.tz_localize(None), "ns")
    if end is not None:
        in_period &= times < np.datetime64(end.tz_localize(None), "ns")
    candidates = candidates[in_period]
    counts = {"history": 0, "tail": 0, "gap": 0}
    short_history = candidates < min_history
    counts["history"] = int(short_history.sum())
    candidates = candidates[~short_history]
    tail = candidates + horizon > n_bars
    counts["tail"] = int(tail.sum())
    candidates = candidates[~tail]
    if candidates.size == 0:
        return candidates, counts
    gaps = np.diff(times).astype("int64")
    if calendar == "continuous":
        broken = gaps != step.value
    else:
        broken = gaps > SESSION_MAX_STEP.value
    # broken[j] means bars j and j+1 are not consecutive; window i..i+T-1 needs none of j in [i, i+T-2]
    broken_cum = np.concatenate([[0], np.cumsum(broken)])
    spans_gap = broken_cum[candidates + horizon - 1] - broken_cum[candidates] > 0
    counts["gap"] = int(spans_gap.sum())
    return candidates[~spans_gap], counts


def build_order_windows(
    bars: pd.DataFrame,
    horizon: int,
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    min_history: int = 1,
    order_size: float = DEFAULT_ORDER_SIZE,
) -> OrderWindows:
    """Every bar with origin time in [start, end) whose T-bar window is complete and gap-free.

    Parameters
    ----------
    bars
        Frame from ``load_bars`` (one asset or a universe).
    horizon
        T, bars per order.
    start, end
        Origin-time bounds (UTC; ``None`` = unbounded).
    min_history
        Bars of history required before the origin (a strategy's lookback; at least 1 so the
        arrival price exists).
    order_size
        Order size as a fraction of the expected market volume over the window (see
        ``OrderWindows.sizes``), > 0 and finite.  It sets each order's quantity: participation figures,
        participation-capped scenarios, market impact and strategies that trade a share of market
        volume (POV) depend on it; schedules that ignore size (TWAP, VWAP) do not.

    Returns
    -------
    OrderWindows
        With ``skipped`` counting origins dropped for ``gap`` (window spans a data gap),
        ``tail`` (window runs past the data) and ``history`` (not enough bars before it).
    """
    if not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise DataError(f"parameter 'horizon': expected an integer >= 1, got {horizon!r}")
    if isinstance(order_size, bool) or not isinstance(order_size, (int, float, np.floating)) \
            or not np.isfinite(order_size) or order_size <= 0:
        raise DataError(f"parameter 'order_size': expected a finite fraction of the window volume > 0, got {order_size!r}")
    start_ts, end_ts = to_utc(start, "start"), to_utc(end, "end")
    freq = bars.attrs.get("freq")
    calendar = bars.attrs.get("calendar", "continuous")
    if freq is None:
        raise DataError("build_order_windows: bars.attrs['freq'] is missing; load bars with load_bars")
    step = parse_freq(freq)
    series, asset_ids, origins = [], [], []
    skipped = {"history": 0, "tail": 0, "gap": 0}
    for k, (name, frame) in enumerate(iter_assets(bars)):
        ms = MarketSeries.from_frame(name, frame)
        valid, counts = _valid_origins(ms, horizon, calendar, step, start_ts, end_ts, max(1, min_history))
        series.append(ms)
        asset_ids.append(np.full(valid.size, k, dtype=np.int64))
        origins.append(valid.astype(np.int64))
        for key, value in counts.items():
            skipped[key] += value
    return OrderWindows(
        horizon=int(horizon), freq=freq, calendar=calendar, series=tuple(series),
        asset_id=np.concatenate(asset_ids), origin=np.concatenate(origins), order_size=float(order_size),
        skipped=skipped,
    )
