"""Order windows: every bar an origin, gaps skipped and counted, causal history, sizing, splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from execbench.data import bar_prices
from execbench.errors import DataError
from execbench.orders import make_split
from execbench.orders.windows import build_order_windows

from conftest import make_bars


def _with_attrs(frame, freq="15m", calendar="continuous"):
    frame.attrs = {"asset": "TEST", "freq": freq, "calendar": calendar}
    return frame


def test_every_bar_is_an_origin_and_windows_hold_the_right_bars(bars):
    bars = _with_attrs(bars)
    windows = build_order_windows(bars, 12)
    assert len(windows) == len(bars) - 1 - 11  # first bar has no history, last 11 have no full window
    assert windows.skipped == {"history": 1, "tail": 11, "gap": 0}
    prices = bar_prices(bars)
    np.testing.assert_array_equal(windows.window("prices")[0], prices[1:13])
    np.testing.assert_array_equal(windows.window("volumes")[5], bars["volume"].to_numpy()[6:18])
    hist = windows.history("prices", 3)
    assert np.isnan(hist[0, :2]).all() and hist[0, 2] == prices[0]  # only bars before the origin
    np.testing.assert_array_equal(hist[10], prices[8:11])
    assert windows.arrival_price()[10] == prices[10]


def test_windows_spanning_a_gap_are_skipped_and_counted(bars):
    holed = _with_attrs(bars.drop(bars.index[100]))
    windows = build_order_windows(holed, 12)
    assert windows.skipped["gap"] == 11  # origins 89..99 (positions) span the hole
    times = windows.bar_times()
    steps = np.diff(times, axis=1).astype("timedelta64[m]").astype(int)
    assert (steps == 15).all()


def test_session_calendar_tolerates_weekends_but_not_holes():
    frame = make_bars(60, freq="1D")
    frame = frame[frame.index.day_of_week < 5]
    frame = _with_attrs(frame, freq="1d", calendar="sessions")
    assert build_order_windows(frame, 5).skipped["gap"] == 0
    holed = _with_attrs(frame.drop(frame.index[20:27]), freq="1d", calendar="sessions")
    assert build_order_windows(holed, 5).skipped["gap"] == 4


def test_period_bounds_history_and_sizes(bars):
    bars = _with_attrs(bars)
    windows = build_order_windows(bars, 4, start="2024-01-02", end="2024-01-03", min_history=50)
    origins = pd.DatetimeIndex(windows.origin_times())
    assert origins.min() == pd.Timestamp("2024-01-02") and origins.max() < pd.Timestamp("2024-01-03")
    assert len(windows) == 96
    qty, notional = windows.sizes()
    hist = windows.history("volumes", 336)
    np.testing.assert_allclose(qty, 0.01 * np.nanmean(hist, axis=1) * 4)
    np.testing.assert_allclose(notional, qty * windows.arrival_price())
    # a subset takes the derived per-order arrays along: the same numbers as its own gathering
    rows = np.random.default_rng(0).permutation(len(windows))[:40]
    inherited, fresh = windows.subset(rows), build_order_windows(bars, 4, start="2024-01-02", end="2024-01-03",
                                                                  min_history=50).subset(rows)
    assert "expected_volume" in inherited._cache and "expected_volume" not in fresh._cache
    for got, want in zip(inherited.sizes(), fresh.sizes(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_universe_windows_keep_assets_apart():
    a, b = make_bars(100, seed=1), make_bars(80, seed=2)
    universe = pd.concat({"A": a, "B": b}, names=["asset", "timestamp"])
    universe.attrs = {"asset": "pair", "freq": "15m", "calendar": "continuous"}
    windows = build_order_windows(universe, 10)
    assets = windows.assets()
    assert (assets == "A").sum() == 100 - 1 - 9 and (assets == "B").sum() == 80 - 1 - 9
    np.testing.assert_array_equal(windows.window("prices")[assets == "B"][0], bar_prices(b)[1:11])
    # one bar's time per order, each asset on its own clock, NaT outside the data
    for lookback in (1, 5, 60, 95):
        np.testing.assert_array_equal(windows.time_at(-lookback), windows.history_times(lookback)[:, 0])
    np.testing.assert_array_equal(windows.time_at(9), windows.bar_times()[:, -1])
    assert np.isnat(windows.time_at(-1000)).all() and np.isnat(windows.time_at(1000)).all()


def test_history_and_window_bars_equal_a_gathering_bar_by_bar():
    """Orders with all their bars are rows of a strided view; orders near the start of their data get NaN
    for the bars before it: both as a gathering of each bar at its position, per asset."""
    a, b = make_bars(100, seed=1), make_bars(80, seed=2)
    universe = pd.concat({"A": a, "B": b}, names=["asset", "timestamp"])
    universe.attrs = {"asset": "pair", "freq": "15m", "calendar": "continuous"}
    for windows in (build_order_windows(universe, 10), build_order_windows(_with_attrs(a), 10)):
        rows = np.random.default_rng(0).permutation(len(windows))
        windows = windows.subset(rows)  # assets interleaved, origins out of order
        for name in ("prices", "volumes"):
            for lookback in (1, 30, 95):
                want = np.full((len(windows), lookback), np.nan)
                for i in range(len(windows)):
                    series = getattr(windows.series[windows.asset_id[i]], name)
                    for j, position in enumerate(range(windows.origin[i] - lookback, windows.origin[i])):
                        if position >= 0:
                            want[i, j] = series[position]
                np.testing.assert_array_equal(windows.history(name, lookback), want)
            want = np.stack([getattr(windows.series[k], name)[o:o + 10]
                             for k, o in zip(windows.asset_id, windows.origin, strict=True)])
            np.testing.assert_array_equal(windows.window(name), want)
        for lookback in (1, 30, 95):
            times = windows.history_times(lookback)
            assert times.dtype == np.dtype("datetime64[ns]")
            for i in range(len(windows)):
                series = windows.series[windows.asset_id[i]].times
                for j, position in enumerate(range(windows.origin[i] - lookback, windows.origin[i])):
                    assert times[i, j] == series[position] if position >= 0 else np.isnat(times[i, j])


def test_reference_prices_and_labels_are_gathered_once_in_blocks(monkeypatch):
    import execbench.orders.windows as windows_module

    a, b = make_bars(300, seed=1), make_bars(250, seed=2)
    universe = pd.concat({"A": a, "B": b}, names=["asset", "timestamp"])
    universe.attrs = {"asset": "pair", "freq": "15m", "calendar": "continuous"}
    windows = build_order_windows(universe, 6)
    direct = windows.reference_prices(windows.window("prices"), windows.window("volumes"))
    monkeypatch.setattr(windows_module, "REFERENCE_BLOCK", 37)  # blocks that cut across the assets
    blocked = windows.reference_prices()
    assert set(blocked) == set(windows_module.REFERENCES)
    for key, values in direct.items():
        np.testing.assert_array_equal(blocked[key], values, err_msg=key)
    rows = np.arange(5, 400, 7)
    chunk = windows.subset(rows)  # takes them along
    assert "reference:arrival" in chunk._cache
    for key, values in chunk.reference_prices().items():
        np.testing.assert_array_equal(values, direct[key][rows], err_msg=key)
    frame = windows.orders_frame()
    assert frame is windows.orders_frame() and list(frame.columns) == ["asset", "origin", "regime"]
    np.testing.assert_array_equal(frame["asset"].to_numpy(), windows.assets())
    assert (frame["origin"] == pd.DatetimeIndex(windows.origin_times()).tz_localize("UTC")).all()


def test_split_dates_are_checked_against_the_data(bars):
    bars = _with_attrs(bars)
    split = make_split(bars, "2024-01-05")
    assert split.test_start == pd.Timestamp("2024-01-05", tz="UTC")
    with pytest.raises(DataError, match=r"parameter 'test_start': 2030-01-01 is outside the data \(TEST 15m"):
        make_split(bars, "2030-01-01")
    with pytest.raises(DataError, match="parameter 'test_start': expected a date"):
        make_split(bars, "soon")
    with pytest.raises(DataError, match="parameter 'horizon'"):
        build_order_windows(bars, 0)


@pytest.mark.parametrize("block", [1, 7, 64, 10**6])
def test_expected_volumes_gathered_a_block_at_a_time_are_the_same(monkeypatch, block):
    """Memory flat in the orders: the 336 bars of trailing volume are gathered for a block of orders at a
    time; each order's mean comes from its own row, so any block gives the same bits, as does a subset."""
    import execbench.orders.windows as windows_module

    a, b = make_bars(900, seed=3), make_bars(700, seed=4)
    universe = pd.concat({"A": a, "B": b}, names=["asset", "timestamp"])
    universe.attrs = {"asset": "pair", "freq": "15m", "calendar": "continuous"}
    whole = build_order_windows(universe, 6, min_history=1).expected_volume()
    monkeypatch.setattr(windows_module, "SIZE_BLOCK", block)
    windows = build_order_windows(universe, 6, min_history=1)
    np.testing.assert_array_equal(windows.expected_volume(), whole)
    rows = np.random.default_rng(block).permutation(len(windows))[:50]
    fresh = build_order_windows(universe, 6, min_history=1).subset(rows)
    np.testing.assert_array_equal(windows.subset(rows).expected_volume(), fresh.expected_volume())
    own = windows.with_own_cache()
    assert own._cache.keys() == {"expected_volume"} and own.expected_volume() is windows.expected_volume()
