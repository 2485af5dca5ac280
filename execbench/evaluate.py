"""The evaluation pipeline: bars → split → order windows → strategy → replay → results.

``evaluate`` is what ``execbench run`` calls; it is equally the entry point from a notebook.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from execbench.contracts import ScenarioGrid, scenario_grid
from execbench.engine import ImpactModel, replay
from execbench.errors import DataError, StrategyError
from execbench.registry import load_strategy
from execbench.results import ReplayResult
from execbench.strategy import Strategy, check_supported, run_strategy
from execbench.windows import DEFAULT_ORDER_SIZE, DateSplit, OrderWindows, build_order_windows, to_utc

# Default splits: the paper's for daily equities; for intraday crypto the last ~10 months of the bundled
# 15m data are the test period, the 6 months before it validation.
SESSION_SPLIT = ("2017-01-01", "2020-01-01")
INTRADAY_SPLIT = ("2025-01-01", "2025-07-01")
DEFAULT_CHUNK = 4096


def _bar_times(bars: pd.DataFrame) -> pd.DatetimeIndex:
    index = bars.index
    return index.get_level_values("timestamp") if isinstance(index, pd.MultiIndex) else index


def default_split(bars: pd.DataFrame) -> DateSplit:
    """The default split for ``bars``: fixed dates (see ``SESSION_SPLIT``/``INTRADAY_SPLIT``) when
    they fall inside the data, else 70 % / 15 % / 15 % of the data's time span."""
    times = _bar_times(bars)
    first, last = times.min(), times.max()
    val, test = SESSION_SPLIT if bars.attrs.get("calendar") == "sessions" else INTRADAY_SPLIT
    val_ts, test_ts = to_utc(val, "val_start"), to_utc(test, "test_start")
    if first < val_ts and test_ts < last:
        return DateSplit(test_start=test_ts, val_start=val_ts)
    span = last - first
    return DateSplit(test_start=(first + 0.85 * span).floor("D"), val_start=(first + 0.70 * span).floor("D"))


def make_split(bars: pd.DataFrame, test_start: str | None = None, val_start: str | None = None,
               test_end: str | None = None) -> DateSplit:
    """A ``DateSplit`` from user dates (defaults from ``default_split``), checked against the data."""
    times = _bar_times(bars)
    first, last = times.min(), times.max()
    default = default_split(bars)
    test = to_utc(test_start, "test_start") if test_start else default.test_start
    val = to_utc(val_start, "val_start") if val_start else default.val_start
    end = to_utc(test_end, "test_end")
    for name, value in (("test_start", test), ("val_start", val), ("test_end", end)):
        if value is not None and not first <= value <= last:
            raise DataError(
                f"parameter {name!r}: {value.date()} is outside the data ({bars.attrs.get('asset')} "
                f"{bars.attrs.get('freq')}: {first.date()} to {last.date()})"
            )
    if val is not None and val > test:
        if val_start:
            raise DataError(f"parameter 'val_start': {val.date()} is after test_start {test.date()}")
        val = None  # the default validation start does not fit before a user's early test start
    return DateSplit(test_start=test, val_start=val, test_end=end)


