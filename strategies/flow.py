"""A FlowOE-style flow-matching policy (``execbench.learning.flow``), run bar by bar.

It imitates an ensemble of registered experts (``experts``, default TWAP, Almgren–Chriss at risk
aversions 1 and 10, dvwap, flex and optstop) — in each market condition of the training period the
expert with the best mean score — with a conditional flow-matching model of the remaining schedule
given the causal state, then improves on them with a refining loss on the environment's (the
engine's) score.  Each bar it samples the remaining schedule from the noise's mean and trades its
first share; ``steps`` is the sampler: the shortcut model's distilled 1- or 2-step sampler (the
checkpoint's ``steps`` by default) or, with ``ode=true``, the plain flow's Euler ODE in ``steps``
steps (``flow_steps`` by default).

The default, ``checkpoint="bundled"``, is the policy shipped in ``checkpoints/flow-btcusdt-15m``
(``execbench train flow --asset BTCUSDT``); ``checkpoint=none`` trains one in ``fit``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from execbench.contracts import scenario_grid
from execbench.learning.agent import EnvAgent
from execbench.learning.flow import DEFAULT_EXPERTS, FLOW_DEFAULTS, FlowPolicy
from execbench.strategy import Param


class FlowAgent(EnvAgent):
    """Flow-matching policy over the experts' remaining schedules (see the module docstring)."""

    name = "flow"
    description = "FlowOE-style flow-matching policy imitating expert strategies, refined on the score; 1-step shortcut sampler."
    param_specs = {"horizon": Param(int, low=1), "lookback_bars": Param(int, low=1), "hidden": Param(int, low=1),
                   "iterations": Param(int, low=1), "refine_iterations": Param(int, low=0), "steps": Param(int, low=0),
                   "ode": Param(bool), "experts": Param(str), "every": Param(int, low=1), "seed": Param(int, low=0),
                   "checkpoint": Param(str, allow_none=True)}
    POLICY = FlowPolicy
    BUNDLED = Path(str(files(__package__) / "checkpoints" / "flow-btcusdt-15m"))

    def __init__(self, horizon: int = 12, lookback_bars: int = 24, hidden: int = FLOW_DEFAULTS["hidden"],
                 iterations: int = FLOW_DEFAULTS["iterations"], refine_iterations: int = FLOW_DEFAULTS["refine_iterations"],
                 steps: int = 0, ode: bool = False, experts: str = ",".join(DEFAULT_EXPERTS), every: int = 8,
                 seed: int = 0, checkpoint: str | None = "bundled"):
        self.hidden, self.iterations, self.refine_iterations = int(hidden), int(iterations), int(refine_iterations)
        self.steps, self.ode, self.experts, self.every, self.seed = int(steps), bool(ode), str(experts), int(every), int(seed)
        super().__init__(horizon, lookback_bars, checkpoint)

    def training_config(self) -> dict[str, Any]:
        """``train_flow``'s configuration from the strategy's parameters (the rest are ``FLOW_DEFAULTS``)."""
        return {"hidden": self.hidden, "iterations": self.iterations, "refine_iterations": self.refine_iterations,
                "seed": self.seed, **({"steps": self.steps} if self.steps and not self.ode else {})}

    def sampler(self) -> tuple[int, bool]:
        """(steps, shortcut) of the sampler this strategy runs."""
        config = self.policy.config if self.policy is not None else FLOW_DEFAULTS
        if self.ode:
            return self.steps or int(config.get("flow_steps", FLOW_DEFAULTS["flow_steps"])), False
        return self.steps or int(config.get("steps", FLOW_DEFAULTS["steps"])), True

    def decide(self, weights: dict, env):
        from execbench.learning.flow import flow_action

        steps, shortcut = self.sampler()
        return lambda obs: flow_action(weights, obs, env.lookback, steps, shortcut)

    def train(self, bars, on_iteration=None, on_stage=None) -> "FlowAgent":
        """Run the experts on every ``every``-th order of ``bars`` and train the flow on their episodes."""
        from execbench.learning import EnvParams, ExecutionEnv
        from execbench.learning.flow import load_experts, train_flow, training_episodes

        env = ExecutionEnv(self.horizon, self.lookback_bars)
        names = tuple(e.strip() for e in self.experts.split(",") if e.strip())
        market, data = training_episodes(bars, load_experts(names), env, every=self.every, seed=self.seed,
                                         on_stage=on_stage)
        contracts = [EnvParams.from_spec(spec) for spec in scenario_grid(self.horizon).specs]
        trained_on = {**self.trained_on_record(bars, market.n_orders), "every": self.every, "experts": list(names),
                      "episodes": int(len(data["best"])), "decisions": int(len(data["obs"])),
                      "imitated_share": {e: float((data["best"] == k).mean()) for k, e in enumerate(names)},
                      "expert_mean_perf_bps": {e: float(data["perf"][:, k].mean()) for k, e in enumerate(names)}}
        if on_stage:
            on_stage(f"training the flow on {len(data['obs']):,} decisions")
        self.use(train_flow(env, market, contracts, data, self.training_config(), on_iteration=on_iteration,
                             trained_on=trained_on))
        return self
