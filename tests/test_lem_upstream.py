"""The upstream ``lems`` adapter (optional extra): runs through the same interface, and the audit flags it."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import execbench as eb  # noqa: E402
from execbench.errors import StrategyError  # noqa: E402
from execbench.strategy.registry import load_strategy  # noqa: E402
from execbench.strategy import RealisedWindow, order_context  # noqa: E402

pytest.importorskip("lems", reason="the optional upstream extra (pip install -e '.[upstream]') is not installed")

SMALL = {"lookback": 8, "hidden": 8, "mlp_hidden": 8, "predict_batch": 256}


@pytest.fixture(scope="module")
def btc():
    bars = eb.load_bars("BTCUSDT")
    return bars, eb.make_split(bars, test_start="2026-04-25", val_start="2026-01-01")


def test_upstream_inputs_follow_its_formatter(btc):
    """Columns, normalisation and alignment match ``lems.data_formater.prepare_data_with_ahead_inputs``
    run on the same bars."""
    from lems.data_formater import prepare_data_with_ahead_inputs

    from execbench.strategies.lem_upstream import NORMALISATION_SECTION, upstream_inputs

    bars, _ = btc
    lookback, horizon = 8, 12
    windows = eb.build_order_windows(bars, horizon, start="2026-04-01",
                                     min_history=lookback + NORMALISATION_SECTION + 1).subset(slice(0, 3))
    ours = upstream_inputs(order_context(windows, lookback + NORMALISATION_SECTION + 1), RealisedWindow(windows.window("prices"), windows.window("volumes")),
                           lookback)
    prices, volumes = eb.bar_prices(bars), bars["volume"].to_numpy(np.float64)
    times = bars.index
    origin = int(windows.origin[0])
    rows = slice(origin - lookback - NORMALISATION_SECTION - 1, origin + horizon + 1)
    p, v, t = prices[rows], volumes[rows], times[rows]
    features = np.column_stack([v, np.full(len(v), 15.0), t.month, t.day_of_week,
                                np.r_[np.nan, p[1:] / p[:-1] - 1.0], p, v])[1:]
    x, _, _ = prepare_data_with_ahead_inputs(p[1:], v[1:], features, t[1:], lookback, horizon)
    np.testing.assert_allclose(ours[0], x[0], rtol=2e-6)


@pytest.mark.slow  # make test-slow (CI runs it after make test)
def test_upstream_model_is_refused_because_it_is_not_causal(btc):
    """Run through the same interface, upstream's model reads bar s for decision s; the framework masks
    that bar, its per-bar decisions then no longer add up, and the run is refused in one line."""
    bars, _ = btc
    split = eb.make_split(bars, test_start="2026-04-28", val_start="2026-01-01")
    strategy = load_strategy("lem-upstream", **SMALL).fit(None)
    with pytest.raises(StrategyError, match="lem-upstream.*do not sum to 1.*depend on later bars"):
        eb.evaluate(strategy, bars, split=split, fit=False, audit=False)
