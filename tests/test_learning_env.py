"""The JAX execution environment: its reward is the engine's score of the same allocations, its
actions obey the contract, and its observations never see the bar being decided."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import execbench as eb
from execbench.contracts import ScenarioGrid
from execbench.engine.impact import ImpactModel
from execbench.learning import EnvParams, ExecutionEnv, Market, rollout

T, L = 6, 4
IMPACT = ImpactModel(eps=0.02, beta=0.6, gamma=0.03, delta=0.8, benchmark_with_impact=True)


@pytest.fixture(scope="module")
def market():
    bars = eb.load_bars("BTCUSDT")
    return Market.from_bars(bars, T, L, start="2024-03-01", end="2024-03-04")  # training-period bars


def engine_perf(market, orders, alloc, spec, impact):
    window = slice(L + 1, None)
    result = eb.replay(market.prices[orders][:, window], market.volumes[orders][:, window], alloc[:, :, None],
                       ScenarioGrid((spec,)), order_qty=market.order_qty[orders],
                       order_notional=market.order_notional[orders], impact=impact,
                       window_volume=market.window_volume[orders])
    return result


def random_actions(rng, n):
    """Anything: negative, above the maximum rate, zero runs that end orders early."""
    actions = rng.uniform(-0.2, 0.6, (n, T))
    return np.where(rng.uniform(size=(n, T)) < 0.3, 0.0, actions)


@pytest.mark.parametrize("impact", [None, IMPACT], ids=["no impact", "impact"])
def test_reward_is_the_engines_score_of_the_same_allocations(market, impact):
    """Every scenario family and minimum period of the grid, random actions: the episode's perf_bps
    equals ``execbench.replay`` of the allocations the environment applied, to 1e-6 bps, and those
    allocations break no rule of the contract."""
    env = ExecutionEnv(T, L)
    rng = np.random.default_rng(0 if impact is None else 1)
    n = 48
    orders = rng.integers(0, market.n_orders, n)
    grid = eb.scenario_grid(T, min_rate=0.02, max_rate=0.5)
    ends = set()
    for spec in grid.specs:
        alloc, perf, _ = rollout(env, EnvParams.from_spec(spec, impact), market, orders, random_actions(rng, n))
        alloc, perf = np.asarray(alloc), np.asarray(perf)
        result = engine_perf(market, orders, alloc, spec, impact)
        np.testing.assert_allclose(perf, result.perf_bps[:, 0], atol=1e-6, rtol=0, err_msg=repr(spec))
        assert (result.violations == 0).all(), spec
        np.testing.assert_allclose(alloc.sum(axis=1), 1.0, atol=1e-12)
        ends |= {int(e) for e in result.end_bar[:, 0]}
    assert ends == set(range(2, T + 1))  # every bar the max rate of 0.5 allows (two bars at least)


def test_arrival_score_is_minus_the_engines_shortfall_and_the_risk_penalty_is_centred(market):
    """With ``arrival`` the episode's score is −IS against the arrival price (the last bar before the
    origin) of the engine's fills, impact included; the reward is score − λ·(score − centre)²."""
    import jax

    env = ExecutionEnv(T, L)
    rng = np.random.default_rng(2)
    n = 32
    orders = rng.integers(0, market.n_orders, n)
    arrival = market.prices[orders, L]
    for spec in eb.scenario_grid(T, min_rate=0.02, max_rate=0.5).specs[::9]:
        params = EnvParams.from_spec(spec, IMPACT, arrival=True)
        alloc, score, _ = rollout(env, params, market, orders, random_actions(rng, n))
        result = engine_perf(market, orders, np.asarray(alloc), spec, IMPACT)
        sign = 1.0 if spec.side == "buy" else -1.0
        shortfall_bps = sign * (result.achieved[:, 0] / arrival - 1.0) * 1e4
        np.testing.assert_allclose(np.asarray(score), -shortfall_bps, atol=1e-6, rtol=0, err_msg=repr(spec))
    params = EnvParams.from_spec(eb.scenario_grid(T).specs[0], IMPACT, risk_aversion=0.01, arrival=True)
    params = params._replace(risk_center=-7.0)
    with jax.enable_x64(True):
        obs, state = env.reset_to(int(orders[0]), params, market)
        for _ in range(T):
            obs, state, reward, done, info = env.step(None, state, 1.0 / T, params, market)
    score = float(info["perf_bps"])
    assert bool(done) and float(reward) == pytest.approx(score - 0.01 * (score + 7.0) ** 2, abs=1e-9)


