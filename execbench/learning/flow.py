"""A FlowOE-style flow-matching execution policy (Li & Chen 2025, arXiv 2506.05755) with a shortcut
few-step sampler (Frans, Hafner, Levine & Abbeel 2024, "One Step Diffusion via Shortcut Models").

**Experts.**  Registered strategies (``DEFAULT_EXPERTS``: TWAP, Almgren–Chriss at two risk
aversions, dvwap, flex and the optimal-stopping baseline ``optstop``), fitted on the training bars,
run on training orders under contracts of the grid.  Each episode (order × contract) is replayed in
``ExecutionEnv`` with every expert's allocations; in each market condition (the contract × the
tercile of the causal volatility at the origin) the expert with the best mean score is the one
imitated (FlowOE's "the most suitable expert for the market condition", read off the training data).

**What is generated.**  At bar s the model draws the *remaining schedule*: the shares of the
unexecuted order to trade on bars s, s + 1, …, T − 1 (zeros after T − 1), conditioned on the
observation at s (``policy_features``: the environment's observation, the side-signed price gaps in
units of the order's causal volatility and its log).  The policy trades the first share and draws
again at the next bar (receding horizon), so it adapts bar by bar; the environment's clipping makes
it a valid schedule.  Targets are standardised per coordinate; sampling starts from the noise's mean
(zero), so the policy is deterministic.

**Training** (``train_flow``): conditional flow matching (linear path from N(0, I) to the target,
velocity regression) plus the shortcut models' self-consistency loss (a step of 2d equals two steps of
d, d = 1/128 … 1/2), so one network samples with the N-step Euler ODE (``flow_steps``, the plain flow)
and in 1 or 2 steps (``steps``, the distilled sampler).  Then ``refine_iterations`` of the *refining
loss*: the mean perf_bps of episodes played by the deployed sampler, differentiated through the
environment's score (the engine's rules), added to the imitation losses (which keep the policy near
the experts).  Everything is a function of ``seed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from execbench.cache import use_jax_cache
from execbench.contracts import ContractSpec
from execbench.errors import StrategyError
from execbench.learning.checkpoint import PolicyCheckpoint
from execbench.learning.env import EnvParams, ExecutionEnv, Market, play, rollout
from execbench.learning.members import load_members
from execbench.learning.ppo import feature_size, policy_features
from execbench.strategy import Strategy

DEFAULT_EXPERTS = ("twap", "ac:risk_aversion=1", "ac:risk_aversion=10", "dvwap", "flex", "optstop")
VOL_BUCKETS = 3  # terciles of the causal volatility at the origin: part of the market condition
SHORTCUT_LEVELS = 7  # step sizes d = 1/2 … 1/128 for the self-consistency targets
FLOW_DEFAULTS: dict[str, Any] = {"hidden": 128, "iterations": 3000, "batch": 2048, "learning_rate": 1e-3,
                                 "consistency_share": 0.25, "refine_iterations": 200, "refine_episodes": 512,
                                 "refine_weight": 0.05, "steps": 1, "flow_steps": 32, "seed": 0}


class FlowPolicy(PolicyCheckpoint):
    """A trained flow policy (``PolicyCheckpoint``; history: per-iteration flow, consistency, refine)."""

    MODEL = "flow"


# -- experts and their episodes ----------------------------------------------------------------------
def load_experts(specs: Sequence[str]) -> list[Strategy]:
    """The expert strategies (``name`` or ``name:param=value[:param=value]``; ``execbench.learning.members``)."""
    return load_members(specs, "flow", "expert")


def remaining_schedules(alloc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Episodes' allocations (E, T) → the remaining schedule before each bar (E, T, T) (row s: the
    shares of the then unexecuted order traded on bars s, s + 1, …; zeros after T − 1) and whether
    anything was left to trade (E, T)."""
    n, horizon = alloc.shape
    before = np.cumsum(alloc, axis=1) - alloc
    remaining = np.maximum(1.0 - before, 0.0)
    out = np.zeros((n, horizon, horizon))
    for s in range(horizon):
        out[:, s, :horizon - s] = alloc[:, s:] / np.maximum(remaining[:, s:s + 1], 1e-12)
    return out, remaining > 1e-6


