"""A compact PPO (clipped surrogate, GAE, separate value network) on ``optax`` for ``ExecutionEnv``.

Why not a packaged agent: ``rejax`` 0.1.3 (the gymnax-style PPO that would take this environment)
installs twenty more packages, among them ``tfp-nightly`` (a nightly build, which cannot be pinned to
a release) and its own flax/orbax stack; ``sbx-rl`` steps gymnasium environments from Python, which
gives up the jit + vmap speed that ``benchmarks/bench_env.py`` measures (277×).  PPO over a pure-JAX
environment is ~150 lines on ``optax`` (pinned in the ``agents`` extra), compiled whole: one
iteration (rollout of ``episodes`` orders, GAE, ``epochs`` × ``minibatches`` updates) is one
``jax.jit`` call.

**Policy.**  A categorical over ``ACTIONS``: trade the unexecuted order at 0.5×, 1× or 2× TWAP's pace
on the remainder (R / (T − s)), or finish it now.  So a uniform policy is a randomised TWAP, the
flexible window's option (finish when the price is on your side) is one action away, and any output is
a valid schedule before the environment's clipping (the contract's rates, completion by T).  The
network reads the environment's observation plus the price gaps in units of the order's causal
volatility (the RMS of the observed lookback returns) and that volatility's log, all standardised by
moments of the first rollout (then frozen).

**Training.**  Episodes are orders of the training market under a contract drawn per episode from the
given ones; the reward is the engine's score at the end of the episode (perf_bps, or −IS against the
arrival price for contracts with ``arrival``), less the contract's ``risk_aversion`` × (score − the
policy's mean score on that contract in the previous iteration)², times ``reward_scale``: with that
running centre a risk-averse reward is a mean-variance objective, not a penalty on the score's
distance from zero.  Everything is a function of ``seed``: the same seed gives the same weights on the
same machine.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from execbench.cache import use_jax_cache
from execbench.errors import StrategyError
from execbench.learning.checkpoint import PolicyCheckpoint
from execbench.learning.env import EnvParams, ExecutionEnv, Market, play

PACES = (0.5, 1.0, 2.0)  # multiples of TWAP's pace on the remainder; the last action finishes the order
ACTIONS = ("slow", "twap", "fast", "finish")
PPO_DEFAULTS: dict[str, Any] = {"hidden": 64, "iterations": 300, "episodes": 1024, "epochs": 4, "minibatches": 4,
                                "learning_rate": 1e-3, "clip": 0.2, "gae_lambda": 0.8, "value_coef": 0.5,
                                "entropy_coef": 1e-3, "reward_scale": 0.1, "seed": 0}


class PPOPolicy(PolicyCheckpoint):
    """A trained PPO policy (``PolicyCheckpoint``; its history: per-iteration reward, reward_std, finish)."""

    MODEL = "ppo"


def policy_features(obs, lookback: int):
    """The network's input: the observation, its four price gaps in units of the order's causal
    volatility (the RMS of the observed returns, floored at 1e-4 percent) signed so that positive is
    favourable to the order's side, and that volatility's log."""
    import jax.numpy as jnp

    sigma = jnp.maximum(jnp.sqrt(jnp.mean(obs[..., :lookback] ** 2, axis=-1, keepdims=True)), 1e-4)
    favourable = -obs[..., 2 * lookback + 6:2 * lookback + 7]  # −side: a price below the benchmark is good for a buyer
    gaps = favourable * obs[..., 2 * lookback + 2:2 * lookback + 6] / sigma
    return jnp.concatenate([obs, jnp.clip(gaps, -10.0, 10.0), jnp.log(sigma)], axis=-1)


def feature_size(env: ExecutionEnv) -> int:
    return env.observation_size + 5


def init_weights(key, n_inputs: int, hidden: int) -> dict:
    """Two two-layer tanh networks (policy logits, value); the input normaliser starts as the identity."""
    import jax
    import jax.numpy as jnp

    keys = jax.random.split(key, 6)

    def dense(k, n_in, n_out, scale):
        return jax.random.normal(k, (n_in, n_out)) * scale / jnp.sqrt(n_in), jnp.zeros(n_out)

    weights = {"in_mean": jnp.zeros(n_inputs), "in_std": jnp.ones(n_inputs)}
    for head, (k1, k2, k3), n_out, scale in (("p", keys[:3], len(ACTIONS), 0.01), ("v", keys[3:], 1, 1.0)):
        weights[f"{head}w1"], weights[f"{head}b1"] = dense(k1, n_inputs, hidden, 1.0)
        weights[f"{head}w2"], weights[f"{head}b2"] = dense(k2, hidden, hidden, 1.0)
        weights[f"{head}w3"], weights[f"{head}b3"] = dense(k3, hidden, n_out, scale)
    return weights


def forward(weights: dict, obs, lookback: int):
    """(action logits (…, 4), value (…)) for environment observations (…, observation size)."""
    import jax
    import jax.numpy as jnp

    x = policy_features(obs, lookback)
    x = (x - jax.lax.stop_gradient(weights["in_mean"])) / jax.lax.stop_gradient(weights["in_std"])

    def mlp(head):
        h = jnp.tanh(x @ weights[f"{head}w1"] + weights[f"{head}b1"])
        h = jnp.tanh(h @ weights[f"{head}w2"] + weights[f"{head}b2"])
        return h @ weights[f"{head}w3"] + weights[f"{head}b3"]

    return mlp("p"), mlp("v")[..., 0]


def to_fraction(action, obs, lookback: int, horizon: int):
    """An action index → the share of the whole order to trade (the environment clips it)."""
    import jax.numpy as jnp

    remaining = obs[..., 2 * lookback + 1]
    bars_left = jnp.maximum(horizon - jnp.round(obs[..., 2 * lookback] * horizon), 1.0)  # T − s
    pace = jnp.asarray(PACES + (float(horizon),), obs.dtype)[action]
    return jnp.minimum(pace / bars_left, 1.0) * remaining


def greedy_action(weights: dict, obs, lookback: int, horizon: int):
    """The trained policy's decision: the most probable action, as a share of the order."""
    import jax.numpy as jnp

    logits, _ = forward(weights, obs, lookback)
    return to_fraction(jnp.argmax(logits, axis=-1), obs, lookback, horizon)