def test_observation_before_bar_s_ignores_bars_from_s_on(market):
    env = ExecutionEnv(T, L)
    rng = np.random.default_rng(2)
    orders = rng.integers(0, market.n_orders, 16)
    actions = random_actions(rng, 16)
    params = EnvParams.from_spec(eb.scenario_grid(T).specs[0])
    _, _, seen = rollout(env, params, market, orders, actions)
    for s in range(T):
        changed = market._replace(prices=market.prices.copy(), volumes=market.volumes.copy())
        later = slice(L + 1 + s, None)  # bars origin+s … origin+T−1
        changed.prices[:, later] *= np.exp(rng.normal(0, 0.01, changed.prices[:, later].shape))
        changed.volumes[:, later] *= rng.uniform(0.5, 2.0, changed.volumes[:, later].shape)
        _, _, again = rollout(env, params, changed, orders, actions)
        np.testing.assert_array_equal(np.asarray(again)[:, :s + 1], np.asarray(seen)[:, :s + 1])
        if s < T - 1:  # the next observation does see bar s
            assert not np.allclose(np.asarray(again)[:, s + 1], np.asarray(seen)[:, s + 1])


def test_reset_and_step_jit_and_vmap_over_orders(market):
    import jax

    env = ExecutionEnv(T, L)
    params = EnvParams.from_spec(eb.scenario_grid(T).specs[-1])
    keys = jax.random.split(jax.random.PRNGKey(0), 32)
    obs, state = jax.jit(jax.vmap(env.reset, in_axes=(0, None, None)))(keys, params, market)
    assert obs.shape == (32, env.observation_size) and (np.asarray(state.order) < market.n_orders).all()
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None, None)))
    for s in range(T):
        obs, state, reward, done, _ = step(keys, state, np.full(32, 1.0 / T, np.float32), params, market)
        assert bool(np.asarray(done).all()) == (s == T - 1)
    assert np.isfinite(np.asarray(reward)).all() and (np.asarray(state.alloc).sum(axis=1) > 0.999).all()
    with pytest.raises(eb.ContractError, match="participation caps"):
        EnvParams.from_spec(eb.scenario_grid(T, max_participation=0.1).specs[0])


def test_gymnasium_wrapper_replays_the_same_episode(market):
    gymnasium = pytest.importorskip("gymnasium")
    from gymnasium.utils.env_checker import check_env

    from execbench.learning.gym import ExecutionGymEnv

    env = ExecutionEnv(T, L)
    params = EnvParams.from_spec(eb.scenario_grid(T).specs[2], IMPACT)
    wrapper = ExecutionGymEnv(env, params, market)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Box bound is infinity": observations are unbounded
        check_env(wrapper, skip_render_check=True)
    actions = random_actions(np.random.default_rng(3), 1)[0]
    obs, info = wrapper.reset(seed=0, options={"order": 7})
    for s, action in enumerate(actions):
        obs, reward, terminated, truncated, info = wrapper.step(np.array([action]))
        assert terminated == (s == T - 1) and not truncated
    alloc, perf, _ = rollout(env, params, market, np.array([7]), actions[None])
    assert reward == pytest.approx(float(np.asarray(perf)[0]), abs=1e-9)
    np.testing.assert_allclose(info["allocations"], np.asarray(alloc)[0], atol=1e-15)
    assert isinstance(wrapper, gymnasium.Env)