def training_bars(bars: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Bars strictly before ``end`` (what a strategy may be fitted on)."""
    out = bars[_bar_times(bars) < end]
    out.attrs = dict(bars.attrs)
    return out


@dataclass(frozen=True, eq=False)
class Evaluation:
    """One strategy evaluated on one dataset: the results, the TWAP baseline on the same orders,
    and everything needed to reproduce it."""

    strategy: str
    params: dict[str, Any]
    asset: str
    freq: str
    horizon: int
    split: DateSplit
    windows: OrderWindows
    result: ReplayResult
    baseline: ReplayResult
    data: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    impact: ImpactModel | None = None


def _orders_frame(windows: OrderWindows, regimes: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "asset": windows.assets(),
        "origin": pd.DatetimeIndex(windows.origin_times()).tz_localize("UTC"),
        "regime": regimes,
    })


def curve_scenarios(grid: ScenarioGrid) -> tuple[str, ...]:
    """Scenarios whose allocations an evaluation keeps for execution curves: every VWAP-benchmark
    scenario of the grid (both sides, both targets, every minimum period)."""
    return tuple(spec.label for spec in grid.specs if spec.benchmark == "vwap")


def replay_strategy(strategy: Strategy, windows: OrderWindows, grid: ScenarioGrid, *,
                    chunk_size: int = DEFAULT_CHUNK, progress: Callable[[int], None] | None = None,
                    keep: tuple[str, ...] = (), impact: ImpactModel | None = None) -> ReplayResult:
    """Run ``strategy`` on ``windows`` in chunks of orders and replay its allocations (keeping, as
    float32, those of the scenarios in ``keep``), with market impact if given; the result carries
    each order's reference prices (arrival, first/last bar, full-window VWAP/TWAP)."""
    check_supported(strategy, grid)
    kept_index = [grid.index(label) for label in keep]
    regimes = windows.regimes()
    parts = []
    for start in range(0, len(windows), chunk_size):
        rows = slice(start, start + chunk_size)
        chunk = windows.subset(rows)
        alloc = run_strategy(strategy, chunk, grid)
        qty, notional = chunk.sizes()
        prices, volumes = chunk.window("prices"), chunk.window("volumes")
        part = replay(prices, volumes, alloc, grid, order_qty=qty, order_notional=notional,
                      orders=_orders_frame(chunk, regimes[rows]), strategy=strategy.name, impact=impact,
                      window_volume=chunk.expected_volume())
        part = replace(part, reference=chunk.reference_prices(prices, volumes))
        if kept_index:
            part = replace(part, allocations=alloc[:, :, kept_index].astype(np.float32), kept=tuple(keep))
        parts.append(part)
        if progress is not None:
            progress(len(chunk))
    return ReplayResult.concat(parts)


def evaluate(
    strategy: Strategy | str,
    bars: pd.DataFrame,
    *,
    horizon: int = 12,
    split: DateSplit | None = None,
    grid: ScenarioGrid | None = None,
    order_size: float = DEFAULT_ORDER_SIZE,
    chunk_size: int = DEFAULT_CHUNK,
    fit: bool = True,
    windows: OrderWindows | None = None,
    keep_allocations: bool = True,
    impact: ImpactModel | None = None,
    progress: Callable[[int], None] | None = None,
    on_windows: Callable[[OrderWindows], None] | None = None,
) -> Evaluation:
    """Evaluate a strategy on the test period of ``bars``.

    Parameters
    ----------
    strategy
        A ``Strategy`` instance or a registered name / ``FILE.py:Class``.
    bars
        From ``load_bars`` (one asset or a universe).
    horizon
        T, bars per order.
    split
        Train / validation / test dates; default ``default_split(bars)``.
    grid
        Scenarios to evaluate; default the full grid ``scenario_grid(horizon)``.
    order_size
        Order size as a fraction of the expected window volume (participation only).
    chunk_size
        Orders per strategy call and replay.
    fit
        Fit the strategy on the bars before ``split.train_end`` first (``False`` for a strategy that
        is already fitted or loaded from a saved state).
    windows
        Evaluate on these order windows (e.g. shared by several strategies) instead of building them.
    impact
        Replay with market impact (default none, the paper's setting); the TWAP baseline gets the same.
    keep_allocations
        Keep the allocations of the VWAP-benchmark scenarios (``curve_scenarios``) for execution
        curves.
    progress
        Called with the number of orders done after each chunk.
    on_windows
        Called once the order windows are known (e.g. to size a progress bar).

    Returns
    -------
    Evaluation
    """
    timings: dict[str, float] = {}
    strategy = load_strategy(strategy) if isinstance(strategy, str) else strategy
    split = split or default_split(bars)
    grid = grid or scenario_grid(horizon)
    tick = time.perf_counter()
    if fit:
        strategy.fit(training_bars(bars, split.train_end))
    timings["fit_s"] = time.perf_counter() - tick
    if windows is None:
        windows = build_order_windows(bars, horizon, start=split.test_start, end=split.test_end,
                                      min_history=max(1, strategy.lookback), order_size=order_size)
    if len(windows) == 0:
        raise DataError(
            f"no complete order windows of {horizon} bars in the test period from {split.test_start.date()} "
            f"({bars.attrs.get('asset')} {bars.attrs.get('freq')}; skipped: {windows.skipped})"
        )
    if on_windows is not None:
        on_windows(windows)
    tick = time.perf_counter()
    result = replay_strategy(strategy, windows, grid, chunk_size=chunk_size, progress=progress,
                             keep=curve_scenarios(grid) if keep_allocations else (), impact=impact)
    timings["strategy_and_replay_s"] = time.perf_counter() - tick
    baseline_grid = scenario_grid(horizon, sides=("buy",), benchmarks=("vwap",), min_periods=())
    baseline = replay_strategy(load_strategy("twap"), windows, baseline_grid, chunk_size=chunk_size, impact=impact)
    return Evaluation(
        strategy=strategy.name, params=strategy.params(), asset=str(bars.attrs.get("asset")),
        freq=str(bars.attrs.get("freq")), horizon=horizon, split=split, windows=windows, result=result,
        baseline=baseline, timings=timings, impact=impact,
        data={k: bars.attrs.get(k) for k in ("sources", "sha256", "calendar", "resampled_from") if k in bars.attrs},
    )


def compare(
    strategies: list[Strategy | str],
    bars: pd.DataFrame,
    *,
    horizon: int = 12,
    split: DateSplit | None = None,
    grid: ScenarioGrid | None = None,
    order_size: float = DEFAULT_ORDER_SIZE,
    fit: bool = True,
    impact: ImpactModel | None = None,
    progress: Callable[[int], None] | None = None,
    on_windows: Callable[[OrderWindows], None] | None = None,
) -> dict[str, Evaluation]:
    """Evaluate several strategies on exactly the same orders.

    The order windows are built once, with the longest history any of the strategies needs, so every
    strategy is scored on the same origins.  Returns evaluations keyed by strategy name.
    """
    loaded = [load_strategy(s) if isinstance(s, str) else s for s in strategies]
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        raise StrategyError(f"compare: strategy names must be distinct, got {names}")
    split = split or default_split(bars)
    if fit:
        train = training_bars(bars, split.train_end)
        for strategy in loaded:
            strategy.fit(train)
    windows = build_order_windows(bars, horizon, start=split.test_start, end=split.test_end,
                                  min_history=max([1, *(s.lookback for s in loaded)]), order_size=order_size)
    if on_windows is not None:
        on_windows(windows)
    return {s.name: evaluate(s, bars, horizon=horizon, split=split, grid=grid, fit=False, windows=windows,
                             impact=impact, progress=progress)
            for s in loaded}
