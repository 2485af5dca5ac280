"""The PPO agent: deterministic in its seed, run by the engine exactly as in the environment it was
trained in, audited, and shipped as a checkpoint that works on a fresh clone."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import execbench as eb
from execbench.errors import StrategyError
from execbench.learning import EnvParams, ExecutionEnv, Market
from execbench.learning.ppo import PPOPolicy, greedy_perf

T, L = 6, 4
TINY = {"horizon": T, "lookback_bars": L, "hidden": 8, "iterations": 2, "episodes": 64, "checkpoint": None}


VAL_START, TEST_START = "2023-01-20", "2026-04-25"  # a short training period, a short test period


@pytest.fixture(scope="module")
def bars():
    return eb.load_bars("BTCUSDT")


@pytest.fixture(scope="module")
def split(bars):
    return eb.make_split(bars, test_start=TEST_START, val_start=VAL_START)


@pytest.fixture(scope="module")
def trained(bars, split):
    from execbench.orders import training_bars

    return eb.load_strategy("ppo", **TINY).fit(training_bars(bars, split.train_end))


def test_engine_scores_what_the_environment_played(bars, split, trained):
    """The strategy's per-order perf_bps in the engine equals the greedy policy's episode reward in
    the environment on the same orders, scenario by scenario (the driver reuses the environment)."""
    ev = eb.evaluate(trained, bars, split=split, fit=False, horizon=T, audit_orders=8, option=False)
    assert ev.audit.passed
    from execbench.orders import build_order_windows

    windows = build_order_windows(bars, T, start=split.test_start, min_history=trained.lookback)
    market = Market.from_windows(windows, L)
    env = ExecutionEnv(T, L)
    orders = np.arange(market.n_orders)
    assert len(orders) == ev.result.n_orders
    specs = ev.result.grid.specs[::7]
    expected = greedy_perf(trained.policy, env, market, EnvParams.stack([EnvParams.from_spec(s) for s in specs]), orders)
    for spec, perf in zip(specs, expected, strict=True):
        column = list(ev.result.grid.specs).index(spec)
        np.testing.assert_allclose(ev.result.perf_bps[:, column], perf, atol=1e-6, err_msg=spec.label)
    # the seed table: a run against itself has no spread, and its CI holds the mean difference with TWAP
    from execbench.analysis.significance import seed_table
    from execbench.results import RunData

    run = RunData.from_evaluation(ev)
    table = seed_table({"seed 0": run, "again": run}, periods=[1, "match"], reps=200)
    assert (table["seed spread"] == 0).all() and not table["sign flips"].any()
    assert ((table["CI lo (orders)"] <= table["mean over seeds"]) & (table["mean over seeds"] <= table["CI hi (orders)"])).all()
    twap = -ev.baseline.column("bps", "buy-vwap-quantity-match")
    np.testing.assert_allclose(table["seed 0 − TWAP"].iloc[0], (run.column("perf_bps", "buy-vwap-quantity-m1") - twap).mean())


def test_checkpoint_round_trip_and_bad_folder(tmp_path, trained):
    trained.policy.save(tmp_path / "ckpt")
    loaded = eb.load_strategy("ppo", checkpoint=str(tmp_path / "ckpt"))
    assert loaded.horizon == T and loaded.lookback_bars == L
    for name, value in trained.policy.weights.items():
        np.testing.assert_array_equal(np.asarray(value, np.float32), loaded.policy.weights[name])
    with pytest.raises(StrategyError, match="expected weights.npz and config.json"):
        eb.load_strategy("ppo", checkpoint=str(tmp_path))
    assert "trained for T=6" in loaded.unsupported(eb.scenario_grid(12).specs[0])


def test_bundled_checkpoint_is_for_its_data(bars, split):
    # its audit (all 104 scenarios): tests/test_audit.py audits every registered strategy as shipped
    agent = eb.load_strategy("ppo")
    assert agent.policy.trained_on["asset"] == "BTCUSDT" and agent.horizon == 12
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agent.fit(bars)  # the checkpoint's asset and frequency: no warning
    assert agent.checkpoint_mismatch(bars) is None
    assert "not on BTCUSDT 1h" in agent.checkpoint_mismatch(eb.load_bars("BTCUSDT", "1h"))


def test_train_command_is_deterministic_in_its_seed(tmp_path, capsys, bars, split, trained):
    """``execbench train ppo`` with the fixture's data, parameters and seed writes the same weights;
    another seed does not."""
    from execbench.cli import main

    args = ["train", "ppo", "--asset", "BTCUSDT", "--horizon", str(T), "--val-start", VAL_START, "--test-start",
            TEST_START, "--param", f"iterations={TINY['iterations']}", "--param", f"episodes={TINY['episodes']}",
            "--param", f"hidden={TINY['hidden']}", "--param", f"lookback_bars={L}"]
    from execbench.learning.ppo import _program

    set_ups = _program.cache_info().misses  # the fixture's training built the programs of this set-up
    assert main(args + ["--seed", "0", "--out", str(tmp_path / "a")]) == 0
    assert "saved 2 files" in capsys.readouterr().out
    written = PPOPolicy.load(tmp_path / "a")
    assert written.config["seed"] == 0 and len(written.history["reward"]) == TINY["iterations"]
    for name, value in trained.policy.weights.items():
        np.testing.assert_array_equal(np.asarray(value, np.float32), written.weights[name], err_msg=name)
    from execbench.orders import training_bars

    other = eb.load_strategy("ppo", **{**TINY, "seed": 1}).fit(training_bars(bars, split.train_end))
    assert not np.array_equal(other.policy.weights["pw1"], trained.policy.weights["pw1"])
    assert _program.cache_info().misses == set_ups  # both trainings reused the compiled programs


def test_frontier_ppo_is_scored_by_the_engine_as_in_its_environment():
    """PPO trained for the AC frontier (−IS vs arrival with impact, a risk penalty): the engine's IS of
    its replay equals minus the environment's greedy score on the same orders, to 1e-6 bps."""
    from execbench.analysis.inference import non_overlapping
    from execbench.analysis.shortfall import shortfall
    from execbench.data.synthetic import HestonParams, simulate_bars
    from execbench.engine import ImpactModel
    from execbench.pipeline.frontier import PPO_LOOKBACK, efficient_frontier, train_ppo_on_frontier

    bars = simulate_bars(HestonParams(xi=0.0, vol_sigma=0.0, vol_beta=0.0, u_amp=0.0, substeps=1), n_bars=6000, seed=3)
    split = eb.make_split(bars, test_start=str(bars.index[5000].date()), val_start=str(bars.index[5000].date()))
    impact = ImpactModel(eps=0.01, beta=1.0)
    grid = eb.scenario_grid(T, sides=("buy",), benchmarks=("vwap",), targets=("quantity",), min_periods=(), min_rate=0.0)
    from execbench.orders import training_bars

    agent = train_ppo_on_frontier(training_bars(bars, split.train_end), grid, horizon=T, order_size=0.1, impact=impact,
                                  risk_aversion=300.0, config={"hidden": 8, "iterations": 2, "episodes": 64})
    windows = eb.build_order_windows(bars, T, start=split.test_start, order_size=0.1, min_history=PPO_LOOKBACK + 1)
    windows = windows.subset(non_overlapping(windows.asset_id, T))
    engine_is = shortfall(eb.replay_strategy(agent, windows, grid, impact=impact))["is_bps"][:, 0]
    env = ExecutionEnv(T, PPO_LOOKBACK)
    contract = EnvParams.from_spec(grid.specs[0], impact, risk_aversion=0.03, arrival=True)
    score = greedy_perf(agent.policy, env, Market.from_windows(windows, PPO_LOOKBACK), contract, np.arange(len(windows)))
    np.testing.assert_allclose(engine_is, -score, atol=1e-6, rtol=0)
    table = efficient_frontier(bars, split=split, horizon=T, order_size=0.1, impact=impact, risk_aversions=[300.0],
                               ppo={"hidden": 8, "iterations": 2, "episodes": 64})
    assert list(table["family"]) == ["AC", "TWAP", "PPO"]
    assert table["orders"].nunique() == 1 and table["mean IS"].notna().all()
    assert table.loc[table["family"] == "PPO", "theory mean"].isna().all()
