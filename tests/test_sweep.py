"""Sweeps on Dask: a 2 × 2 grid on a LocalCluster with 2 workers equals the same cells through
``eb.evaluate``; a rerun skips finished cells; a failing cell is isolated and retried; a bad grid is a
one-line error before any work starts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pytest import approx

import execbench as eb
from execbench.cli import main
from execbench.errors import DataError, ParameterError, StrategyError
from execbench.results import RunData
from execbench.sweep import SweepOptions, sweep, sweep_cells
from execbench.sweep.summary import frequency_overview, paper_tables, seeds_view

OPTIONS = SweepOptions(test_start="2026-04-15", audit=False, reps=50)
FAILING = '''
from execbench.strategy import Strategy


class NotOnEth(Strategy):
    name = "noteth"
    mode = "static"

    def fit(self, bars):
        if bars.attrs.get("asset") == "ETHUSDT":
            raise ValueError("no ETH here\\nsecond line")
        return self

    def schedule(self, ctx, grid):
        import numpy as np
        return np.full((ctx.n_orders, grid.horizon, len(grid)), 1.0 / grid.horizon)
'''


DYING = FAILING.replace('raise ValueError("no ETH here\\nsecond line")', "import os; os._exit(3)").replace(
    "NotOnEth", "DiesOnEth")


@pytest.fixture(scope="module")
def scheduler():
    import dask
    from dask.distributed import LocalCluster

    dask.config.set({"distributed.scheduler.allowed-failures": 0})  # a dying cell is not retried on another worker
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=40) as cluster:
        yield cluster.scheduler_address


@pytest.mark.slow  # make test-slow (CI runs it after make test)
def test_a_2x2_grid_on_two_workers_equals_evaluate_and_resumes(tmp_path, scheduler):
    seen = []
    with_orders = SweepOptions(**{**OPTIONS.__dict__, "per_order": True})
    rows = sweep(["twap", "flex"], ["BTCUSDT", "ETHUSDT"], out=tmp_path, options=with_orders, scheduler=scheduler,
                 on_start=seen.append)
    assert seen[0]["todo"] == 4 and seen[0]["workers"] == 2
    # per-order results, written by the workers next to the cells
    files = sorted((tmp_path / "per_order").rglob("*.npz"))
    assert len(files) == 4
    run = RunData.load(files[0])
    cell = rows[(rows["cell"] == files[0].stem) & (rows["side"] != "all")].set_index("scenario")
    assert np.nanmean(run.column("bps", "buy-vwap-quantity-m1")) == pytest.approx(
        cell.loc["buy-vwap-quantity-m1", "bps_Mean"], abs=1e-4)  # float32 storage
    assert set(rows["status"]) == {"ok"} and rows["cell"].nunique() == 4
    for strategy, asset in (("flex", "ETHUSDT"), ("twap", "BTCUSDT")):
        bars = eb.load_bars(asset)
        expected = eb.evaluate(strategy, bars, split=eb.make_split(bars, test_start=OPTIONS.test_start), audit=False,
                               option=False).table("scenarios").set_index("scenario")
        got = rows[(rows["strategy"] == strategy) & (rows["asset"] == asset) & (rows["side"] != "all")]
        got = got.set_index("scenario").loc[expected.index]
        np.testing.assert_allclose(got["perf_bps_mean"], expected["perf_bps_mean"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(got["bps_Std"], expected["bps_Std"], rtol=0, atol=1e-9)
        assert (got["perf_bps_ci_lo"] <= got["perf_bps_mean"]).all() and (got["perf_bps_mean"] <= got["perf_bps_ci_hi"]).all()
    # rerun: every cell finished, nothing submitted, the same rows
    seen.clear()
    again = sweep(["twap", "flex"], ["BTCUSDT", "ETHUSDT"], out=tmp_path, options=with_orders, scheduler=scheduler,
                  on_start=seen.append)
    assert seen[0]["todo"] == 0
    key = ["cell", "scenario"]
    pd.testing.assert_frame_equal(again.sort_values(key).reset_index(drop=True), rows.sort_values(key).reset_index(drop=True))
    with pytest.raises(ParameterError, match="test_start '2026-04-15' → '2026-04-01'"):  # no mixed-up cells
        sweep(["twap"], ["BTCUSDT"], out=tmp_path, options=SweepOptions(**{**with_orders.__dict__,
                                                                           "test_start": "2026-04-01"}))
    tables = paper_tables(rows, asset="BTCUSDT")
    assert list(tables) == ["15m"] and tables["15m"]["Order"].iloc[0] == "TWAP Volume"
    assert {"FLEX BUY", "FLEX SELL"} <= set(tables["15m"]["Order"])
    assert (seeds_view(rows)["seeds"] == 1).all()
    overview = frequency_overview(rows).set_index("Asset")
    assert list(overview.index) == ["BTCUSDT", "ETHUSDT"] and "FLEX BUY m=1" in overview
    flex = rows[(rows["strategy"] == "flex") & (rows["asset"] == "ETHUSDT") & (rows["scenario"] == "sell-vwap-quantity-m1")]
    assert overview.loc["ETHUSDT", "FLEX SELL m=1"] == approx(flex["bps_Mean"].iloc[0])


def test_a_failing_cell_is_isolated_and_retried(tmp_path, scheduler):
    plugin = tmp_path / "noteth.py"
    plugin.write_text(FAILING)
    name = f"{plugin}:NotOnEth"
    done = []
    rows = sweep([name], ["BTCUSDT", "ETHUSDT"], out=tmp_path / "sw", options=OPTIONS, scheduler=scheduler,
                 on_cell=done.append)
    assert sorted(s["status"] for s in done) == ["failed", "ok"]
    failed = rows[rows["status"] == "failed"]
    reason = failed["reason"].iloc[0]
    assert len(failed) == 1 and "ValueError: no ETH here" in reason and "\n" not in reason  # one line
    assert (rows.loc[rows["status"] == "ok", "asset"] == "BTCUSDT").all()
    done.clear()
    sweep([name], ["BTCUSDT", "ETHUSDT"], out=tmp_path / "sw", options=OPTIONS, scheduler=scheduler, on_cell=done.append)
    assert [s["status"] for s in done] == ["failed"]  # only the failed cell runs again


def test_checkpoints_for_other_data_and_missing_frequencies_are_skipped_with_the_reason(tmp_path, scheduler):
    rows = sweep(["ppo"], ["BTCUSDT", "AAPL"], freqs=["1h"], out=tmp_path, options=OPTIONS, scheduler=scheduler)
    reasons = rows.set_index("asset")["reason"]
    assert (rows["status"] == "skipped").all()
    assert "checkpoint trained on BTCUSDT 15m, not on BTCUSDT 1h" in reasons["BTCUSDT"]
    assert "bundled data is at 1d" in reasons["AAPL"]


def test_a_bad_grid_is_one_line_before_any_work(tmp_path, capsys):
    with pytest.raises(StrategyError, match="nosuch"):
        sweep_cells(["twap", "nosuch"], ["BTCUSDT"])
    with pytest.raises(DataError, match="'NOPE'"):
        sweep_cells(["twap"], ["BTCUSDT", "NOPE"])
    cells = sweep_cells(["ac", "twap"], ["BTCUSDT"], horizons=[6, 12], param_grid={"risk_aversion": [1.0, 10.0]},
                        seeds=[0, 1])
    assert len(cells) == 2 * 2 * 2 + 2 * 2 and len({c.key for c in cells}) == len(cells)
    out = tmp_path / "never"
    assert main(["sweep", "--strategies", "twap", "--assets", "BTCUSDT,NOPE", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "NOPE" in err and "Traceback" not in err and not out.exists()
    assert main(["sweep", "--strategies", "twap", "--param-grid", "risk_aversion=1,2", "--out", str(out)]) == 2
    assert "no strategy of the sweep takes it" in capsys.readouterr().err


def test_a_cell_that_kills_its_worker_is_a_failed_cell_and_the_sweep_goes_on(tmp_path, scheduler):
    plugin = tmp_path / "dies.py"
    plugin.write_text(DYING)
    assert "os._exit" in DYING
    rows = sweep([f"{plugin}:DiesOnEth"], ["BTCUSDT", "ETHUSDT"], out=tmp_path / "sw", options=OPTIONS,
                 scheduler=scheduler)
    status = rows.drop_duplicates("cell").set_index("asset")["status"]
    assert status["BTCUSDT"] == "ok" and status["ETHUSDT"] == "failed"
    assert "\n" not in rows.loc[rows["status"] == "failed", "reason"].iloc[0]


def test_cells_are_keyed_by_what_they_compute_and_file_assets_are_found_again(tmp_path, scheduler):
    one = sweep_cells(["ac"], ["BTCUSDT"], freqs=["60m"], param_grid={"risk_aversion": [1.0], "eta": [0.1]})
    two = sweep_cells(["ac"], ["BTCUSDT"], freqs=["1h", "1h"], param_grid={"eta": [0.1], "risk_aversion": [1.0, 1.0]})
    assert [c.key for c in one] == [c.key for c in two] and one[0].freq == "1h"
    with pytest.raises(ParameterError, match="--seeds"):
        sweep_cells(["ppo"], ["BTCUSDT"], param_grid={"seed": [1]})
    # a bars file as the asset: its rows come back, named by the file, and a rerun skips it
    path = tmp_path / "my bars" / "btc.parquet"
    path.parent.mkdir()
    eb.load_bars("BTCUSDT").loc["2026-01-01":].to_parquet(path)
    seen = []
    options = SweepOptions(test_start="2026-04-15", val_start="2026-03-01", audit=False, reps=50)
    rows = sweep(["twap"], [str(path)], freqs=["15m"], out=tmp_path / "sw", options=options, scheduler=scheduler)
    assert set(rows["status"]) == {"ok"} and set(rows["asset"]) == {str(path)}
    sweep(["twap"], [str(path)], freqs=["15m"], out=tmp_path / "sw", options=options, scheduler=scheduler,
          on_start=seen.append)
    assert seen[0]["todo"] == 0


def test_the_seeds_view_puts_the_spread_across_seeds_next_to_the_ci_across_orders(tmp_path, scheduler):
    rows = sweep(["twap"], ["BTCUSDT"], seeds=[0, 1], out=tmp_path, options=OPTIONS, scheduler=scheduler)
    view = seeds_view(rows).set_index("scenario")
    assert (view["seeds"] == 2).all()
    # TWAP has no seed: the seeds change only its audit and bootstrap, so the means agree exactly
    assert (view["seed_spread"] == 0).all() and not view["sign_flips"].any()
    m1 = view.loc["buy-vwap-quantity-m1"]
    assert m1["ci_lo_orders"] < m1["mean_over_seeds"] < m1["ci_hi_orders"]