def train_ppo(env: ExecutionEnv, market: Market, contracts: Sequence[EnvParams], config: dict[str, Any] | None = None,
              on_iteration: Callable[[int, dict[str, float]], None] | None = None,
              trained_on: dict[str, Any] | None = None) -> PPOPolicy:
    """Train a policy on ``market``'s orders under ``contracts`` (one drawn per episode).

    Parameters
    ----------
    env, market
        The environment and the training orders (``Market.from_bars`` of the training period).
    contracts
        The contracts episodes are drawn from (``EnvParams.from_spec`` of a grid's scenarios).
    config
        Overrides of ``PPO_DEFAULTS`` (unknown names are refused).
    on_iteration
        Called after each iteration with its number and ``{"reward", "reward_std", "finish"}``: the
        mean and std of the episodes' perf_bps and the share of decisions that finished the order.
    """
    import jax
    import jax.numpy as jnp

    use_jax_cache()
    config = {**PPO_DEFAULTS, **(config or {})}
    unknown = set(config) - set(PPO_DEFAULTS)
    if unknown:
        raise StrategyError(f"ppo: unknown parameters {sorted(unknown)}; valid: {', '.join(PPO_DEFAULTS)}")
    if market.n_orders == 0:
        raise StrategyError("ppo: the training market holds no orders (too few training bars for the horizon and lookback)")
    started = time.perf_counter()
    stacked = EnvParams(*(jnp.asarray(values) for values in EnvParams.stack(contracts)))
    market = Market(*(jnp.asarray(a, jnp.float32) for a in market))
    program = _program(type(env), env.horizon, env.lookback, len(contracts), _settings(config))
    key = jax.random.PRNGKey(int(config["seed"]))
    key, k_init, k_first = jax.random.split(key, 3)
    weights = init_weights(k_init, feature_size(env), int(config["hidden"]))
    # the input normaliser: moments of a first rollout of the untrained policy, then frozen
    centres = jnp.zeros(len(contracts), market.prices.dtype)
    first = program.rollouts(weights, centres, jax.random.split(k_first, int(config["episodes"])), stacked, market)
    centres = _mean_by_contract(first[5], first[7], centres)
    first = policy_features(first[0].reshape(-1, first[0].shape[-1]), lookback=env.lookback)
    weights = {**weights, "in_mean": first.mean(axis=0), "in_std": jnp.maximum(first.std(axis=0), 1e-3)}
    opt_state = program.optimiser.init(weights)
    history: dict[str, list[float]] = {"reward": [], "reward_std": [], "finish": []}
    for i in range(int(config["iterations"])):
        key, k = jax.random.split(key)
        weights, opt_state, centres, mean, std, finish = program.iteration(weights, opt_state, centres, k, stacked,
                                                                           market)
        logs = {"reward": float(mean), "reward_std": float(std), "finish": float(finish)}
        for name, value in logs.items():
            history[name].append(value)
        if on_iteration is not None:
            on_iteration(i + 1, logs)
    return PPOPolicy(weights={k: np.asarray(v) for k, v in weights.items()}, horizon=env.horizon, lookback=env.lookback,
                     config=config, trained_on=dict(trained_on or {}), history=history,
                     seconds=time.perf_counter() - started)


