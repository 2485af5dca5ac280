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

TINY = {"lookback": 8, "hidden": 8, "mlp_hidden": 8, "epochs": 1, "batch_size": 128, "max_samples": 512}


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