def condition_best(perf: np.ndarray, contracts: np.ndarray, sigma: np.ndarray, buckets: int = VOL_BUCKETS) -> np.ndarray:
    """The expert to imitate in each episode: the best on average over the training episodes of the
    same market condition (the contract × the tercile of the causal volatility at the origin), the
    FlowOE reading of "each expert is good in some market condition".  (Picking each episode's
    best in hindsight would favour the most volatile schedules: their extremes win most often.)"""
    edges = np.quantile(sigma, np.linspace(0, 1, buckets + 1)[1:-1])
    condition = contracts * buckets + np.searchsorted(edges, sigma)
    best = np.empty(len(perf), dtype=int)
    for c in np.unique(condition):
        rows = condition == c
        best[rows] = int(np.argmax(perf[rows].mean(axis=0)))
    return best


def expert_episodes(env: ExecutionEnv, market: Market, specs: Sequence[ContractSpec], schedules: np.ndarray,
                    orders: np.ndarray, contracts: np.ndarray) -> dict[str, np.ndarray]:
    """Replay every expert's allocations ``schedules`` (K, E, T) of the episodes (``orders``,
    ``contracts``: rows of the market and scenario indices, (E,)) in the environment and keep, per
    episode, the imitated expert's (``condition_best``): observations (M, obs) and remaining schedules
    (M, T) of the steps with something left to trade; also each episode's perf_bps by expert (E, K)
    and the imitated expert (E,)."""
    params = EnvParams.stack([EnvParams.from_spec(specs[j]) for j in contracts])
    perf, applied = [], []
    for alloc in schedules:
        done, score, obs = rollout(env, params, market, orders, alloc)
        perf.append(score)
        applied.append(done)
    perf = np.stack(perf, axis=1)
    returns = np.asarray(obs[:, 0, :env.lookback])  # the origin's observation is every expert's
    best = condition_best(perf, contracts, np.sqrt(np.mean(returns ** 2, axis=1)))
    chosen = np.stack(applied)[best, np.arange(len(orders))]
    _, _, obs = rollout(env, params, market, orders, chosen)  # the imitated expert's observations
    remaining, valid = remaining_schedules(chosen)
    return {"obs": np.asarray(obs, np.float32)[valid], "target": remaining[valid].astype(np.float32), "perf": perf,
            "best": best}


def training_episodes(bars, experts: list[Strategy], env: ExecutionEnv, *, every: int = 8, per_order: int = 4,
                      seed: int = 0, order_size: float = 0.01,
                      on_stage: Callable[[str], None] | None = None) -> tuple[Market, dict[str, np.ndarray]]:
    """The experts fitted on ``bars`` (the training period) and run on every ``every``-th of its orders
    under ``per_order`` contracts of the T-bar grid drawn per order with ``seed``: the training
    market of those orders and ``expert_episodes`` of them."""
    from execbench.contracts import scenario_grid
    from execbench.orders import build_order_windows
    from execbench.strategy.runner import fit_strategy, run_strategy

    grid = scenario_grid(env.horizon)
    windows = build_order_windows(bars, env.horizon, min_history=env.lookback + 1, order_size=order_size)
    windows = windows.subset(np.arange(0, len(windows), every))
    if len(windows) == 0:
        raise StrategyError("strategy 'flow': no training orders (too few training bars for the horizon and lookback)")
    market = Market.from_windows(windows, env.lookback)
    rng = np.random.default_rng(seed)
    orders = np.repeat(np.arange(len(windows)), per_order)
    contracts = np.concatenate([rng.choice(len(grid), per_order, replace=False) for _ in range(len(windows))])
    schedules = []
    for expert in experts:
        if on_stage:
            on_stage(f"fitting and running expert {expert.name} on {len(windows):,} training orders")
        fit_strategy(expert, bars)
        schedules.append(run_strategy(expert, windows, grid)[orders, :, contracts])
    if on_stage:
        on_stage(f"replaying {len(experts)} experts on {len(orders):,} episodes in the environment")
    return market, expert_episodes(env, market, grid.specs, np.stack(schedules), orders, contracts)