def _mean_by_contract(perf, contract, centres):
    """Each contract's mean finite score in the batch (the previous centre where none was drawn)."""
    import jax
    import jax.numpy as jnp

    finite = jnp.isfinite(perf)
    total = jax.ops.segment_sum(jnp.where(finite, perf, 0.0), contract, len(centres))
    count = jax.ops.segment_sum(finite.astype(perf.dtype), contract, len(centres))
    return jnp.where(count > 0, total / jnp.maximum(count, 1.0), centres)


def _settings(config: dict[str, Any]) -> tuple:
    """What the compiled programs depend on: every setting but the seed and the number of iterations, each
    as the type of its default (a key of ``_program``'s cache)."""
    settings = []
    for name in sorted(set(config) - {"seed", "iterations"}):
        kind = type(PPO_DEFAULTS[name])
        try:
            settings.append((name, kind(config[name])))
        except (TypeError, ValueError):
            raise StrategyError(f"ppo: parameter {name!r} must be {kind.__name__}, got {config[name]!r}") from None
    return tuple(settings)


class _Program(NamedTuple):
    rollouts: Callable  # (weights, centres, keys, contracts, market) → episodes of the policy, one per key
    iteration: Callable  # (weights, opt_state, centres, key, contracts, market) → one PPO iteration
    optimiser: Any


