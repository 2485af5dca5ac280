"""LEM features: shape, alignment, and causality under perturbation of later bars."""

from __future__ import annotations

import numpy as np

import execbench as eb
from execbench.lem.features import (NORMALISER, feature_names, last_position_features, lem_features, sequence_features,
                                    volume_level)
from execbench.strategy import RealisedWindow, order_context


def context(bars, lookback, horizon=12):
    windows = eb.build_order_windows(bars, horizon, start="2026-04-01", min_history=lookback + NORMALISER + 1)
    windows = windows.subset(slice(0, 40))
    ctx = order_context(windows, lookback + NORMALISER + 1)
    return ctx, RealisedWindow(windows.window("prices"), windows.window("volumes")), windows


def test_shape_alignment_and_values():
    bars = eb.load_bars("BTCUSDT")
    ctx, window, windows = context(bars, lookback=24)
    x = lem_features(ctx, window, lookback=24)
    assert x.shape == (40, 24 + 11, 5) and len(feature_names("continuous")) == 5
    prices = eb.bar_prices(bars)
    origin = int(windows.origin[0])
    # position p is bar origin − L + p: the last lookback position is the bar just before the origin
    assert x[0, 23, 1] == 100 * np.log(prices[origin - 1] / prices[origin - 2])  # percent
    assert x[0, 24, 1] == 100 * np.log(prices[origin] / prices[origin - 1])
    level = bars["volume"].to_numpy()[origin - 24 - NORMALISER: origin - 24].mean()
    assert np.isclose(x[0, 0, 0], bars["volume"].to_numpy()[origin - 24] / level)
    assert np.isfinite(x).all() and np.abs(x[:, :, 2:4]).max() <= 0.5


def test_features_for_a_decision_ignore_that_bar_and_later():
    bars = eb.load_bars("ETHUSDT")
    lookback, horizon = 16, 12
    ctx, window, _ = context(bars, lookback, horizon)
    base = lem_features(ctx, window, lookback)
    rng = np.random.default_rng(0)
    for s in range(horizon):
        # perturb execution bars ≥ s in the window and in the underlying market
        prices, volumes = window.prices.copy(), window.volumes.copy()
        prices[:, s:] *= np.exp(rng.normal(0, 0.05, prices[:, s:].shape))
        volumes[:, s:] *= np.exp(rng.normal(0, 0.5, volumes[:, s:].shape))
        changed = lem_features(ctx, RealisedWindow(prices, volumes), lookback)
        visible = lookback + s  # positions < L + s describe bars < origin + s
        np.testing.assert_array_equal(changed[:, :visible], base[:, :visible])
        if s < horizon - 1:
            assert not np.array_equal(changed[:, visible], base[:, visible])  # the alignment is tight


def test_last_position_features_equal_the_sequence_last_position():
    """Stepwise inference adds one position per revealed bar: the same numbers as the whole sequence's last,
    on a market with zero-volume bars and a sessions calendar too."""
    for asset, freq, start in (("BTCUSDT", "1h", "2026-04-01"), ("AAPL", "1d", "2024-01-02")):
        windows = eb.build_order_windows(eb.load_bars(asset, freq), 12, start=start, min_history=24 + NORMALISER + 1)
        windows = windows.subset(slice(0, 40))
        ctx = order_context(windows, 24 + NORMALISER + 1)
        prices, volumes = windows.window("prices"), windows.window("volumes")
        volumes[::3, 1] = 0.0
        level = volume_level(ctx, 24)  # what the stepwise strategy computes once, at start
        for k in range(1, 12):
            whole = sequence_features(ctx, prices[:, :k], volumes[:, :k], 24)[:, -1]
            np.testing.assert_array_equal(last_position_features(ctx, prices[:, :k], volumes[:, :k], 24), whole)
            np.testing.assert_array_equal(last_position_features(ctx, prices[:, :k], volumes[:, :k], 24, level), whole)


def test_upstream_lead_shifts_the_sequence_one_bar_later():
    """lead=1 (the upstream alignment, for comparison only) shows the decision for bar o+s bar o+s."""
    bars = eb.load_bars("BTCUSDT")
    lookback = 16
    ctx, window, _ = context(bars, lookback)
    causal = lem_features(ctx, window, lookback)
    upstream = lem_features(ctx, window, lookback, lead=1)
    np.testing.assert_array_equal(upstream[:, :-1, 1], causal[:, 1:, 1])  # same bars, one position earlier
    ratio = upstream[:, :-1, 0] / causal[:, 1:, 0]  # volumes too, up to the normaliser (it moves with the sequence)
    np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones_like(ratio), rtol=1e-9)
    prices = window.prices.copy()
    prices[:, 3:] *= 1.05  # bars ≥ o+3
    changed = lem_features(ctx, RealisedWindow(prices, window.volumes), lookback, lead=1)
    assert not np.array_equal(changed[:, lookback - 1 + 3], upstream[:, lookback - 1 + 3])  # step 3 sees bar o+3


def test_daily_sessions_use_day_of_week_and_month():
    dow = eb.load_bars("AAPL", "1d")
    windows = eb.build_order_windows(dow, 12, start="2024-01-02", min_history=400).subset(slice(0, 5))
    ctx = order_context(windows, 400)
    x = lem_features(ctx, RealisedWindow(windows.window("prices"), windows.window("volumes")), lookback=20)
    assert feature_names("sessions")[2:4] == ("day_of_week", "month")
    assert set(np.round((x[:, :, 2] + 0.5) * 4).ravel()) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    assert np.allclose(x[:, :, 4], 1.0)  # one-day bars