# -- the network -------------------------------------------------------------------------------------
def init_weights(key, n_features: int, horizon: int, hidden: int) -> dict:
    """A three-layer SiLU network (features, x, τ, d) → velocity (T,); normalisers start as identities."""
    import jax
    import jax.numpy as jnp

    keys = jax.random.split(key, 3)
    sizes = [(n_features + horizon + 2, hidden), (hidden, hidden), (hidden, horizon)]
    weights = {"in_mean": jnp.zeros(n_features), "in_std": jnp.ones(n_features),
               "y_mean": jnp.zeros(horizon), "y_std": jnp.ones(horizon)}
    for i, (k, (n_in, n_out)) in enumerate(zip(keys, sizes, strict=True), start=1):
        weights[f"w{i}"] = jax.random.normal(k, (n_in, n_out)) / jnp.sqrt(n_in) * (0.1 if i == 3 else 1.0)
        weights[f"b{i}"] = jnp.zeros(n_out)
    return weights


def velocity(weights: dict, features, x, tau, d):
    """The velocity field at (x, τ) for step size d (0: the instantaneous flow), batched over rows."""
    import jax
    import jax.numpy as jnp

    f = (features - jax.lax.stop_gradient(weights["in_mean"])) / jax.lax.stop_gradient(weights["in_std"])
    tau = jnp.broadcast_to(jnp.asarray(tau, x.dtype), x.shape[:-1])[..., None]
    d = jnp.broadcast_to(jnp.asarray(d, x.dtype), x.shape[:-1])[..., None]
    h = jax.nn.silu(jnp.concatenate([f, x, tau, d], axis=-1) @ weights["w1"] + weights["b1"])
    h = jax.nn.silu(h @ weights["w2"] + weights["b2"])
    return h @ weights["w3"] + weights["b3"]


def sample_schedule(weights: dict, features, steps: int, shortcut: bool = True):
    """Integrate from the noise's mean (zero) in ``steps`` Euler steps: with the shortcut conditioning
    d = 1/steps (the distilled sampler) or, ``shortcut=False``, the instantaneous flow (d = 0, the
    plain N-step ODE).  Returns the remaining schedule in shares of the remainder (…, T)."""
    import jax.numpy as jnp

    x = jnp.zeros(features.shape[:-1] + weights["y_mean"].shape, features.dtype)
    d = 1.0 / steps
    for i in range(steps):
        x = x + d * velocity(weights, features, x, i * d, d if shortcut else 0.0)
    return x * weights["y_std"] + weights["y_mean"]


def flow_action(weights: dict, obs, lookback: int, steps: int, shortcut: bool = True):
    """The policy's decision: the first share of the sampled remaining schedule × the unexecuted share."""
    import jax.numpy as jnp

    schedule = sample_schedule(weights, policy_features(obs, lookback), steps, shortcut)
    return jnp.clip(schedule[..., 0], 0.0, 1.0) * obs[..., 2 * lookback + 1]