@functools.lru_cache(maxsize=4)
def _program(env_type: type, horizon: int, lookback: int, n_contracts: int, settings: tuple) -> _Program:
    """The jitted programs of one training set-up.  The contracts, the market and the seed are their
    arguments, so a second training with the same set-up (another seed, other contracts, another
    market of the same shape) reuses the compiled programs instead of compiling them again.  At most four
    set-ups are kept (each with its programs for every market shape it has seen)."""
    import jax
    import jax.numpy as jnp
    import optax

    config = dict(settings)
    env = env_type(horizon, lookback)
    episodes, minibatches = int(config["episodes"]), int(config["minibatches"])
    optimiser = optax.chain(optax.clip_by_global_norm(0.5), optax.adam(config["learning_rate"]))

    def episode(weights, centres, key, stacked, market):
        k_order, k_contract, k_act = jax.random.split(key, 3)
        contract = jax.random.randint(k_contract, (), 0, n_contracts)
        params = jax.tree.map(lambda x: x[contract], stacked)._replace(risk_center=centres[contract])
        obs, state = env.reset(k_order, params, market)

        def body(carry, k):
            obs, state = carry
            logits, value = forward(weights, obs, lookback)
            action = jax.random.categorical(k, logits)
            logp = jax.nn.log_softmax(logits)[action]
            new_obs, state, reward, _, info = env.step(None, state, to_fraction(action, obs, lookback, horizon),
                                                       params, market)
            return (new_obs, state), (obs, action, logp, value, reward, info["perf_bps"])

        _, (obs_seq, actions, logp, values, rewards, perf) = jax.lax.scan(body, (obs, state),
                                                                          jax.random.split(k_act, horizon))
        next_values = jnp.concatenate([values[1:], jnp.zeros(1)])  # γ = 1; nothing after the last bar
        deltas = config["reward_scale"] * rewards + next_values - values

        def gae(carry, delta):
            advantage = delta + config["gae_lambda"] * carry
            return advantage, advantage

        _, advantages = jax.lax.scan(gae, 0.0, deltas, reverse=True)
        finished = (actions == len(ACTIONS) - 1).mean()
        return obs_seq, actions, logp, advantages, advantages + values, perf[-1], finished, contract

    def loss_fn(weights, batch):
        obs, actions, old_logp, advantage, returns = batch
        logits, value = forward(weights, obs, lookback)
        log_probs = jax.nn.log_softmax(logits)
        logp = jnp.take_along_axis(log_probs, actions[:, None], axis=-1)[:, 0]
        ratio = jnp.exp(logp - old_logp)
        advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
        clipped = jnp.clip(ratio, 1 - config["clip"], 1 + config["clip"])
        policy = -jnp.minimum(ratio * advantage, clipped * advantage).mean()
        entropy = -(jnp.exp(log_probs) * log_probs).sum(axis=-1).mean()
        return policy + config["value_coef"] * ((value - returns) ** 2).mean() - config["entropy_coef"] * entropy

    rollouts = jax.vmap(episode, in_axes=(None, None, 0, None, None))

    @jax.jit
    def iteration(weights, opt_state, centres, key, stacked, market):
        k_roll, k_perm = jax.random.split(key)
        obs, actions, logp, adv, returns, perf, finished, contract = rollouts(weights, centres,
                                                                              jax.random.split(k_roll, episodes),
                                                                              stacked, market)
        flat = [x.reshape(episodes * horizon, *x.shape[2:]) for x in (obs, actions, logp, adv, returns)]
        size = episodes * horizon // minibatches

        def epoch(carry, k):
            order = jax.random.permutation(k, episodes * horizon)

            def minibatch(carry, i):
                weights, opt_state = carry
                rows = jax.lax.dynamic_slice(order, (i * size,), (size,))
                grads = jax.grad(loss_fn)(weights, [x[rows] for x in flat])
                updates, opt_state = optimiser.update(grads, opt_state, weights)
                return (optax.apply_updates(weights, updates), opt_state), None

            carry, _ = jax.lax.scan(minibatch, carry, jnp.arange(minibatches))
            return carry, None

        (weights, opt_state), _ = jax.lax.scan(epoch, (weights, opt_state), jax.random.split(k_perm, config["epochs"]))
        return weights, opt_state, _mean_by_contract(perf, contract, centres), perf.mean(), perf.std(), finished.mean()

    return _Program(rollouts=jax.jit(rollouts), iteration=iteration, optimiser=optimiser)


def greedy_perf(policy: PPOPolicy, env: ExecutionEnv, market: Market, params: EnvParams, orders: np.ndarray) -> np.ndarray:
    """perf_bps of the greedy policy on ``orders`` of ``market``, in float64: (n,) under one contract,
    (C, n) under C contracts stacked with ``EnvParams.stack`` (one compilation either way)."""
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(True):
        weights = {k: jnp.asarray(v, jnp.float64) for k, v in policy.weights.items()}
        return play(env, market, params, orders, lambda obs: greedy_action(weights, obs, env.lookback, env.horizon))
