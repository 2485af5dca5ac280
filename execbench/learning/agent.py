"""``EnvAgent``: the strategy side of a policy trained in ``ExecutionEnv`` (PPO, the flow policy).

It loads a checkpoint (``"bundled"`` = the subclass's shipped one) or trains on the training bars in
``fit``; each bar, ``execbench.learning.driver.PolicyDriver`` runs the policy with the environment's
own observation and clipping, so the engine scores exactly what was trained.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from execbench.contracts import ContractSpec, ScenarioGrid
from execbench.errors import StrategyError
from execbench.learning.checkpoint import PolicyCheckpoint
from execbench.strategy import OrderContext, StepObservation, Strategy


class EnvAgent(Strategy):
    """Base of the strategies whose policy lives in ``ExecutionEnv``.  Subclasses set ``POLICY`` (the
    checkpoint class), ``BUNDLED`` (the shipped checkpoint's folder) and implement ``decide`` (the
    jittable observation → share of the order) and ``train``."""

    mode = "adaptive"
    POLICY: ClassVar[type[PolicyCheckpoint]] = PolicyCheckpoint
    BUNDLED: ClassVar[Path | None] = None

    def __init__(self, horizon: int = 12, lookback_bars: int = 24, checkpoint: str | None = "bundled"):
        self.horizon, self.lookback_bars = int(horizon), int(lookback_bars)
        self.checkpoint = None if str(checkpoint).lower() in ("none", "") else checkpoint
        self.policy: PolicyCheckpoint | None = None
        self._driver = None
        if self.checkpoint is not None:
            self.use(self.POLICY.load(self.BUNDLED if self.checkpoint == "bundled" else Path(self.checkpoint)))

    @property
    def lookback(self) -> int:
        return self.lookback_bars + 1  # the environment's observation needs L returns: L + 1 prices

    @property
    def trained_on(self) -> dict[str, Any] | None:
        return None if self.policy is None else self.policy.trained_on

    def decide(self, weights: dict, env):
        """The policy's decision function ``obs → share of the order`` for these weights (float64)."""
        raise NotImplementedError

    def train(self, bars, on_iteration=None) -> "EnvAgent":
        raise NotImplementedError

    def use(self, policy: PolicyCheckpoint) -> "EnvAgent":
        """Run ``policy`` (a trained checkpoint of this agent's kind) from now on; returns self."""
        from execbench.learning import ExecutionEnv
        from execbench.learning.driver import PolicyDriver

        self.policy = policy
        self.horizon, self.lookback_bars = policy.horizon, policy.lookback
        if "hidden" in policy.config:
            self.hidden = int(policy.config["hidden"])
        env = ExecutionEnv(policy.horizon, policy.lookback)
        weights = {k: np.asarray(v, np.float64) for k, v in policy.weights.items()}
        self._driver = PolicyDriver(env, self.decide(weights, env))
        return self

    def unsupported(self, spec: ContractSpec) -> str | None:
        if spec.horizon != self.horizon:
            return f"the policy was trained for T={self.horizon} bars (pass horizon and checkpoint=none to train another)"
        if spec.max_participation is not None:
            return "the execution environment does not model participation caps"
        return None

    def checkpoint_mismatch(self, bars) -> str | None:
        if self.policy is None or self.checkpoint is None:
            return None
        trained = self.trained_on or {}
        if (trained.get("asset"), trained.get("freq")) == (bars.attrs.get("asset"), bars.attrs.get("freq")):
            return None
        return (f"checkpoint trained on {trained.get('asset')} {trained.get('freq')}, not on "
                f"{bars.attrs.get('asset')} {bars.attrs.get('freq')}")

    def fit(self, bars) -> "EnvAgent":
        """Train on ``bars`` (the training period), or keep the checkpoint and report a mismatch."""
        if self.policy is not None and self.checkpoint is not None:
            mismatch = self.checkpoint_mismatch(bars)
            if mismatch:
                warnings.warn(f"strategy {self.name!r}: {mismatch}", stacklevel=2)
            return self
        return self.train(bars)

    def trained_on_record(self, bars, orders: int) -> dict[str, Any]:
        """What a policy trained on ``bars`` (``orders`` training orders) records of them."""
        return {"asset": bars.attrs.get("asset"), "freq": bars.attrs.get("freq"), "orders": int(orders),
                "last_bar": str(bars.index.max()) if len(bars) else None}

    def get_state(self) -> dict[str, Any]:
        if self.policy is None:
            return {}
        return {"weights": {k: np.asarray(v).tolist() for k, v in self.policy.weights.items()},
                "config": self.policy.config, "trained_on": self.policy.trained_on}

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("weights"):
            self.use(self.POLICY(weights={k: np.asarray(v, np.float32) for k, v in state["weights"].items()},
                                  horizon=self.horizon, lookback=self.lookback_bars, config=state.get("config", {}),
                                  trained_on=state.get("trained_on", {})))

    def start(self, ctx: OrderContext, grid: ScenarioGrid) -> dict:
        if self._driver is None:
            raise StrategyError(f"strategy {self.name!r} is not fitted: call fit(training bars) or pass a checkpoint")
        return self._driver.start(ctx, grid)

    def step(self, state: dict, obs: StepObservation) -> np.ndarray:
        return self._driver.step(state, obs)