# -- training ----------------------------------------------------------------------------------------
def train_flow(env: ExecutionEnv, market: Market, contracts: Sequence[EnvParams], data: dict[str, np.ndarray],
               config: dict[str, Any] | None = None,
               on_iteration: Callable[[int, int, dict[str, float]], None] | None = None,
               trained_on: dict[str, Any] | None = None) -> FlowPolicy:
    """Fit the flow on the experts' episodes ``data`` (``expert_episodes``), then refine it.

    Parameters
    ----------
    env, market, contracts
        The environment, the training orders and the contracts the refining episodes are drawn from.
    data
        ``expert_episodes``' output: observations and the imitated remaining schedules.
    config
        Overrides of ``FLOW_DEFAULTS`` (unknown names are refused).
    on_iteration
        Called with (iteration, total, logs): ``flow`` and ``consistency`` losses, and during the
        refining phase ``refine``, the mean perf_bps of the refining episodes.
    """
    import jax
    import jax.numpy as jnp
    import optax

    use_jax_cache()
    config = {**FLOW_DEFAULTS, **(config or {})}
    unknown = set(config) - set(FLOW_DEFAULTS)
    if unknown:
        raise StrategyError(f"flow: unknown parameters {sorted(unknown)}; valid: {', '.join(FLOW_DEFAULTS)}")
    if len(data["obs"]) == 0:
        raise StrategyError("flow: the experts' episodes hold no decision to imitate (too few training orders)")
    started = time.perf_counter()
    horizon, lookback = env.horizon, env.lookback
    batch, steps = int(config["batch"]), int(config["steps"])
    n_consistency = int(round(batch * float(config["consistency_share"])))
    features = np.asarray(policy_features(jnp.asarray(data["obs"]), lookback))
    targets = np.asarray(data["target"])
    key = jax.random.PRNGKey(int(config["seed"]))
    key, k_init = jax.random.split(key)
    weights = init_weights(k_init, feature_size(env), horizon, int(config["hidden"]))
    weights = {**weights, "in_mean": jnp.asarray(features.mean(axis=0)),
               "in_std": jnp.asarray(np.maximum(features.std(axis=0), 1e-3)),
               "y_mean": jnp.asarray(targets.mean(axis=0)), "y_std": jnp.asarray(np.maximum(targets.std(axis=0), 1e-3))}
    features, targets = jnp.asarray(features), jnp.asarray(targets)
    optimiser = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(config["learning_rate"]))
    opt_state = optimiser.init(weights)
    stacked = EnvParams.stack(contracts)
    market32 = Market(*(jnp.asarray(a, jnp.float32) for a in market))

    def imitation_loss(weights, key):
        k_rows, k_noise, k_tau, k_level, k_slot = jax.random.split(key, 5)
        rows = jax.random.randint(k_rows, (batch,), 0, features.shape[0])
        f = features[rows]
        x1 = (targets[rows] - weights["y_mean"]) / weights["y_std"]
        x0 = jax.random.normal(k_noise, x1.shape)
        # flow matching (d = 0) on the first rows
        tau = jax.random.uniform(k_tau, (batch,))
        xt = (1 - tau[:, None]) * x0 + tau[:, None] * x1
        flow = ((velocity(weights, f, xt, tau, 0.0) - (x1 - x0)) ** 2)[n_consistency:].mean()
        # self-consistency on the others: one step of 2d = two steps of d (d = 0 at the finest level)
        level = jax.random.randint(k_level, (n_consistency,), 1, SHORTCUT_LEVELS + 1)
        d = 2.0 ** -level
        slot = jax.random.randint(k_slot, (n_consistency,), 0, 2 ** level - 1)  # τ + 2d ≤ 1
        tau_c = slot * d
        fc, x0c, x1c = f[:n_consistency], x0[:n_consistency], x1[:n_consistency]
        xc = (1 - tau_c[:, None]) * x0c + tau_c[:, None] * x1c
        d_query = jnp.where(level == SHORTCUT_LEVELS, 0.0, d)
        v1 = velocity(weights, fc, xc, tau_c, d_query)
        v2 = velocity(weights, fc, xc + d[:, None] * v1, tau_c + d, d_query)
        target = jax.lax.stop_gradient((v1 + v2) / 2)
        consistency = ((velocity(weights, fc, xc, tau_c, 2 * d) - target) ** 2).mean()
        return flow + consistency, (flow, consistency)

    def refine_perf(weights, key):
        """Mean perf_bps of episodes played by the deployed sampler (differentiable through the score)."""
        def episode(k):
            k_order, k_contract = jax.random.split(k)
            params = jax.tree.map(lambda x: jnp.asarray(x)[jax.random.randint(k_contract, (), 0, len(contracts))], stacked)
            obs, state = env.reset(k_order, params, market32)

            def body(carry, _):
                obs, state = carry
                action = flow_action(weights, obs, lookback, steps)
                obs, state, _, _, info = env.step(None, state, action, params, market32)
                return (obs, state), env.score(state, params, market32)

            _, score = jax.lax.scan(body, (obs, state), None, length=horizon)
            return score[-1]

        return jax.vmap(episode)(jax.random.split(key, int(config["refine_episodes"]))).mean()

    def total_loss(weights, key, refine_weight):
        k_imitate, k_refine = jax.random.split(key)
        imitation, (flow, consistency) = imitation_loss(weights, k_imitate)
        perf = refine_perf(weights, k_refine)
        return imitation - refine_weight * perf, (flow, consistency, perf)

    def update(weights, opt_state, grads):
        updates, opt_state = optimiser.update(grads, opt_state, weights)
        return optax.apply_updates(weights, updates), opt_state

    @jax.jit
    def imitate(weights, opt_state, key):
        grads, (flow, consistency) = jax.grad(imitation_loss, has_aux=True)(weights, key)
        return (*update(weights, opt_state, grads), flow, consistency)

    @jax.jit
    def refine(weights, opt_state, key):
        grads, (flow, consistency, perf) = jax.grad(total_loss, has_aux=True)(weights, key, config["refine_weight"])
        return (*update(weights, opt_state, grads), flow, consistency, perf)

    history: dict[str, list[float]] = {"flow": [], "consistency": [], "refine": []}
    total = int(config["iterations"]) + int(config["refine_iterations"])
    for i in range(total):
        key, k = jax.random.split(key)
        if i < int(config["iterations"]):
            weights, opt_state, flow, consistency = imitate(weights, opt_state, k)
            perf = float("nan")
        else:
            weights, opt_state, flow, consistency, perf = refine(weights, opt_state, k)
        logs = {"flow": float(flow), "consistency": float(consistency), "refine": float(perf)}
        for name, value in logs.items():
            history[name].append(value)
        if on_iteration is not None:
            on_iteration(i + 1, total, logs)
    return FlowPolicy(weights={k: np.asarray(v) for k, v in weights.items()}, horizon=horizon, lookback=lookback,
                      config=config, trained_on=dict(trained_on or {}), history=history,
                      seconds=time.perf_counter() - started)


