"""A JAX execution environment in the gymnax style: one episode is one order of one contract.

``reset(key, params, market)`` and ``step(key, state, action, params, market)`` are pure functions
of arrays, so ``jax.jit`` and ``jax.vmap`` compile them (over orders, keys, even contracts).

* **Market** (``Market``): per order, the ``lookback + 1`` bars before its origin and its T window
  bars (prices = bar VWAPs, volumes), its size and the expected window volume.  ``Market.from_bars``
  builds it from real bars (pass only the training period) or ``synthetic:heston`` bars.
* **Observation** at bar s (what a causal policy may see): the log returns (percent) and volumes
  (over the mean of the history bars) of the ``lookback`` bars before bar s, i.e. up to the close
  of bar s − 1; the time s/T; the order's unexecuted share; the path's average fill and the last
  visible price against the running VWAP and TWAP (percent); and the contract (side, target,
  benchmark, minimum period m/T, minimum and maximum rate).  Bars ≥ s never enter it (tested).
* **Action**: the fraction of the order to trade on bar s, clipped as the engine's rules say — at
  least min(min rate, unexecuted) and what completion by bar T requires, at most min(max rate,
  unexecuted); a residue of at most ``COMPLETE`` is traded at once (as the LEM adapter does) and the
  last bar takes the remainder, so every episode's allocations sum to exactly 1.
* **Reward**: 0 until the last bar, then the engine's score of the order: perf_bps against the
  realised-window benchmark (positive = better), with the impact model when ``params`` sets one,
  less ``risk_aversion`` × (score − ``risk_center``)².  With ``arrival`` the score is instead minus
  the implementation shortfall against the arrival price (the last bar price before the origin; bps,
  positive = better), Almgren–Chriss's objective.  ``tests/test_learning_env.py`` holds both equal
  to ``execbench.replay`` (and ``execbench.analysis.shortfall``) of the same allocations to 1e-6 bps.

Exact equality needs float64: run the functions, and build their inputs, inside
``jax.enable_x64(True)`` (``rollout`` and the gymnasium wrapper do).  In float32 the reward is good
to about 1e-3 bps.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from execbench.cache import use_jax_cache
from execbench.contracts import ALLOC_EPS, ContractSpec
from execbench.errors import ContractError

COMPLETE = 1e-6  # a residue this small is traded at once (execbench.lem.adapter.settle's rule)
RETURN_SCALE = 100.0  # returns and price gaps in percent
CONTRACT_FEATURES = 6  # side, notional target, TWAP benchmark, m/T, min rate, max rate
PATH_FEATURES = 6  # s/T, unexecuted share, average fill vs VWAP and TWAP so far, last price vs both


class EnvParams(NamedTuple):
    """One contract (scenario) and the scoring: impact (fractions of price, as ``ImpactModel``) and
    the score (``arrival``: −IS against the arrival price instead of perf_bps) and the reward's risk
    penalty ``risk_aversion`` × (score − ``risk_center``)²: centred on the policy's mean score, a
    mean-variance objective.  A NamedTuple of scalars, so a pytree that ``vmap`` can batch."""

    side_sign: float  # +1 buy, −1 sell
    is_notional: bool
    is_twap: bool
    min_period: int
    min_rate: float
    max_rate: float
    eps: float = 0.0
    beta: float = 0.5
    gamma: float = 0.0
    delta: float = 1.0
    bench_impact: bool = False
    risk_aversion: float = 0.0
    arrival: bool = False
    risk_center: float = 0.0  # train_ppo sets it each iteration: the policy's mean score on the contract

    @classmethod
    def from_spec(cls, spec: ContractSpec, impact=None, risk_aversion: float = 0.0,
                  arrival: bool = False) -> "EnvParams":
        """The parameters of ``spec`` (an ``execbench.ImpactModel`` for ``impact``, or none), scored
        by perf_bps or, with ``arrival``, by −IS against the arrival price."""
        if spec.max_participation is not None:
            raise ContractError("execution environment: participation caps are not modelled; use an uncapped contract")
        extra = {} if impact is None else {"eps": impact.eps, "beta": impact.beta, "gamma": impact.gamma,
                                           "delta": impact.delta, "bench_impact": impact.benchmark_with_impact}
        return cls(side_sign=1.0 if spec.side == "buy" else -1.0, is_notional=spec.target == "notional",
                   is_twap=spec.benchmark == "twap", min_period=int(spec.min_period), min_rate=float(spec.effective_min_rate),
                   max_rate=float(spec.max_rate), risk_aversion=float(risk_aversion), arrival=bool(arrival),
                   **extra)

    @classmethod
    def stack(cls, contracts) -> "EnvParams":
        """Contracts stacked into one ``EnvParams`` of arrays (a leading axis to draw or vmap over)."""
        return cls(*(np.asarray(values) for values in zip(*contracts, strict=True)))


class Market(NamedTuple):
    """Orders to sample episodes from: ``prices``/``volumes`` (N, L + 1 + T), the L + 1 bars before
    each origin then its T window bars; ``order_qty``, ``order_notional`` and ``window_volume``
    (the expected window volume, for impact) (N,); ``level`` (N,), the mean history volume."""

    prices: np.ndarray
    volumes: np.ndarray
    order_qty: np.ndarray
    order_notional: np.ndarray
    window_volume: np.ndarray
    level: np.ndarray

    @classmethod
    def from_windows(cls, windows, lookback: int) -> "Market":
        """From ``execbench.orders.OrderWindows`` built with ``min_history >= lookback + 1``."""
        prices = np.concatenate([windows.history("prices", lookback + 1), windows.window("prices")], axis=1)
        volumes = np.concatenate([windows.history("volumes", lookback + 1), windows.window("volumes")], axis=1)
        qty, notional = windows.sizes()
        with np.errstate(invalid="ignore"):
            level = np.nan_to_num(np.nanmean(volumes[:, :lookback + 1], axis=1))
        return cls(prices=prices, volumes=volumes, order_qty=qty, order_notional=notional,
                   window_volume=windows.expected_volume(), level=level)

    @classmethod
    def from_bars(cls, bars, horizon: int, lookback: int, *, start=None, end=None, order_size: float = 0.01) -> "Market":
        """Every order with origin in [start, end) of ``bars`` (pass the training period only)."""
        from execbench.orders import build_order_windows

        windows = build_order_windows(bars, horizon, start=start, end=end, min_history=lookback + 1,
                                      order_size=order_size)
        return cls.from_windows(windows, lookback)

    @property
    def n_orders(self) -> int:
        return len(self.prices)


class EnvState(NamedTuple):
    """Where one episode stands: the order (row of the market), the next bar and the allocations so far."""

    order: object  # int scalar
    step: object  # int scalar: the bar the next action is for
    alloc: object  # (T,) allocations, 0 from ``step`` on


class ExecutionEnv:
    """The environment for horizon T and ``lookback`` observed bars (see the module docstring)."""

    def __init__(self, horizon: int, lookback: int = 24):
        if horizon < 1 or lookback < 1:
            raise ValueError(f"ExecutionEnv: horizon and lookback must be >= 1, got {horizon}, {lookback}")
        self.horizon, self.lookback = int(horizon), int(lookback)

    def __repr__(self) -> str:
        return f"ExecutionEnv(T={self.horizon}, lookback={self.lookback}, observation {self.observation_size})"

    @property
    def observation_size(self) -> int:
        return 2 * self.lookback + PATH_FEATURES + CONTRACT_FEATURES

    # -- the pure functions --------------------------------------------------------------------------
    def reset(self, key, params: EnvParams, market: Market):
        """An episode of a random order of ``market``: (observation, state)."""
        import jax

        return self.reset_to(jax.random.randint(key, (), 0, market.prices.shape[0]), params, market)

    def reset_to(self, order, params: EnvParams, market: Market):
        """The episode of order ``order`` (a row of ``market``): (observation, state)."""
        import jax.numpy as jnp

        prices = jnp.asarray(market.prices)
        state = EnvState(order=jnp.asarray(order, jnp.int32), step=jnp.asarray(0, jnp.int32),
                         alloc=jnp.zeros(self.horizon, dtype=prices.dtype))
        return self.observe(state, params, market), state

    def step(self, key, state: EnvState, action, params: EnvParams, market: Market):
        """Trade ``action`` (a fraction of the order, clipped by the contract's rules) on bar
        ``state.step``: (observation, state, reward, done, info); the reward comes on the last bar."""
        import jax.numpy as jnp

        del key  # the market is replayed, not simulated: nothing random happens within an episode
        s, alloc = state.step, state.alloc
        remaining = jnp.maximum(1.0 - alloc.sum(), 0.0)
        low = jnp.maximum(jnp.minimum(params.min_rate, remaining), remaining - (self.horizon - 1 - s) * params.max_rate)
        high = jnp.minimum(params.max_rate, remaining)
        a = jnp.clip(jnp.asarray(action, alloc.dtype), low, jnp.maximum(low, high))
        a = jnp.where((remaining - a <= COMPLETE) | (s >= self.horizon - 1), remaining, a)
        alloc = alloc.at[jnp.minimum(s, self.horizon - 1)].set(jnp.where(s < self.horizon, a, 0.0))
        state = EnvState(order=state.order, step=s + 1, alloc=alloc)
        done = state.step >= self.horizon
        score = self.score(state, params, market)
        penalty = jnp.where(params.risk_aversion > 0, params.risk_aversion * (score - params.risk_center) ** 2, 0.0)
        reward = jnp.where(done, score - penalty, 0.0)
        return self.observe(state, params, market), state, reward, done, {"perf_bps": jnp.where(done, score, jnp.nan)}

    def observe(self, state: EnvState, params: EnvParams, market: Market):
        """The observation before bar ``state.step`` (see the module docstring)."""
        import jax.numpy as jnp
        from jax import lax

        lookback, horizon = self.lookback, self.horizon
        s = state.step
        prices = jnp.asarray(market.prices)[state.order]
        volumes = jnp.asarray(market.volumes)[state.order]
        seen = lax.dynamic_slice(prices, (s,), (lookback + 1,))  # bars origin−L−1+s … origin+s−1
        returns = RETURN_SCALE * jnp.log(seen[1:] / seen[:-1])
        level = jnp.asarray(market.level)[state.order]
        volume = lax.dynamic_slice(volumes, (s + 1,), (lookback,)) / jnp.where(level > 0, level, 1.0)
        window_p, window_v = prices[lookback + 1:], volumes[lookback + 1:]
        before = (jnp.arange(horizon) < s).astype(prices.dtype)
        a = state.alloc * before
        twap = jnp.sum(window_p * before) / jnp.maximum(s, 1)
        traded_volume = jnp.sum(window_v * before)
        vwap = jnp.where(traded_volume > 0, jnp.sum(window_v * window_p * before) / jnp.maximum(traded_volume, 1e-300), twap)
        executed = a.sum()
        average = jnp.where(params.is_notional, executed / jnp.maximum(jnp.sum(a / window_p), 1e-300),
                            jnp.sum(a * window_p) / jnp.maximum(executed, 1e-300))
        last = seen[-1]

        def gap(x, reference, valid):
            return jnp.where(valid, RETURN_SCALE * (x / reference - 1.0), 0.0)

        path = jnp.stack([s / horizon, jnp.maximum(1.0 - state.alloc.sum(), 0.0),
                          gap(average, vwap, executed > 0), gap(average, twap, executed > 0),
                          gap(last, vwap, s > 0), gap(last, twap, s > 0)])
        contract = jnp.stack([jnp.asarray(params.side_sign, prices.dtype), jnp.asarray(params.is_notional, prices.dtype),
                              jnp.asarray(params.is_twap, prices.dtype),
                              jnp.asarray(params.min_period, prices.dtype) / horizon,
                              jnp.asarray(params.min_rate, prices.dtype), jnp.asarray(params.max_rate, prices.dtype)])
        return jnp.concatenate([returns, volume, path.astype(prices.dtype), contract])

    def score(self, state: EnvState, params: EnvParams, market: Market):
        """perf_bps of the episode's allocations (positive = better than the realised-window benchmark),
        the engine's rules with impact (``execbench.engine.impact``'s twin, for one order); with
        ``params.arrival``, −IS in bps of the arrival price (the last bar price before the origin)."""
        import jax.numpy as jnp

        horizon = self.horizon
        prices = jnp.asarray(market.prices)[state.order, self.lookback + 1:]
        volumes = jnp.asarray(market.volumes)[state.order, self.lookback + 1:]
        window_volume = jnp.asarray(market.window_volume)[state.order]
        qty, notional = jnp.asarray(market.order_qty)[state.order], jnp.asarray(market.order_notional)[state.order]
        a, sign = state.alloc, params.side_sign
        units = a * jnp.where(params.is_notional, notional / prices, qty)
        done = jnp.cumsum(units) - units
        ratio = jnp.where(window_volume > 0, done / jnp.where(window_volume > 0, window_volume, 1.0), 0.0)
        permanent = jnp.where(done > 0, params.gamma * jnp.where(done > 0, ratio, 1.0) ** params.delta, 0.0)
        shifted = prices * (1.0 + sign * permanent)
        bar_volume = jnp.where(volumes > 0, volumes, window_volume / horizon)
        nu = jnp.where(bar_volume > 0, units / jnp.where(bar_volume > 0, bar_volume, 1.0), 0.0)
        fill = jnp.where(units > 0, shifted * (1.0 + sign * params.eps * jnp.where(units > 0, nu, 1.0) ** params.beta),
                         shifted)
        achieved = jnp.where(params.is_notional, a.sum() / jnp.sum(a / fill), jnp.sum(a * fill) / a.sum())
        traded = a > ALLOC_EPS
        last = jnp.max(jnp.where(traded, jnp.arange(horizon), -1))
        end = jnp.maximum(params.min_period - 1, last)
        inside = (jnp.arange(horizon) <= end).astype(prices.dtype)
        reference = jnp.where(params.bench_impact, shifted, prices)
        twap = jnp.sum(reference * inside) / (end + 1)
        window = jnp.sum(volumes * inside)
        vwap = jnp.where(window > 0, jnp.sum(volumes * reference * inside) / jnp.where(window > 0, window, 1.0), jnp.nan)
        benchmark = jnp.where(params.is_twap, twap, vwap)
        arrival = jnp.asarray(market.prices)[state.order, self.lookback]
        return -sign * (achieved / jnp.where(params.arrival, arrival, benchmark) - 1.0) * 1e4


def rollout(env: ExecutionEnv, params: EnvParams, market: Market, orders: np.ndarray, actions: np.ndarray):
    """Play fixed ``actions`` (n, T) on ``orders`` (n,), jitted and vmapped over orders, in float64,
    under one contract or, for ``params`` stacked with one contract per order (``EnvParams.stack``),
    each order's own: returns the allocations the environment applied (n, T), the final perf_bps (n,)
    and the observations before each bar (n, T, observation size)."""
    import jax

    per_order = int(np.ndim(params.side_sign) > 0)
    with jax.enable_x64(True):
        compiled = env.__dict__.setdefault("_rollouts", {})
        if per_order not in compiled:
            compiled[per_order] = _rollout_fn(env, per_order)
        return compiled[per_order](params, market, np.asarray(orders), np.asarray(actions, np.float64))


def play(env: ExecutionEnv, market: Market, params: EnvParams, orders: np.ndarray, decide) -> np.ndarray:
    """perf_bps of the episodes a policy ``decide(obs) → share of the order`` (jittable) plays on
    ``orders`` of ``market``: (n,) under one contract, (C, n) under C contracts stacked with
    ``EnvParams.stack`` (one compilation either way).  Call it inside ``jax.enable_x64(True)`` for the
    engine's precision."""
    import jax
    import jax.numpy as jnp

    use_jax_cache()

    def one(params, market, order):
        obs, state = env.reset_to(order, params, market)

        def body(carry, _):
            obs, state = carry
            obs, state, _, _, info = env.step(None, state, decide(obs), params, market)
            return (obs, state), info["perf_bps"]

        _, perf = jax.lax.scan(body, (obs, state), None, length=env.horizon)
        return perf[-1]

    over_orders = jax.vmap(one, in_axes=(None, None, 0))
    compiled = jax.jit(jax.vmap(over_orders, in_axes=(0, None, None)) if np.ndim(params.side_sign) > 0 else over_orders)
    return np.asarray(compiled(params, market, jnp.asarray(orders)))


def _rollout_fn(env: ExecutionEnv, per_order: int = 0):
    """Compiled once per environment: params and market are traced, so every contract shares it
    (``per_order``: params batched with the orders)."""
    import jax
    from jax import lax

    use_jax_cache()

    def one(params, market, order, actions):
        obs, state = env.reset_to(order, params, market)

        def body(carry, action):
            obs, state = carry
            new_obs, state, reward, done, info = env.step(None, state, action, params, market)
            return (new_obs, state), (obs, info["perf_bps"])

        (_, state), (observations, perf) = lax.scan(body, (obs, state), actions)
        return state.alloc, perf[-1], observations

    return jax.jit(jax.vmap(one, in_axes=(0 if per_order else None, None, 0, 0)))
