"""Market impact in the replay, implementation shortfall, regimes, and Almgren-Chriss vs theory."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import execbench as eb
from execbench.cli import main
from execbench.engine import ImpactModel
from execbench.engine.impact import impact_kernel, impact_numpy
from execbench.errors import ContractError
from execbench.pipeline.frontier import efficient_frontier
from execbench.analysis.inference import non_overlapping
from execbench.data.synthetic import HestonParams, simulate_bars
from execbench.orders.regimes import volatility_regimes
from execbench.analysis.shortfall import COMPONENTS, shortfall

from test_engine import random_allocations, random_market


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), horizon=st.integers(1, 8),
       eps=st.floats(0.0, 0.2), beta=st.sampled_from([0.5, 1.0, 1.5]), gamma=st.floats(0.0, 0.1),
       bench=st.booleans(), zero_share=st.sampled_from([0.0, 0.3]))
def test_impact_kernel_equals_numpy_twin(seed, n, horizon, eps, beta, gamma, bench, zero_share):
    rng = np.random.default_rng(seed)
    grid = eb.scenario_grid(horizon)
    prices, volumes = random_market(rng, n, horizon, zero_share)
    alloc = random_allocations(rng, n, horizon, len(grid))
    qty = rng.gamma(1.0, 1.0, n)
    window = volumes.sum(axis=1) + 1.0
    arrays = grid.arrays()
    args = (prices, volumes, alloc, qty, qty * prices[:, 0], window, grid.side_sign, arrays["is_notional"],
            arrays["is_twap"], arrays["min_period"], eps, beta, gamma, 1.0, bench)
    for a, b in zip(impact_kernel(*args), impact_numpy(*args), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_a_scenario_that_trades_nothing_gives_the_twins_nan_with_impact():
    grid = eb.scenario_grid(3)
    alloc = np.full((2, 3, len(grid)), 1 / 3)
    alloc[1, :, :4] = 0.0
    prices, volumes = np.full((2, 3), 50.0), np.ones((2, 3))
    kw = dict(order_qty=np.ones(2), order_notional=np.full(2, 50.0), impact=ImpactModel(eps=0.1), check=False)
    fast = eb.replay(prices, volumes, alloc, grid, **kw)
    with np.errstate(invalid="ignore", divide="ignore"):
        slow = eb.replay(prices, volumes, alloc, grid, backend="numpy", **kw)
    assert np.isnan(fast.achieved[1, :4]).all() and np.isfinite(fast.achieved[0]).all()
    np.testing.assert_array_equal(fast.achieved, slow.achieved)


@pytest.fixture(scope="module")
def btc():
    bars = eb.load_bars("BTCUSDT")
    return bars, eb.make_split(bars, test_start="2026-04-01")


def test_no_impact_model_is_exactly_no_impact_and_cost_grows_with_size(btc):
    bars, split = btc
    impact = ImpactModel(eps=0.05, beta=0.5, gamma=0.02)
    plain = eb.evaluate("vwap", bars, split=split, order_size=0.01, audit=False, option=False).result
    zero = eb.evaluate("vwap", bars, split=split, order_size=0.01, impact=ImpactModel(), audit=False, option=False).result
    np.testing.assert_array_equal(zero.achieved, plain.achieved)
    np.testing.assert_array_equal(zero.benchmark, plain.benchmark)
    with pytest.raises(eb.DataError, match="order_size"):  # a zero-size order is refused
        eb.evaluate("vwap", bars, split=split, order_size=0.0, option=False)
    costs = []
    for size in (0.01, 0.05, 0.2, 0.5):
        result = eb.evaluate("vwap", bars, split=split, order_size=size, impact=impact, audit=False, option=False).result
        parts = shortfall(result)
        assert (parts["impact_bps"] > 0).all()  # against the trader: buys pay more, sells receive less
        costs.append(float(parts["impact_bps"].mean()))
    assert all(b > a for a, b in zip(costs, costs[1:], strict=False)), costs


def test_shortfall_parts_add_up_and_benchmark_choice(btc):
    bars, split = btc
    impact = ImpactModel(eps=0.05, gamma=0.05)
    result = eb.evaluate("flex", bars, split=split, order_size=0.1, impact=impact, audit=False, option=False).result
    parts = shortfall(result)
    total = sum(parts[name] for name in COMPONENTS[1:])
    np.testing.assert_allclose(parts["is_bps"], total, atol=1e-8)
    assert np.abs(parts["opportunity_bps"]).max() < 1e-6  # every order completes
    shifted = eb.evaluate("flex", bars, split=split, order_size=0.1,
                          impact=ImpactModel(eps=0.05, gamma=0.05, benchmark_with_impact=True), audit=False, option=False).result
    np.testing.assert_array_equal(shifted.achieved, result.achieved)
    buy = result.grid.index("buy-vwap-quantity-match")
    assert (shifted.benchmark[:, buy] >= result.benchmark[:, buy]).all()  # our buying lifts the benchmark too
    assert (shifted.benchmark[:, buy] > result.benchmark[:, buy]).any()
    with pytest.raises(ContractError, match="impact parameter 'beta'"):
        ImpactModel(beta=0)


def test_almgren_chriss_matches_theory_on_a_simulated_market():
    # constant volume and volatility, bar price = the path's price: the setting of the closed form
    market = HestonParams(xi=0.0, vol_sigma=0.0, vol_beta=0.0, u_amp=0.0, substeps=1)
    bars = simulate_bars(market, n_bars=150_000, seed=11)
    split = eb.make_split(bars, test_start="2025-06-01", val_start="2025-06-01")
    impact = ImpactModel(eps=0.01, beta=1.0)
    table = efficient_frontier(bars, split=split, horizon=12, order_size=0.1, impact=impact,
                               risk_aversions=[0.0, 30.0, 300.0])
    assert (table["orders"] > 2500).all()
    for _, row in table.iterrows():
        assert abs(row["mean IS"] - row["theory mean"]) < 3 * row["se mean"], row.to_dict()
        assert row["std IS"] == pytest.approx(row["theory std"], rel=0.06), row.to_dict()
    ac = table[table["strategy"] != "TWAP"]
    assert (np.diff(ac["theory mean"]) > 0).all() and (np.diff(ac["std IS"]) < 0).all()  # cost up, risk down
    # the impact part alone is nearly deterministic here: η·Σa² exactly, up to price-level noise
    windows = eb.build_order_windows(bars, 12, start=split.test_start, order_size=0.1)
    windows = windows.subset(non_overlapping(windows.asset_id, 12))
    grid = eb.scenario_grid(12, sides=("buy",), benchmarks=("vwap",), targets=("quantity",), min_periods=())
    result = eb.replay_strategy(eb.load_strategy("twap"), windows, grid, impact=impact)
    assert shortfall(result)["impact_bps"].mean() == pytest.approx(0.01 * 0.1 * 12 / 12 * 1e4, rel=0.01)


def test_regime_labels_are_causal_and_cover_the_four_regimes():
    bars = simulate_bars(n_bars=8000, seed=2)
    prices = eb.bar_prices(bars)
    labels = volatility_regimes(prices, "15m")
    assert set(labels[4000:]) == {"HH", "HL", "LH", "LL"} and labels[0] == "NA"
    cut = 6000
    changed = prices.copy()
    changed[cut:] *= np.exp(np.random.default_rng(0).normal(0, 0.05, changed.size - cut))
    np.testing.assert_array_equal(volatility_regimes(changed, "15m")[: cut + 1], labels[: cut + 1])


def test_cli_with_impact_shortfall_and_regimes(tmp_path, capsys):
    out = tmp_path / "ac"
    args = ["run", "--strategy", "ac", "--asset", "synthetic:heston", "--impact-param", "eps=0.01", "--market-param",
            "bars=8000", "--param", "risk_aversion=3", "--by", "regime,year", "--out", str(out), "--no-audit"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "implementation shortfall" in printed and "by regime" in printed
    record = json.loads((out / "run.json").read_text())
    assert "eps=0.01" in record["conventions"]["impact"] and "market's own prices" in record["conventions"]["impact"]
    assert record["strategy_params"]["risk_aversion"] == 3.0
    for stem in ("shortfall", "by_regime", "by_year"):
        assert (out / f"{stem}.csv").is_file()
    btc = tmp_path / "btc"
    assert main(["run", "--strategy", "twap", "--asset", "BTCUSDT", "--test-start", "2026-04-20", "--impact-param",
                 "eps=0.05", "--order-size", "0.1", "--by", "regime", "--out", str(btc), "--no-audit"]) == 0
    import pandas as pd

    shortfall_table = pd.read_csv(btc / "shortfall.csv")
    assert (shortfall_table["impact (bps)"] > 0).all()