def sampler_tradeoff(policy: FlowPolicy, env: ExecutionEnv, market: Market, contracts: Sequence[EnvParams],
                     orders: np.ndarray, samplers: Sequence[tuple[str, int, bool]] | None = None,
                     timing_orders: int = 10_000) -> list[dict[str, Any]]:
    """Both sides of few-step sampling, in one run: for each sampler (label, steps, shortcut) the mean
    perf_bps of its greedy episodes on ``orders`` under every contract (float64) and the seconds its
    decisions take for ``timing_orders`` orders (all T bars, one contract; jitted, warm, best of 3)."""
    import jax
    import jax.numpy as jnp

    use_jax_cache()
    flow_steps = int(policy.config.get("flow_steps", FLOW_DEFAULTS["flow_steps"]))
    samplers = samplers or [(f"flow ODE, {flow_steps} steps", flow_steps, False),
                            ("shortcut, 2 steps", 2, True), ("shortcut, 1 step", 1, True)]
    rows = []
    with jax.enable_x64(True):
        weights = {k: jnp.asarray(v, jnp.float64) for k, v in policy.weights.items()}
        obs = jnp.asarray(np.random.default_rng(0).normal(size=(timing_orders * env.horizon, env.observation_size)))
        for label, steps, shortcut in samplers:
            def decide(w, o, steps=steps, shortcut=shortcut):
                return flow_action(w, o, env.lookback, steps, shortcut)

            perf = play(env, market, EnvParams.stack(contracts), orders, lambda o, decide=decide: decide(weights, o))
            timed = jax.jit(decide)  # the weights are an argument: nothing for XLA to constant-fold
            timed(weights, obs).block_until_ready()  # compiled outside the timing
            seconds = []
            for _ in range(3):
                tick = time.perf_counter()
                timed(weights, obs).block_until_ready()
                seconds.append(time.perf_counter() - tick)
            rows.append({"sampler": label, "network_calls": steps, "mean_perf_bps": float(np.mean(perf)),
                         "seconds_per_10k_orders": min(seconds) * 10_000 / timing_orders})
    return rows


def validation_tradeoff(policy: FlowPolicy, bars, start, end, *, every: int = 8) -> list[dict[str, Any]]:
    """``sampler_tradeoff`` on every ``every``-th order with origin in [start, end) of ``bars`` (the
    validation period) under the grid's contracts with m = 1, T/2 and the match case."""
    from execbench.contracts import scenario_grid

    env = ExecutionEnv(policy.horizon, policy.lookback)
    market = Market.from_bars(bars, policy.horizon, policy.lookback, start=start, end=end)
    if market.n_orders == 0:
        raise StrategyError(f"flow: no validation orders between {start} and {end}")
    specs = [spec for spec in scenario_grid(policy.horizon).specs
             if spec.match or spec.min_period in (1, max(policy.horizon // 2, 1))]
    rows = sampler_tradeoff(policy, env, market, [EnvParams.from_spec(spec) for spec in specs],
                            np.arange(0, market.n_orders, every))
    return [{**row, "orders": len(range(0, market.n_orders, every)), "contracts": len(specs)} for row in rows]
