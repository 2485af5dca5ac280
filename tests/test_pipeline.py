"""The notebook user's pipeline: evaluate/compare audit by default, short reprs, tables by kind, and one
conversion between the in-memory and the on-disk result."""

from __future__ import annotations

import numpy as np
import pytest

import execbench as eb

import cheats


@pytest.fixture(scope="module")
def btc():
    bars = eb.load_bars("BTCUSDT")
    return bars, eb.make_split(bars, test_start="2026-04-20")


def test_evaluate_audits_by_default_and_shows_it(btc):
    bars, split = btc
    ev = eb.evaluate("twap", bars, split=split)
    assert isinstance(ev.audit, eb.AuditReport) and ev.audit.passed and ev.audit.n_orders >= min(500, ev.result.n_orders)
    assert "audit passed" in repr(ev) and len(repr(ev)) < 200
    assert "look-ahead audit of 'twap' passed" in ev.summary()
    assert "audit_s" in ev.timings
    skipped = eb.evaluate("twap", bars, split=split, audit=False, option=False)
    assert skipped.audit is None and "audit skipped" in repr(skipped) and "skipped" in skipped.summary()
    np.testing.assert_array_equal(skipped.result.bps, ev.result.bps)  # the audit changes nothing


def test_a_leaky_strategy_is_evaluated_but_its_audit_fails(btc):
    bars, split = btc

    ev = eb.evaluate(cheats.StackPeeker(), bars, split=split, audit_orders=4, option=False)
    assert not ev.audit.passed and "FAILED step 0" in repr(ev) and "FAILED at step 0" in ev.summary()


def test_compare_audits_every_strategy_and_tables_have_defaults(btc):
    bars, split = btc
    comparison = eb.compare(["twap", "flex"], bars, split=split, audit_orders=100)
    assert list(comparison) == ["twap", "flex"] and all(e.audit.passed for e in comparison.values())
    assert "twap passed, flex passed" in repr(comparison)
    table = comparison.table()
    assert list(table.columns) == ["Strategy", "Side", "N", "m=1 mean", "m=6 mean", "m=12 mean", "Match mean",
                                   "Match std"]
    results = {k: e.result for k, e in comparison.items()}
    assert eb.comparison_table(results).equals(table)  # periods default to 1, T/2, T, match
    assert "Strategy" in comparison.summary()
    # one TWAP baseline replay serves every strategy on the same orders, with the numbers of its own replay
    assert comparison["flex"].baseline is comparison["twap"].baseline
    alone = eb.evaluate("flex", bars, split=split, audit=False, option=False, windows=comparison["flex"].windows)
    for label in alone.baseline.grid.labels:  # the shared one may hold more scenarios (those TWAP's checks needed)
        np.testing.assert_array_equal(alone.baseline.column("bps", label), comparison["flex"].baseline.column("bps", label))


def test_tables_by_kind_and_one_result_conversion(btc):
    bars, split = btc
    ev = eb.evaluate("flex", bars, split=split, audit=False, option=False)
    assert ev.table("paper")["Order"].iloc[2] == "FLEX BUY"
    assert len(ev.table("scenarios")) == 104
    assert list(ev.table("min_period", stat="Std").index)[-1] == "Match"
    assert "IS (bps)" in ev.table("shortfall").columns
    assert "Regime" in ev.table("breakdown", by="regime").columns
    ci = ev.table("ci", reps=50, periods=[1, "match"])
    assert {"Mean lo", "Mean hi"} <= set(ci.columns)
    ci.iloc[0, 2] = -1.0  # each call gets its own copy of the table computed once
    again = ev.table("ci", reps=50, periods=[1, "match"])
    assert again.iloc[0, 2] != -1.0 and ("ci", repr(sorted({"reps": 50, "periods": [1, "match"]}.items()))) in ev._tables
    assert not again.equals(ev.table("ci", reps=50, periods=[1, 6]))
    with pytest.raises(ValueError, match="expected one of paper"):
        ev.table("nope")
    with pytest.raises(eb.ParameterError, match="breakdown 'weekday'"):
        ev.table("breakdown", by="weekday")
    run = ev.run_data()
    np.testing.assert_array_equal(run.perf_bps, ev.result.perf_bps)
    np.testing.assert_array_equal(eb.RunData.from_evaluation(ev).bps, run.bps)
    label = "sell-vwap-quantity-m1"
    np.testing.assert_array_equal(run.column("perf_bps", label), ev.result.column("perf_bps", label))


def test_short_reprs():
    assert repr(eb.load_strategy("flex", front=0.3)) == "FlexHeuristic(front=0.3, threshold_bps=0.0)"
    assert repr(eb.load_strategy("twap")) == "TWAP()"
    assert repr(eb.scenario_grid(12)) == "ScenarioGrid(T=12, 104 scenarios: buy/sell, m=1..12 + match)"
    assert repr(eb.ContractSpec("buy", "quantity", "vwap", 12, 3)) == "ContractSpec('buy-vwap-quantity-m3', T=12)"
