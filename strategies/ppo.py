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

from importlib.resources import files
from pathlib import Path
from typing import Any

from execbench.contracts import scenario_grid
from execbench.learning.agent import EnvAgent
from execbench.learning.ppo import PPOPolicy
from execbench.strategy import Param


class PPOAgent(EnvAgent):
    """PPO policy over {slow, TWAP pace, fast, finish} (see the module docstring)."""

    name = "ppo"
    description = "PPO agent trained in the JAX execution environment (optax); bundled BTCUSDT 15m policy."
    param_specs = {"horizon": Param(int, low=1), "lookback_bars": Param(int, low=1), "hidden": Param(int, low=1),
                   "iterations": Param(int, low=1), "episodes": Param(int, low=8), "seed": Param(int, low=0),
                   "learning_rate": Param(float, low=0.0, low_open=True), "checkpoint": Param(str, allow_none=True)}
    POLICY = PPOPolicy
    BUNDLED = Path(str(files(__package__) / "checkpoints" / "ppo-btcusdt-15m"))

    def __init__(self, horizon: int = 12, lookback_bars: int = 24, hidden: int = 64, iterations: int = 300,
                 episodes: int = 1024, learning_rate: float = 1e-3, seed: int = 0, checkpoint: str | None = "bundled"):
        self.hidden, self.iterations, self.episodes = int(hidden), int(iterations), int(episodes)
        self.learning_rate, self.seed = float(learning_rate), int(seed)
        super().__init__(horizon, lookback_bars, checkpoint)

    def training_config(self) -> dict[str, Any]:
        """``train_ppo``'s configuration from the strategy's parameters (the rest are ``PPO_DEFAULTS``)."""
        return {"hidden": self.hidden, "iterations": self.iterations, "episodes": self.episodes,
                "learning_rate": self.learning_rate, "seed": self.seed}

    def decide(self, weights: dict, env):
        from execbench.learning.ppo import greedy_action

        return lambda obs: greedy_action(weights, obs, env.lookback, env.horizon)

    def train(self, bars, on_iteration=None) -> "PPOAgent":
        """Train a policy on every order of ``bars`` under every scenario of the T-bar grid."""
        from execbench.learning import EnvParams, ExecutionEnv, Market
        from execbench.learning.ppo import train_ppo

        env = ExecutionEnv(self.horizon, self.lookback_bars)
        market = Market.from_bars(bars, self.horizon, self.lookback_bars)
        contracts = [EnvParams.from_spec(spec) for spec in scenario_grid(self.horizon).specs]
        self.use(train_ppo(env, market, contracts, self.training_config(), on_iteration=on_iteration,
                            trained_on=self.trained_on_record(bars, market.n_orders)))
        return self
