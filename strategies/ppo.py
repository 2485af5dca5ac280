"""A PPO agent trained in the JAX execution environment (``execbench.learning``), run bar by bar.

The default, ``checkpoint="bundled"``, is the policy shipped in ``checkpoints/ppo-btcusdt-15m``
(``execbench train ppo --asset BTCUSDT``; its ``config.json`` records the command, the seed and the
training curve).  With ``checkpoint=none``, ``fit`` trains a new policy on the training bars under
every scenario of the horizon's grid (``execbench.learning.ppo.train_ppo``).  Each bar, the policy
reads the environment's observation of the bars revealed so far and picks one of four actions (0.5×,
1× or 2× TWAP's pace on the remainder, or finish now); ``execbench.learning.driver`` runs it with the
environment's own clipping, so the engine scores exactly what was trained.
"""

from __future__ import annotations

import warnings
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid, scenario_grid
from execbench.errors import StrategyError
from execbench.strategy import OrderContext, Param, StepObservation, Strategy

BUNDLED_PPO = Path(str(files(__package__) / "checkpoints" / "ppo-btcusdt-15m"))


class PPOAgent(Strategy):
    """PPO policy over {slow, TWAP pace, fast, finish} (see the module docstring)."""

    name = "ppo"
    description = "PPO agent trained in the JAX execution environment (optax); bundled BTCUSDT 15m policy."
    mode = "adaptive"
    param_specs = {"horizon": Param(int, low=1), "lookback_bars": Param(int, low=1), "hidden": Param(int, low=1),
                   "iterations": Param(int, low=1), "episodes": Param(int, low=8), "seed": Param(int, low=0),
                   "learning_rate": Param(float, low=0.0, low_open=True), "checkpoint": Param(str, allow_none=True)}

    def __init__(self, horizon: int = 12, lookback_bars: int = 24, hidden: int = 64, iterations: int = 300,
                 episodes: int = 1024, learning_rate: float = 1e-3, seed: int = 0, checkpoint: str | None = "bundled"):
        self.horizon, self.lookback_bars, self.hidden = int(horizon), int(lookback_bars), int(hidden)
        self.iterations, self.episodes, self.learning_rate, self.seed = int(iterations), int(episodes), float(learning_rate), int(seed)
        self.checkpoint = None if str(checkpoint).lower() in ("none", "") else checkpoint
        self.policy = None  # execbench.learning.ppo.PPOPolicy
        self._driver = None
        if self.checkpoint is not None:
            from execbench.learning.ppo import PPOPolicy

            self._use(PPOPolicy.load(BUNDLED_PPO if self.checkpoint == "bundled" else Path(self.checkpoint)))

    @property
    def lookback(self) -> int:
        return self.lookback_bars + 1  # the environment's observation needs L returns: L + 1 prices

    @property
    def trained_on(self) -> dict[str, Any] | None:
        return None if self.policy is None else self.policy.trained_on

    def training_config(self) -> dict[str, Any]:
        """``train_ppo``'s configuration from the strategy's parameters (the rest are ``PPO_DEFAULTS``)."""
        return {"hidden": self.hidden, "iterations": self.iterations, "episodes": self.episodes,
                "learning_rate": self.learning_rate, "seed": self.seed}

    def _use(self, policy) -> None:
        from execbench.learning import ExecutionEnv
        from execbench.learning.driver import PolicyDriver
        from execbench.learning.ppo import greedy_action

        self.policy = policy
        self.horizon, self.lookback_bars = policy.horizon, policy.lookback
        self.hidden = int(policy.config.get("hidden", self.hidden))
        env = ExecutionEnv(policy.horizon, policy.lookback)
        weights = {k: np.asarray(v, np.float64) for k, v in policy.weights.items()}
        self._driver = PolicyDriver(env, lambda obs: greedy_action(weights, obs, env.lookback, env.horizon))

    def unsupported(self, spec: ContractSpec) -> str | None:
        if spec.horizon != self.horizon:
            return f"the policy was trained for T={self.horizon} bars (pass horizon and checkpoint=none to train another)"
        if spec.max_participation is not None:
            return "the execution environment does not model participation caps"
        return None

    def fit(self, bars) -> "PPOAgent":
        """Train on ``bars`` (the training period), or keep the checkpoint and report a mismatch."""
        if self.policy is not None and self.checkpoint is not None:
            trained = self.trained_on or {}
            if (trained.get("asset"), trained.get("freq")) != (bars.attrs.get("asset"), bars.attrs.get("freq")):
                warnings.warn(f"strategy 'ppo': checkpoint trained on {trained.get('asset')} {trained.get('freq')}, "
                              f"evaluated on {bars.attrs.get('asset')} {bars.attrs.get('freq')}", stacklevel=2)
            return self
        return self.train(bars)

    def train(self, bars, on_iteration=None) -> "PPOAgent":
        """Train a policy on every order of ``bars`` under every scenario of the T-bar grid."""
        from execbench.learning import EnvParams, ExecutionEnv, Market
        from execbench.learning.ppo import train_ppo

        env = ExecutionEnv(self.horizon, self.lookback_bars)
        market = Market.from_bars(bars, self.horizon, self.lookback_bars)
        contracts = [EnvParams.from_spec(spec) for spec in scenario_grid(self.horizon).specs]
        trained_on = {"asset": bars.attrs.get("asset"), "freq": bars.attrs.get("freq"), "orders": market.n_orders,
                      "last_bar": str(bars.index.max()) if len(bars) else None}
        self._use(train_ppo(env, market, contracts, self.training_config(), on_iteration=on_iteration,
                            trained_on=trained_on))
        return self

    def get_state(self) -> dict[str, Any]:
        if self.policy is None:
            return {}
        return {"weights": {k: np.asarray(v).tolist() for k, v in self.policy.weights.items()},
                "config": self.policy.config, "trained_on": self.policy.trained_on}

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("weights"):
            from execbench.learning.ppo import PPOPolicy

            self._use(PPOPolicy(weights={k: np.asarray(v, np.float32) for k, v in state["weights"].items()},
                                horizon=self.horizon, lookback=self.lookback_bars, config=state.get("config", {}),
                                trained_on=state.get("trained_on", {})))

    def start(self, ctx: OrderContext, grid: ScenarioGrid) -> dict:
        if self._driver is None:
            raise StrategyError("strategy 'ppo' is not fitted: call fit(training bars) or pass a checkpoint")
        return self._driver.start(ctx, grid)

    def step(self, state: dict, obs: StepObservation) -> np.ndarray:
        return self._driver.step(state, obs)
