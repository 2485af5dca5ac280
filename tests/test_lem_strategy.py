"""The LEM strategy adapter: trains, passes the look-ahead audit, is scored by the engine, saves."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import execbench as eb  # noqa: E402
from execbench.audit import audit_strategy  # noqa: E402
from execbench.errors import StrategyError  # noqa: E402
from execbench.evaluate import training_bars  # noqa: E402
from execbench.registry import load_fitted, load_strategy  # noqa: E402
from strategies.lem import spec_index  # noqa: E402

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
    assert [spec_index(spec) for spec in grid.specs] == list(range(len(grid)))


def test_lem_passes_the_audit_and_is_scored_by_the_engine(fitted, tmp_path):
    bars, split, strategy = fitted
    assert len(strategy.history) == 1 and np.isfinite(strategy.history[0])
    report = audit_strategy(strategy, bars, split=split, fit=False, n_orders=8)
    assert report.passed, report.summary()
    ev = eb.evaluate(strategy, bars, split=split, fit=False)
    np.testing.assert_allclose(ev.result.executed, 1.0, atol=1e-9)
    assert np.isfinite(ev.result.bps).all() and ev.result.n_orders > 300
    again = load_fitted(strategy.save(tmp_path / "lem.json"))
    windows = ev.windows.subset(slice(0, 50))
    grid = eb.scenario_grid(12)
    np.testing.assert_array_equal(eb.run_strategy(again, windows, grid), eb.run_strategy(strategy, windows, grid))
    with pytest.raises(StrategyError, match="built for T=12"):
        eb.evaluate(strategy, bars, split=split, fit=False, horizon=6)


def test_bundled_checkpoint_runs_without_training(tmp_path):
    import json
    import warnings

    from strategies.lem import BUNDLED_CHECKPOINT

    config = json.loads((BUNDLED_CHECKPOINT / "config.json").read_text())
    assert config["trained_on"]["asset"] == "BTCUSDT" and config["trained_on"]["freq"] == "15m"
    assert (BUNDLED_CHECKPOINT / "lem.weights.npz").stat().st_size < 5_000_000
    strategy = load_strategy("lem")  # the bundled checkpoint
    assert strategy.model is not None and strategy.trained_on["asset"] == "BTCUSDT"
    eth = eb.load_bars("ETHUSDT")
    split = eb.make_split(eth, test_start="2026-04-27")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ev = eb.evaluate(strategy, eth, split=split)  # fit() keeps the checkpoint and reports the mismatch
    assert any("checkpoint trained on BTCUSDT 15m, evaluated on ETHUSDT 15m" in str(w.message) for w in caught)
    np.testing.assert_allclose(ev.result.executed, 1.0, atol=1e-9)
    with pytest.raises(StrategyError, match="no checkpoint at"):
        load_strategy("lem", checkpoint=str(tmp_path))


def test_train_command_writes_a_checkpoint_that_loads(tmp_path, capsys):
    from execbench.cli import main

    out = tmp_path / "ckpt"
    args = ["train", "lem", "--asset", "BTCUSDT", "--epochs", "2", "--test-start", "2026-04-25", "--out", str(out)]
    for name, value in {"lookback": 8, "hidden": 8, "mlp_hidden": 8, "batch_size": 128, "max_samples": 256}.items():
        args += ["--param", f"{name}={value}"]
    assert main(args) == 0
    config = __import__("json").loads((out / "config.json").read_text())
    assert config["architecture"]["hidden"] == 8 and config["trained_on"]["validation"][0].startswith("2025-01-01")
    assert len(config["loss"]) == len(config["val_loss"]) >= 1 and config["training_seconds"] > 0
    assert (out / "training_curve.csv").read_text().startswith("epoch,loss,val_loss")
    strategy = load_strategy("lem", checkpoint=str(out))
    assert strategy.hidden == 8 and strategy.lookback_bars == 8
    bars = eb.load_bars("BTCUSDT")
    ev = eb.evaluate(strategy, bars, split=eb.make_split(bars, test_start="2026-04-28"))
    assert np.isfinite(ev.result.bps).all()
