"""The LEM strategy adapter: trains, passes the look-ahead audit, is scored by the engine, saves."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import execbench as eb  # noqa: E402
from execbench.pipeline.audit import audit_strategy  # noqa: E402
from execbench.errors import StrategyError  # noqa: E402
from execbench.orders import training_bars  # noqa: E402
from execbench.strategy.registry import load_fitted, load_strategy  # noqa: E402
from execbench.contracts import grid_position  # noqa: E402

TINY = {"lookback": 8, "hidden": 8, "mlp_hidden": 8, "epochs": 1, "batch_size": 128, "max_samples": 512,
        "checkpoint": "none"}


@pytest.fixture(scope="module")
def fitted():
    bars = eb.load_bars("BTCUSDT")
    split = eb.make_split(bars, test_start="2026-04-25", val_start="2026-01-01")
    strategy = load_strategy("lem", **TINY).fit(training_bars(bars, split.train_end))
    return bars, split, strategy


def test_grid_order_is_the_model_output_order():
    grid = eb.scenario_grid(12)
    assert [grid_position(spec) for spec in grid.specs] == list(range(len(grid)))


@pytest.mark.slow  # make test-slow (CI runs it after make test)
def test_lem_passes_the_audit_and_is_scored_by_the_engine(fitted, tmp_path):
    bars, split, strategy = fitted
    assert len(strategy.loss_history) == 1 and np.isfinite(strategy.loss_history[0])
    report = audit_strategy(strategy, bars, split=split, fit=False, n_orders=8)
    assert report.passed, report.summary()
    ev = eb.evaluate(strategy, bars, split=split, fit=False, audit_orders=8, option=False)
    np.testing.assert_allclose(ev.result.executed, 1.0, atol=1e-9)
    assert np.isfinite(ev.result.bps).all() and ev.result.n_orders > 300
    again = load_fitted(strategy.save(tmp_path / "lem.json"))
    windows = ev.windows.subset(slice(0, 50))
    grid = eb.scenario_grid(12)
    np.testing.assert_array_equal(eb.run_strategy(again, windows, grid), eb.run_strategy(strategy, windows, grid))
    with pytest.raises(StrategyError, match="built for T=12"):
        eb.evaluate(strategy, bars, split=split, fit=False, horizon=6, audit_orders=8, option=False)


@pytest.mark.slow  # make test-slow (CI runs it after make test)
def test_bundled_checkpoints_run_without_training(tmp_path):
    """The unified crypto checkpoint serves any bundled pair and frequency, the Dow-30 one daily
    sessions (picked in fit by the bars' calendar); another dataset runs with a mismatch warning."""
    import json
    import warnings

    from execbench.strategies.lem import BUNDLED_CHECKPOINTS

    for calendar, path in BUNDLED_CHECKPOINTS.items():
        config = json.loads((path / "config.json").read_text())
        assert config["calendar"] == calendar and config["architecture"]["decision"] == "stop"
        assert (path / "lem.weights.npz").stat().st_size < 5_000_000
    crypto = {(d["asset"], d["freq"]) for d in json.loads(
        (BUNDLED_CHECKPOINTS["continuous"] / "config.json").read_text())["trained_on"]["datasets"]}
    assert {"15m", "30m", "1h"} == {f for _, f in crypto}
    strategy = load_strategy("lem")  # the bundled checkpoints
    eth = eb.load_bars("ETHUSDT", "1h")
    split = eb.make_split(eth, test_start="2026-04-01")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a pair and frequency it was trained on: no mismatch warning
        ev = eb.evaluate(strategy, eth, split=split, audit_orders=8, option=False)
    np.testing.assert_allclose(ev.result.executed, 1.0, atol=1e-9)
    aapl = eb.load_bars("AAPL", "1d")
    ev = eb.evaluate(strategy, aapl, split=eb.make_split(aapl, test_start="2024-06-01"), audit_orders=8, option=False)
    assert strategy.calendar == "sessions" and strategy.trained_for(aapl)  # dow30 stands for its members
    np.testing.assert_allclose(ev.result.executed, 1.0, atol=1e-9)
    other = eb.load_bars("ETHUSDT")
    other.attrs["asset"] = "MYCOIN"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_strategy("lem").fit(other)  # fit() keeps the checkpoint and reports the mismatch
    assert any("not on MYCOIN 15m" in str(w.message) for w in caught)
    with pytest.raises(StrategyError, match="no checkpoint at"):
        load_strategy("lem", checkpoint=str(tmp_path))
    with pytest.raises(StrategyError, match="alignment='upstream' conflicts with the checkpoint"):
        load_strategy("lem", alignment="upstream")


@pytest.mark.slow  # make test-slow (CI runs it after make test)
def test_train_command_writes_a_checkpoint_that_loads(tmp_path, capsys):
    from execbench.cli import main

    out = tmp_path / "ckpt"
    args = ["train", "lem", "--asset", "BTCUSDT", "--epochs", "2", "--test-start", "2026-04-25", "--out", str(out)]
    for name, value in {"lookback": 8, "hidden": 8, "mlp_hidden": 8, "batch_size": 128, "max_samples": 256}.items():
        args += ["--param", f"{name}={value}"]
    assert main(args) == 0
    config = __import__("json").loads((out / "config.json").read_text())
    assert config["architecture"]["hidden"] == 8 and config["trained_on"]["validation"][0].startswith("2025-01-01")
    history = config["history"]
    assert len(history["loss"]) == len(history["val_loss"]) == len(history["val_improvement_bps"]) >= 1
    assert config["training_seconds"] > 0 and config["architecture"]["alignment"] == "causal"
    assert (out / "training_curve.csv").read_text().startswith(
        "epoch,loss,val_loss,improvement_bps,val_improvement_bps,risk_bps,val_risk_bps")
    strategy = load_strategy("lem", checkpoint=str(out))
    assert strategy.hidden == 8 and strategy.lookback_bars == 8
    bars = eb.load_bars("BTCUSDT")
    ev = eb.evaluate(strategy, bars, split=eb.make_split(bars, test_start="2026-04-28"), audit_orders=8, option=False)
    assert np.isfinite(ev.result.bps).all()


@pytest.mark.filterwarnings("ignore::execbench.DataWarning")  # the 30m bins of a known 15m data gap
@pytest.mark.slow  # make test-slow (CI runs it after make test)
def test_multi_asset_multi_frequency_training(tmp_path):
    """One model on two assets × two frequencies (the paper's unified model): samples come from every
    dataset, the checkpoint records them, and a dataset it was trained on raises no mismatch warning."""
    import json
    import warnings

    from execbench.cli import main

    out = tmp_path / "unified"
    args = ["train", "lem", "--asset", "BTCUSDT,ETHUSDT", "--freq", "15m,30m", "--epochs", "1", "--val-start",
            "2026-01-01", "--test-start", "2026-04-25", "--out", str(out)]
    for name, value in {"lookback": 8, "hidden": 8, "mlp_hidden": 8, "batch_size": 128, "max_samples": 512}.items():
        args += ["--param", f"{name}={value}"]
    assert main(args) == 0
    trained = json.loads((out / "config.json").read_text())["trained_on"]
    assert trained["asset"] == "BTCUSDT,ETHUSDT" and trained["freq"] == "15m,30m"
    assert [d["freq"] for d in trained["datasets"]] == ["15m", "30m"]
    assert all(d["samples"] > 0 for d in trained["datasets"]) and trained["samples"] == 512
    strategy = load_strategy("lem", checkpoint=str(out))
    eth30 = eb.load_bars("ETHUSDT", "30m")
    assert strategy.trained_for(eth30) and not strategy.trained_for(eb.load_bars("BNBUSDT"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no mismatch warning for a trained-on dataset
        strategy.fit(eth30)
    with pytest.raises(StrategyError, match="trained on continuous bars, the orders are on sessions bars"):
        strategy.fit(eb.load_bars("AAPL", "1d"))  # its calendar features would mean something else
    with pytest.raises(eb.DataError, match="cannot mix calendars"):
        eb.load_bars("BTCUSDT,AAPL")


@pytest.mark.slow  # make test-slow (CI runs it after make test)
def test_upstream_alignment_is_refused_by_the_framework(fitted):
    """Our model fed the upstream way (step s would see bar s): the framework masks bar s for decision s,
    the per-bar decisions then no longer add up, and the model is refused in one line."""
    bars, split, _ = fitted
    upstream = load_strategy("lem", **{**TINY, "alignment": "upstream", "max_samples": 256}).fit(
        training_bars(bars, split.train_end))
    with pytest.raises(StrategyError, match="do not sum to 1.*depend on later bars"):
        audit_strategy(upstream, bars, split=split, fit=False, n_orders=8)
    with pytest.raises(eb.ParameterError, match="alignment='sideways' is not valid; expected one of causal, upstream"):
        load_strategy("lem", alignment="sideways", checkpoint="none")


@pytest.mark.slow  # make test-slow (CI runs it after make test)
def test_lem_learns_a_predictable_volume_curve_and_beats_twap():
    """On a synthetic market whose hourly volume follows a strong, nearly noiseless intraday curve, a
    tiny LEM's training loss falls and its match-VWAP tracking error ends well below TWAP's on the
    same test orders (TWAP ignores the curve; an untrained LEM starts from a flat one)."""
    bars = eb.load_bars("synthetic:heston", "1h",
                        synthetic={"bars": 6000, "u_amp": 2.5, "vol_sigma": 0.05, "vol_beta": 0.0, "seed": 1})
    split = eb.make_split(bars, test_start=str(bars.index[4800].date()), val_start=str(bars.index[4000].date()))
    lem = load_strategy("lem", **{**TINY, "epochs": 3, "max_samples": 2048, "learning_rate": 1e-2})
    lem.fit(training_bars(bars, split.train_end))
    assert lem.loss_history[-1] < lem.loss_history[0], lem.loss_history
    ev = eb.evaluate(lem, bars, split=split, fit=False, audit_orders=8, option=False)
    label = "buy-vwap-quantity-match"
    lem_std, twap_std = np.std(ev.result.column("bps", label)), np.std(ev.baseline.column("bps", label))
    assert lem_std < 0.6 * twap_std, (lem_std, twap_std)


def test_the_adaptive_lem_equals_its_whole_sequence_output(fitted):
    """The strategy runs stepwise (adaptive mode: bars revealed one at a time); on the same orders its
    allocations equal one whole-sequence pass over the unmasked windows, settled the same way."""
    from execbench.orders import build_order_windows
    from execbench.strategy import RealisedWindow
    from execbench.strategy.runner import order_context

    bars, split, strategy = fitted
    assert strategy.mode == "adaptive"
    windows = build_order_windows(bars, 12, start=split.test_start, end=split.test_end,
                                  min_history=strategy.lookback).subset(slice(0, 120))
    grid = eb.scenario_grid(12)
    stepwise = eb.run_strategy(strategy, windows, grid)
    whole = strategy.allocate_sequence(order_context(windows, strategy.lookback), grid,
                                       RealisedWindow(windows.window("prices"), windows.window("volumes")))
    np.testing.assert_allclose(stepwise, whole, atol=1e-5)
    np.testing.assert_allclose(stepwise.sum(axis=1), 1.0, atol=1e-12)


def test_lem_calls_run_on_threads_with_the_numbers_of_one_after_the_other(fitted, monkeypatch):
    """The stepwise LEM's independent calls run at once on threads (``concurrent_calls``); every allocation is
    the one the calls give run one after the other, bit for bit."""
    import threading

    import execbench.threads as threads
    from execbench.orders import build_order_windows, independent_batches

    bars, split, strategy = fitted
    assert strategy.concurrent_calls and not load_strategy("lem", **{**TINY, "alignment": "upstream"}).concurrent_calls
    windows = build_order_windows(bars, 12, start=split.test_start, end=split.test_end,
                                  min_history=strategy.lookback).subset(slice(0, 200))
    batches = independent_batches(windows, strategy.lookback)
    assert len(batches) > 4
    grid = eb.scenario_grid(12)
    names, real_start = set(), type(strategy).start

    def start(self, ctx, grid):
        names.add(threading.current_thread().name)
        return real_start(self, ctx, grid)

    monkeypatch.setattr(type(strategy), "start", start)
    together = eb.run_strategy(strategy, windows, grid, batches=batches)
    assert any(name.startswith("execbench-calls") for name in names) or threads.cores() == 1, names
    monkeypatch.setattr(threads, "map_calls", lambda function, items, **options: map(function, items))
    names.clear()
    apart = eb.run_strategy(strategy, windows, grid, batches=batches)
    assert names == {threading.current_thread().name}
    np.testing.assert_array_equal(together, apart)
