"""The flow-matching policy: its training data come from the experts as the environment scores them,
the engine runs exactly what the environment played, it is audited, deterministic in its seed, and
shipped as a checkpoint that works on a fresh clone."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import execbench as eb
from execbench.errors import StrategyError
from execbench.learning import EnvParams, ExecutionEnv, Market
from execbench.learning.env import play
from execbench.learning.flow import (
    FlowPolicy,
    condition_best,
    flow_action,
    load_experts,
    remaining_schedules,
    sampler_tradeoff,
)

T, L = 6, 4
TINY = {"horizon": T, "lookback_bars": L, "hidden": 8, "iterations": 20, "refine_iterations": 3, "every": 4,
        "experts": "twap,ac:risk_aversion=10,flex", "checkpoint": None}
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

    return eb.load_strategy("flow", **TINY).fit(training_bars(bars, split.train_end))


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 20), horizon=st.integers(1, 10))
def test_remaining_schedules_rebuild_the_allocations(seed, n, horizon):
    rng = np.random.default_rng(seed)
    alloc = rng.dirichlet(np.ones(horizon), n) * (rng.random((n, 1)) < 0.8)  # some episodes do nothing
    alloc[:, -1] += 1.0 - alloc.sum(axis=1)
    schedules, valid = remaining_schedules(alloc)
    np.testing.assert_allclose(schedules[:, 0, :], alloc, atol=1e-12)
    before = np.cumsum(alloc, axis=1) - alloc
    np.testing.assert_allclose(np.where(valid, schedules[:, :, 0] * (1.0 - before), alloc), alloc, atol=1e-12)
    np.testing.assert_allclose(schedules.sum(axis=2)[valid], 1.0, atol=1e-9)  # the whole remainder is planned
    for s in range(horizon):
        assert (schedules[:, s, horizon - s:] == 0).all()  # nothing is planned after the last bar


def test_the_imitated_expert_is_the_best_on_average_in_its_condition():
    rng = np.random.default_rng(0)
    contracts = np.repeat([0, 1], 300)
    sigma = rng.random(600)
    perf = rng.normal(0.0, 5.0, (600, 2))
    perf[contracts == 0, 0] += 3.0  # expert 0 is better under contract 0 on average, expert 1 under contract 1
    perf[contracts == 1, 1] += 3.0
    perf[0] = (-100.0, 100.0)  # one episode where the other expert wins by far in hindsight
    best = condition_best(perf, contracts, sigma)
    assert (best[contracts == 0] == 0).all() and (best[contracts == 1] == 1).all()


def test_engine_scores_what_the_environment_played(bars, split, trained):
    """The strategy's per-order perf_bps in the engine equals the policy's episodes in the environment,
    scenario by scenario; the tiny policy passes the audit."""
    from execbench.orders import build_order_windows

    ev = eb.evaluate(trained, bars, split=split, fit=False, horizon=T, audit_orders=8, option=False)
    assert ev.audit.passed
    windows = build_order_windows(bars, T, start=split.test_start, min_history=trained.lookback)
    market = Market.from_windows(windows, L)
    env = ExecutionEnv(T, L)
    orders = np.arange(market.n_orders)
    assert len(orders) == ev.result.n_orders
    import jax

    with jax.enable_x64(True):
        weights = {k: jax.numpy.asarray(v, jax.numpy.float64) for k, v in trained.policy.weights.items()}
        specs = ev.result.grid.specs
        expected = play(env, market, EnvParams.stack([EnvParams.from_spec(spec) for spec in specs]), orders,
                        lambda obs: flow_action(weights, obs, L, 1))
    for column, spec in enumerate(specs):
        np.testing.assert_allclose(ev.result.perf_bps[:, column], expected[column], atol=1e-6, err_msg=spec.label)
    record = trained.policy.trained_on
    assert record["experts"] == ["twap", "ac:risk_aversion=10", "flex"] and record["decisions"] > 0
    assert abs(sum(record["imitated_share"].values()) - 1.0) < 1e-9
    assert len(trained.policy.history["flow"]) == TINY["iterations"] + TINY["refine_iterations"]
    assert np.isnan(trained.policy.history["refine"][0]) and np.isfinite(trained.policy.history["refine"][-1])


@pytest.mark.slow  # make test-slow (CI runs it after make test): it times every sampler
def test_sampler_tradeoff_measures_every_sampler(trained, bars, split):
    env = ExecutionEnv(T, L)
    market = Market.from_bars(bars, T, L, start=split.test_start)
    specs = eb.scenario_grid(T, min_periods=(1,)).specs[:2]
    rows = sampler_tradeoff(trained.policy, env, market, [EnvParams.from_spec(s) for s in specs],
                            np.arange(20), timing_orders=200)
    assert [r["network_calls"] for r in rows] == [32, 2, 1]
    assert all(r["seconds_per_10k_orders"] > 0 and np.isfinite(r["mean_perf_bps"]) for r in rows)
    ode = eb.load_strategy("flow", checkpoint=None, ode=True, steps=8)
    assert ode.sampler() == (8, False) and eb.load_strategy("flow", checkpoint=None).sampler() == (1, True)


def test_checkpoint_round_trip_and_bad_input(tmp_path, trained):
    trained.policy.save(tmp_path / "ckpt")
    loaded = eb.load_strategy("flow", checkpoint=str(tmp_path / "ckpt"))
    assert loaded.horizon == T and loaded.lookback_bars == L
    for name, value in trained.policy.weights.items():
        np.testing.assert_array_equal(np.asarray(value, np.float32), loaded.policy.weights[name])
    with pytest.raises(StrategyError, match="flow checkpoint .*expected weights.npz"):
        eb.load_strategy("flow", checkpoint=str(tmp_path))
    with pytest.raises(StrategyError, match="is for model 'ppo', not 'flow'"):
        FlowPolicy.load(eb.load_strategy("ppo").BUNDLED)
    with pytest.raises(StrategyError, match="expert 'ac:0.5' is not name or name:param=value"):
        load_experts(["twap", "ac:0.5"])
    with pytest.raises(StrategyError, match="an expert cannot be 'flow' itself"):
        load_experts(["flow"])


def test_bundled_checkpoint_is_for_its_data(bars, split):
    # its audit (all 104 scenarios): tests/test_audit.py audits every registered strategy as shipped
    agent = eb.load_strategy("flow")
    assert agent.policy.trained_on["asset"] == "BTCUSDT" and agent.horizon == 12
    import json

    tradeoff = json.loads((agent.BUNDLED / "config.json").read_text())["sampler_tradeoff"]
    assert [r["network_calls"] for r in tradeoff] == [32, 2, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agent.fit(bars)  # the checkpoint's asset and frequency: no warning
    assert agent.checkpoint_mismatch(bars) is None
    assert "not on BTCUSDT 1h" in agent.checkpoint_mismatch(eb.load_bars("BTCUSDT", "1h"))


@pytest.mark.slow  # make test-slow (CI runs it after make test)
def test_train_command_is_deterministic_in_its_seed(tmp_path, capsys, bars, split, trained):
    """``execbench train flow`` with the fixture's data, parameters and seed writes the same weights
    and the sampler trade-off; another seed does not give the same weights."""
    from execbench.cli import main

    args = ["train", "flow", "--asset", "BTCUSDT", "--horizon", str(T), "--val-start", VAL_START, "--test-start",
            "2023-02-01", "--seed", "0", "--out", str(tmp_path / "a")]
    for name in ("hidden", "iterations", "refine_iterations", "every", "experts", "lookback_bars"):
        args += ["--param", f"{name}={TINY[name]}"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "saved 2 files" in out and "shortcut, 1 step" in out
    written = FlowPolicy.load(tmp_path / "a")
    for name, value in trained.policy.weights.items():
        np.testing.assert_array_equal(np.asarray(value, np.float32), written.weights[name], err_msg=name)
    from execbench.orders import training_bars

    other = eb.load_strategy("flow", **{**TINY, "seed": 1}).fit(training_bars(bars, split.train_end))
    assert not np.array_equal(other.policy.weights["w1"], trained.policy.weights["w1"])
