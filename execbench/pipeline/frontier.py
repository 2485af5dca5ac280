"""Experiments under the replay's impact model: Almgren–Chriss's efficient frontier against theory, and
a strategy's cost curve against order size.

Almgren–Chriss under the replay's impact model: the measured cost/risk trade-off against theory.

With linear temporary impact (β = 1, γ = 0) and a constant bar volume V̄, trading a_t of an order of
Q = s·V̄·T units (s = ``order_size``) costs ε·ν_t = ε·a_t·s·T per unit in bar t, so the expected
impact cost is η·Σ a_t² with η = ε·s·T — Almgren–Chriss's temporary impact in units where the order
and the price are 1.  The strategy is given that η.  With fills at bar prices and the arrival price
the last price before the origin, Var(IS) = σ²·Σ_{k=0}^{T−1} x_k², x_k the fraction still to trade
before bar k+1 and σ the per-bar return volatility.  The table puts the measured mean and std of IS
(non-overlapping orders, so independent) next to these two numbers.

With ``ppo``, a PPO agent is trained in ``execbench.learning``'s environment for each risk aversion λ,
on the training bars of the same market, under the same contract and impact model, with the same
objective: −IS against the arrival price, less λ·10⁻⁴ × its variance around the policy's running mean
(IS in bps, so AC's E[IS] + λ·Var[IS] in price units).  Its greedy policy is then replayed by the
engine on the same test orders as AC: does a model-free learner find the frontier AC derives?
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from execbench.analysis.inference import non_overlapping
from execbench.analysis.shortfall import shortfall
from execbench.contracts import scenario_grid
from execbench.engine import ImpactModel
from execbench.orders import DateSplit, build_order_windows, training_bars
from execbench.pipeline.evaluation import replay_strategy
from execbench.strategy import ac_trajectory, fit_strategy, load_strategy

PPO_LOOKBACK = 24  # bars the PPO agent observes on the frontier (its default)


# constant volatility and volume, bar price = the path's price: where Almgren-Chriss's closed form holds
FRONTIER_MARKET = {"xi": 0.0, "vol_sigma": 0.0, "vol_beta": 0.0, "u_amp": 0.0, "substeps": 1, "bars": 150_000}
FRONTIER_IMPACT = ImpactModel(eps=0.01, beta=1.0)  # linear temporary impact: the closed form's setting


def theory(trades: np.ndarray, eta: float, sigma: float) -> tuple[float, float]:
    """Expected IS and its std (bps) of a schedule under linear temporary impact."""
    remaining = 1.0 - np.concatenate([[0.0], np.cumsum(trades)[:-1]])
    return float(eta * (trades**2).sum() * 1e4), float(sigma * np.sqrt((remaining**2).sum()) * 1e4)


def efficient_frontier(bars: pd.DataFrame, *, split: DateSplit, horizon: int, order_size: float,
                       impact: ImpactModel, risk_aversions: list[float], ppo: dict | None = None,
                       on_ppo_iteration=None) -> pd.DataFrame:
    """Mean and std of IS (bps vs arrival, buy, quantity target, fixed horizon) of Almgren–Chriss for
    each risk aversion and of TWAP, measured by the replay with ``impact`` and from theory.

    Parameters
    ----------
    ppo
        If given (``train_ppo``'s configuration overrides, ``{}`` for its defaults), also a PPO agent
        trained for each risk aversion (see the module docstring), measured the same way.
    on_ppo_iteration
        Called as ``(risk_aversion, iteration, logs)`` during each PPO training.
    """
    grid = scenario_grid(horizon, sides=("buy",), benchmarks=("vwap",), targets=("quantity",), min_periods=(),
                         min_rate=0.0)
    windows = build_order_windows(bars, horizon, start=split.test_start, end=split.test_end, order_size=order_size)
    windows = windows.subset(non_overlapping(windows.asset_id, horizon))
    eta = max(impact.eps * order_size * horizon, 1e-12)
    linear = impact.beta == 1.0 and impact.gamma == 0.0
    train = training_bars(bars, split.train_end)
    rows = []
    strategies = [(f"AC λ={lam:g}", lam, fit_strategy(load_strategy("ac", risk_aversion=lam, eta=eta), train))
                  for lam in risk_aversions]
    strategies.append(("TWAP", np.nan, load_strategy("twap")))
    sigma = strategies[0][2].sigma
    for lam in risk_aversions if ppo is not None else []:
        progress = None if on_ppo_iteration is None else (lambda i, logs, lam=lam: on_ppo_iteration(lam, i, logs))
        strategies.append((f"PPO λ={lam:g}", lam, train_ppo_on_frontier(
            train, grid, horizon=horizon, order_size=order_size, impact=impact, risk_aversion=lam, config=ppo,
            on_iteration=progress)))
    for name, lam, strategy in strategies:
        family = name.split(" ")[0]
        result = replay_strategy(strategy, windows, grid, impact=impact, keep=())
        cost = shortfall(result)["is_bps"][:, 0]
        expected, risk = np.nan, np.nan  # the closed form: AC and TWAP under linear impact
        if linear and family != "PPO":
            trades = np.full(horizon, 1.0 / horizon) if family == "TWAP" else ac_trajectory(horizon, lam, eta, sigma)
            expected, risk = theory(trades, eta, sigma)
        rows.append({"strategy": name, "family": family, "risk_aversion": lam, "orders": int(np.isfinite(cost).sum()),
                     "mean IS": float(np.nanmean(cost)), "se mean": float(np.nanstd(cost, ddof=1) / np.sqrt(np.isfinite(cost).sum())),
                     "std IS": float(np.nanstd(cost, ddof=1)), "theory mean": expected, "theory std": risk})
    return pd.DataFrame(rows)


def train_ppo_on_frontier(train: pd.DataFrame, grid, *, horizon: int, order_size: float, impact: ImpactModel,
                          risk_aversion: float, config: dict | None = None, on_iteration=None):
    """A ``ppo`` strategy trained on ``train``'s orders of ``order_size`` under ``grid``'s one contract
    and ``impact``, rewarded by −IS against the arrival price less ``risk_aversion``·10⁻⁴ × its
    variance (AC's objective with IS in bps)."""
    from execbench.learning import EnvParams, ExecutionEnv, Market
    from execbench.learning.ppo import train_ppo

    env = ExecutionEnv(horizon, PPO_LOOKBACK)
    market = Market.from_bars(train, horizon, PPO_LOOKBACK, order_size=order_size)
    contract = EnvParams.from_spec(grid.specs[0], impact, risk_aversion=risk_aversion * 1e-4, arrival=True)
    agent = load_strategy("ppo", horizon=horizon, lookback_bars=PPO_LOOKBACK, checkpoint="none")
    trained_on = agent.trained_on_record(train, market.n_orders)
    return agent.use(train_ppo(env, market, [contract], config, on_iteration=on_iteration, trained_on=trained_on))


def cost_curve(strategy, bars: pd.DataFrame, *, split: DateSplit, horizon: int, impact: ImpactModel,
               sizes: list[float]) -> pd.DataFrame:
    """Mean implementation shortfall and its impact part (bps, positive = cost) of ``strategy`` against
    order size (fraction of the expected window volume), fixed-horizon buys and sells, quantity target."""
    grid = scenario_grid(horizon, benchmarks=("vwap",), targets=("quantity",), min_periods=())
    fit_strategy(strategy, training_bars(bars, split.train_end))
    rows = []
    for size in sizes:
        windows = build_order_windows(bars, horizon, start=split.test_start, end=split.test_end,
                                      min_history=max(1, strategy.lookback), order_size=size)
        parts = shortfall(replay_strategy(strategy, windows, grid, impact=impact))
        rows.append({"order size": size, "orders": len(windows), "mean IS": float(np.nanmean(parts["is_bps"])),
                     "impact": float(np.nanmean(parts["impact_bps"])),
                     "impact p95": float(np.nanpercentile(parts["impact_bps"], 95))})
    return pd.DataFrame(rows)
