"""Built-in strategies: valid allocations on every scenario, constraints, fitting, save/load."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import execbench as eb
from execbench.errors import StrategyError
from execbench.orders import training_bars
from execbench.strategy.registry import available_strategies, load_fitted, load_strategy
from execbench.strategy.schedules import bounded_step, fit_profile, participation_caps
from execbench.strategy import order_context, run_strategy
from execbench.orders.windows import build_order_windows

BUILT_INS = ["twap", "vwap", "dvwap", "pov", "ac", "flex"]


@pytest.fixture(scope="module")
def btc():
    bars = eb.load_bars("BTCUSDT")
    split = eb.make_split(bars, test_start="2026-04-20", val_start="2026-01-01")
    return bars, split


def fitted(name, bars, split, **params):
    strategy = load_strategy(name, **params)
    return strategy.fit(training_bars(bars, split.train_end))


def test_every_built_in_is_registered():
    assert set(BUILT_INS) <= set(available_strategies())


@pytest.mark.parametrize("name", BUILT_INS)
def test_built_ins_emit_valid_allocations_on_the_full_grid(name, btc):
    bars, split = btc
    ev = eb.evaluate(name, bars, horizon=12, split=split, audit=False, option=False)
    result = ev.result
    assert result.n_orders > 800
    np.testing.assert_allclose(result.executed, 1.0, atol=1e-9)
    assert (result.violations == 0).all()  # 1/T² minimum while incomplete, max rate 1
    spec_m = np.array([s.min_period for s in result.grid.specs])
    assert (result.end_bar >= spec_m[None, :]).all()
    assert np.isfinite(result.bps).all()


def test_flexible_strategies_use_the_window_and_fixed_ones_do_not(btc):
    bars, split = btc
    runs = eb.compare(["vwap", "flex", "pov"], bars, horizon=12, split=split, audit=False, option=False)
    assert (runs["vwap"].result.end_bar == 12).all()
    flex = runs["flex"].result
    m1 = flex.column("end_bar", "buy-vwap-quantity-m1")
    assert m1.min() < 12 and (flex.column("end_bar", "buy-vwap-quantity-match") == 12).all()
    # with a 1 % order and a 2 % participation target, POV tends to finish before T
    assert runs["pov"].result.column("end_bar", "sell-twap-notional-m1").mean() < 12
    # identical orders for every strategy in a comparison
    origins = [r.result.orders["origin"].to_numpy() for r in runs.values()]
    assert all((o == origins[0]).all() for o in origins)


def test_participation_caps(btc):
    bars, split = btc
    capped = eb.scenario_grid(12, max_participation=0.05)
    for name in ("twap", "ac", "flex"):
        with pytest.raises(StrategyError, match="cannot honour a participation cap"):
            eb.evaluate(name, bars, horizon=12, split=split, grid=capped, order_size=0.02, audit=False, option=False)
    windows = build_order_windows(bars, 12, start=split.test_start, min_history=700).subset(slice(0, 200))
    vwap = fitted("vwap", bars, split)
    ctx = order_context(windows, 700)
    expected, _ = vwap.forecast(ctx)
    for size, feasible in ((0.02, True), (0.2, False)):  # 2 % or 20 % of the window's volume, cap 5 %
        sized = replace(windows, order_size=size)
        alloc = run_strategy(vwap, sized, capped)
        hi = participation_caps(capped, order_context(sized, 700), expected)
        assert (hi.sum(axis=1) >= 1).all() == feasible
        if feasible:  # never above the cap on the forecast volume
            assert (alloc <= hi + 1e-12).all()
        else:  # cannot fit: participation on the forecast is spread evenly
            np.testing.assert_allclose(alloc, hi / hi.sum(axis=1, keepdims=True))
    # POV's target rate is capped by the contract: a 10 % target under a 5 % cap finishes later
    free = eb.evaluate(load_strategy("pov", rate=0.1), bars, horizon=12, split=split, order_size=0.02, audit=False, option=False)
    held = eb.evaluate(load_strategy("pov", rate=0.1), bars, horizon=12, split=split, order_size=0.02, grid=capped, audit=False, option=False)
    assert held.result.end_bar.mean() > free.result.end_bar.mean()
    for result in (held.result, eb.evaluate("dvwap", bars, horizon=12, split=split, grid=capped, audit=False, option=False).result):
        np.testing.assert_allclose(result.executed, 1.0, atol=1e-9)


def test_almgren_chriss_front_loads_with_risk_aversion(btc):
    bars, split = btc
    windows = build_order_windows(bars, 12, start=split.test_start, min_history=1)
    grid = eb.scenario_grid(12, min_rate=0.0, include_match=False, min_periods=(12,))
    patient = run_strategy(fitted("ac", bars, split, risk_aversion=0.0), windows.subset(slice(0, 4)), grid)
    np.testing.assert_allclose(patient, 1 / 12)  # no risk aversion: TWAP
    eager = run_strategy(fitted("ac", bars, split, risk_aversion=50.0), windows.subset(slice(0, 4)), grid)
    first = eager[0, :, 0]
    assert first[0] > 1 / 12 and (np.diff(first) < 0).all()


def test_fitted_state_round_trip(btc, tmp_path):
    bars, split = btc
    windows = build_order_windows(bars, 12, start=split.test_start, min_history=700).subset(slice(0, 50))
    grid = eb.scenario_grid(12)
    for name in ("vwap", "dvwap", "ac"):
        strategy = fitted(name, bars, split)
        path = strategy.save(tmp_path / f"{name}.json")
        again = load_fitted(path)
        assert type(again) is type(strategy) and again.params() == strategy.params()
        np.testing.assert_array_equal(run_strategy(again, windows, grid), run_strategy(strategy, windows, grid))
    with pytest.raises(StrategyError, match="is not fitted"):
        run_strategy(load_strategy("vwap"), windows, grid)
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(StrategyError, match="not a saved strategy"):
        load_fitted(tmp_path / "junk.json")


def test_schedule_helpers_respect_bounds():
    rng = np.random.default_rng(0)
    profile = rng.random((20, 6, 1)) ** 4
    lo = np.array([1 / 36, 0.0])
    hi = np.array([0.3, 1.0])
    alloc = fit_profile(profile, lo, hi)
    np.testing.assert_allclose(alloc.sum(axis=1), 1.0)
    assert (alloc >= lo - 1e-12).all() and (alloc <= hi + 1e-12).all()
    remaining = np.full((3, 2), 0.5)
    step = bounded_step(np.array([[0.0, 0.9]] * 3), remaining, 2, 6, lo, hi)
    np.testing.assert_allclose(step, [[1 / 36, 0.5]] * 3)
    last = bounded_step(np.zeros((3, 2)), remaining, 5, 6, lo, hi)
    np.testing.assert_allclose(last, remaining)  # the last bar takes the remainder
    urgent = bounded_step(np.zeros((1, 1)), np.array([[0.9]]), 3, 6, lo[:1], np.array([0.3]))
    np.testing.assert_allclose(urgent, [[0.3]])  # 0.9 left, two later bars of 0.3: at least 0.3 now
