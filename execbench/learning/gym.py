"""A ``gymnasium`` wrapper of the JAX execution environment, for users who bring their own RL
library: one episode per ``reset``, stepped from Python (the jitted ``reset_to``/``step`` in float64).

Needs the ``agents`` extra (``gymnasium``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from execbench.cache import use_jax_cache
from execbench.learning.env import EnvParams, ExecutionEnv, Market

try:
    import gymnasium
    from gymnasium import spaces
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError("execbench.learning.gym needs gymnasium: pip install 'execbench[agents]'") from exc


class ExecutionGymEnv(gymnasium.Env):
    """``gymnasium.Env`` over ``ExecutionEnv``: observation ``env.observation_size`` floats, action
    one float (the fraction of the order for the next bar; the contract's rules clip it), reward
    perf_bps on the last bar.  ``reset(options={"order": i})`` replays order i, else a random one."""

    metadata = {"render_modes": []}

    def __init__(self, env: ExecutionEnv, params: EnvParams, market: Market):
        import jax
        import jax.numpy as jnp

        use_jax_cache()

        self.env, self.params = env, params
        with jax.enable_x64(True):
            self.market = Market(*(jnp.asarray(a) for a in market))  # on the device once, not per step
            self._reset = jax.jit(env.reset_to)
            self._step = jax.jit(env.step)
        self.observation_space = spaces.Box(-np.inf, np.inf, (env.observation_size,), np.float64)
        self.action_space = spaces.Box(0.0, 1.0, (1,), np.float64)
        self._state = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        import jax

        super().reset(seed=seed)
        order = int((options or {}).get("order", self.np_random.integers(self.market.prices.shape[0])))
        with jax.enable_x64(True):
            obs, self._state = self._reset(order, self.params, self.market)
        return np.asarray(obs, np.float64), {"order": order}

    def step(self, action):
        import jax

        if self._state is None:
            raise RuntimeError("ExecutionGymEnv.step before reset")
        with jax.enable_x64(True):
            obs, self._state, reward, done, info = self._step(None, self._state, float(np.asarray(action).reshape(-1)[0]),
                                                              self.params, self.market)
        extra = {"allocations": np.asarray(self._state.alloc)}
        if bool(done):  # the score exists once the order is complete
            extra["perf_bps"] = float(info["perf_bps"])
        return np.asarray(obs, np.float64), float(reward), bool(done), False, extra
