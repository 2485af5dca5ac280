"""Run a JAX policy of ``ExecutionEnv`` as an adaptive strategy: the same observation, the same
clipping, so the allocations the engine scores are the ones the policy was trained on.

``PolicyDriver.start`` builds, from the strategy call's ``OrderContext``, a ``Market`` holding each
order's ``lookback + 1`` history bars and T placeholder window bars (the last history price, no
volume); ``step`` writes the bar the framework has just revealed into it, rebuilds each episode's
state from the framework's record of the strategy's own allocations, and runs ``env.observe``, the
policy and ``env.step`` for every order × scenario in one jitted call.  Nothing the framework has not
revealed ever enters the market (the placeholders are never read: ``ExecutionEnv.observe`` is causal,
tested), and the look-ahead audit checks it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from execbench.cache import use_jax_cache
from execbench.contracts import ScenarioGrid
from execbench.learning.env import EnvParams, EnvState, ExecutionEnv, Market
from execbench.strategy import OrderContext, StepObservation

PAD = 256  # orders are padded to a power of two up to this, then to a multiple of it: JAX compiles
MIN_PAD = 8  # once per few batch sizes, and a call of a few orders does not pay for PAD of them


def padded_size(n: int) -> int:
    """The number of rows a batch of ``n`` orders is padded to: the next power of two from ``MIN_PAD`` up
    to ``PAD``, then the next multiple of ``PAD``."""
    if n <= PAD:
        return max(MIN_PAD, 1 << max(0, int(n) - 1).bit_length())
    return -(-int(n) // PAD) * PAD


def _filled(values: np.ndarray) -> np.ndarray:
    """History prices with gaps (NaN before the data) filled from the nearest known price."""
    import pandas as pd

    frame = pd.DataFrame(values.T).ffill().bfill()
    return np.nan_to_num(frame.to_numpy().T, nan=1.0)


class PolicyDriver:
    """Drives ``decide(obs) → share of the order`` (jittable, batched over observations) in ``env``."""

    def __init__(self, env: ExecutionEnv, decide: Callable):
        self.env = env
        self.decide = decide
        self._step = None

    def _compiled(self):
        import jax

        use_jax_cache()

        env = self.env

        def one(params, market, order, step, alloc):
            state = EnvState(order=order, step=step, alloc=alloc)
            obs = env.observe(state, params, market)
            _, new_state, _, _, _ = env.step(None, state, self.decide(obs), params, market)
            return new_state.alloc[step]

        over_orders = jax.vmap(one, in_axes=(None, None, 0, None, 0))
        return jax.jit(jax.vmap(over_orders, in_axes=(0, None, None, None, 1), out_axes=1))

    def start(self, ctx: OrderContext, grid: ScenarioGrid) -> dict:
        lookback, horizon = self.env.lookback, self.env.horizon
        n = ctx.n_orders
        padded = padded_size(n)
        prices = np.ones((padded, lookback + 1 + horizon))
        volumes = np.zeros_like(prices)
        history = _filled(ctx.history("prices", lookback + 1))
        prices[:n, :lookback + 1] = history
        prices[:n, lookback + 1:] = history[:, -1:]
        volumes[:n, :lookback + 1] = np.nan_to_num(ctx.history("volumes", lookback + 1))
        level = np.ones(padded)
        level[:n] = volumes[:n, :lookback + 1].mean(axis=1)
        ones = np.ones(padded)
        return {"n": n, "market": Market(prices, volumes, ones, ones, ones, level),
                "params": EnvParams.stack([EnvParams.from_spec(spec) for spec in grid.specs])}

    def step(self, state: dict, obs: StepObservation) -> np.ndarray:
        import jax

        lookback, horizon = self.env.lookback, self.env.horizon
        n, s, market = state["n"], obs.step, state["market"]
        if s > 0:  # the bar the framework has just revealed
            market.prices[:n, lookback + s:] = obs.prices[:, s - 1:s]
            market.volumes[:n, lookback + s] = obs.volumes[:, s - 1]
        padded = market.prices.shape[0]
        alloc = np.zeros((padded, obs.allocated.shape[2], horizon))
        alloc[:n, :, :s] = np.transpose(obs.allocated, (0, 2, 1))
        with jax.enable_x64(True):
            if self._step is None:
                self._step = self._compiled()
            out = self._step(state["params"], market, np.arange(padded, dtype=np.int32), np.int32(s), alloc)
            return np.asarray(out, np.float64)[:n]
