"""``execbench.explore`` on a folder that keeps its per-order results: the dashboard's views and the
questions about dates and regimes equal what the library computes directly; the folder reader refuses
what it cannot read; the binned density equals scipy's KDE."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import gaussian_kde

import execbench.explore as ex
from execbench.analysis.stats import summarize
from execbench.cli import main
from execbench.contracts import MATCH
from execbench.errors import DataError
from execbench.analysis.stats import binned_kde
from execbench.explore.figures import density_figure, fan_figure, heatmap_figure, min_period_figure
from execbench.results import load_run


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    assert main(["compare", "--strategies", "twap,flex", "--asset", "BTCUSDT", "--test-start", "2025-07-01",
                 "--test-end", "2025-08-01", "--by", "regime", "--out", str(root / "small")]) == 0
    return root / "small"


@pytest.fixture(scope="module")
def info(folder):
    return ex.read_folder(folder)


def test_the_folder_record(info):
    assert (info.kind, info.strategies, info.assets, info.horizon) == ("comparison", ("twap", "flex"), ("BTCUSDT",), 12)
    assert info.per_order and info.audit_summary == "passed" and info.first_origin.startswith("2025-07-01")
    assert {"comparison", "scenario_stats_twap", "paired_by_regime"} <= set(info.tables())


def test_per_order_views_equal_the_library(info, folder):
    _, full = load_run(folder)
    runs = ex.per_order(info)
    assert runs["flex"].allocations is None and runs["flex"].kept == ()
    for name in ("twap", "flex"):
        np.testing.assert_array_equal(runs[name].bps, full[name].bps)
    samples = ex.perf_samples(runs, "sell", "vwap", "quantity", 3)
    np.testing.assert_array_equal(samples["flex"], full["flex"].column("perf_bps", "sell-vwap-quantity-m3"))
    effect = ex.min_period_effect(runs, "buy", "vwap", "quantity", reps=200)
    rows = ex.scenario_rows(info).set_index(["strategy", "scenario"])
    for row in effect.itertuples():
        label = f"buy-vwap-quantity-{'match' if row.period == MATCH else 'm' + row.period}"
        assert row.perf_bps == pytest.approx(rows.loc[(row.strategy, label), "perf_bps_mean"], abs=1e-4)
        assert row.ci_lo <= row.perf_bps <= row.ci_hi
    fan = ex.execution_fan(info, "flex", "buy", "quantity", 4)
    assert fan["q50"].iloc[0] == 0 and fan["q10"].iloc[-1] == pytest.approx(1, abs=1e-6)
    assert (np.diff(fan["q50"]) >= -1e-9).all() and (fan["q10"] <= fan["q90"] + 1e-12).all()


def test_the_saved_breakdown_equals_the_computed_one(info):
    saved = ex.breakdown(info, "regime")
    computed = ex.breakdown(info, "regime", benchmark="vwap", target="notional")  # not saved: computed
    assert len(computed) and set(computed["Regime"]) <= set(saved["Regime"])
    again = ex.tables.paired_breakdown(ex.per_order(info), by="regime", periods=[1, MATCH])
    keys = ["Regime", "Strategy", "Side", "Min period"]
    merged = saved.astype({"Min period": str}).merge(again.astype({"Min period": str}), on=keys, suffixes=("", "_c"))
    assert len(merged) == len(again)
    np.testing.assert_allclose(merged["Mean diff"], merged["Mean diff_c"], rtol=1e-5)
    np.testing.assert_allclose(merged["CI lo"], merged["CI lo_c"], rtol=1e-5)


def test_date_and_regime_questions_use_the_orders(info, folder):
    _, full = load_run(folder)
    reply = ex.answer("best hit rate for sells in the HH regime", [info])
    assert reply.query.regime == "HH" and reply.query.intent == "best"
    mask = (full["flex"].orders["regime"] == "HH").to_numpy()
    flex = reply.table.set_index("strategy").loc["flex"]
    values = full["flex"].column("bps", "sell-vwap-quantity-m1")[mask]
    assert flex["bps_N"] == mask.sum() and flex["bps_Mean"] == pytest.approx(summarize(values)["Mean"])
    whole = ex.answer("lowest risk for buys in Q3 2025", [info])
    saved = ex.scenario_rows(info).set_index(["strategy", "scenario"])
    for row in whole.table.itertuples():
        assert row.bps_Std == pytest.approx(saved.loc[(row.strategy, "buy-vwap-quantity-m1"), "bps_Std"], rel=1e-4)
    assert "no orders in dates 2024-01-01" in ex.answer("best for buys in 2024", [info]).text
    paired = ex.answer("compare flex with twap for sells", [info])
    assert "Paired on the same orders — sell: flex − twap" in paired.text and "HAC p" in paired.text
    frame = ex.ask_frame(info, regime="HH")
    assert frame.set_index(["strategy", "side", "benchmark", "target", "period"]).loc[
        ("flex", "sell", "vwap", "quantity", "1"), "bps_N"] == mask.sum()


def test_the_reader_refuses_what_it_cannot_read(tmp_path, info):
    with pytest.raises(DataError, match="no such folder"):
        ex.read_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not an execbench folder"):
        ex.read_folder(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "compare.json").write_text("{not json")
    with pytest.raises(DataError, match="compare.json: not a readable JSON record"):
        ex.read_folder(tmp_path / "bad")
    tables_only = ex.FolderInfo(**{**info.__dict__, "per_order": False})
    with pytest.raises(DataError, match=r"needs the per-order results \(results_\*\.npz\).*re-create it with"):
        ex.per_order(tables_only)


def test_binned_density_equals_scipy_and_figures_build():
    x = np.random.default_rng(3).standard_t(4, 20_000) * 10
    grid = np.linspace(*np.percentile(x, [0.5, 99.5]), 400)
    exact = gaussian_kde(x)(grid)
    assert np.abs(binned_kde(x, grid) - exact).max() < 0.01 * exact.max()
    figure = density_figure({"a": x, "b": x + 1}, "t")
    assert len(figure.data) == 2 and figure.data[0].customdata.max() <= 100
    fan = pd.DataFrame({"bar": range(13), **{q: np.linspace(0, 1, 13) for q in ("q10", "q25", "q50", "q75", "q90")}})
    assert len(fan_figure({"a": fan}, "t", 4).data) == 3
    effect = pd.DataFrame({"strategy": ["a", "a"], "period": ["1", "match"], "perf_bps": [1.0, 0.5],
                           "ci_lo": [0.5, 0.0], "ci_hi": [1.5, 1.0]})
    assert min_period_figure(effect, "t").data[0].error_y.array is not None
    cells = pd.DataFrame({"asset": ["X", "Y"], "strategy": ["a", "a"], "perf_bps_mean": [1.0, 2.0]})
    assert heatmap_figure(cells, "perf_bps_mean", "asset", "strategy", "t").data[0].z.shape == (1, 2)
