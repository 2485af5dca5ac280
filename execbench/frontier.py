"""Almgren–Chriss under the replay's impact model: the measured cost/risk trade-off against theory.

With linear temporary impact (β = 1, γ = 0) and a constant bar volume V̄, trading a_t of an order of
Q = s·V̄·T units (s = ``order_size``) costs ε·ν_t = ε·a_t·s·T per unit in bar t, so the expected
impact cost is η·Σ a_t² with η = ε·s·T — Almgren–Chriss's temporary impact in units where the order
and the price are 1.  The strategy is given that η.  With fills at bar prices and the arrival price
the last price before the origin, Var(IS) = σ²·Σ_{k=0}^{T−1} x_k², x_k the fraction still to trade
before bar k+1 and σ the per-bar return volatility.  The table puts the measured mean and std of IS
(non-overlapping orders, so independent) next to these two numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from execbench.contracts import scenario_grid
from execbench.engine import ImpactModel
from execbench.evaluate import replay_strategy, training_bars
from execbench.inference import non_overlapping
from execbench.shortfall import shortfall
from execbench.windows import DateSplit, build_order_windows
from strategies.ac import AlmgrenChriss, ac_trajectory
from strategies.twap import TWAP


def theory(trades: np.ndarray, eta: float, sigma: float) -> tuple[float, float]:
    """Expected IS and its std (bps) of a schedule under linear temporary impact."""
    remaining = 1.0 - np.concatenate([[0.0], np.cumsum(trades)[:-1]])
    return float(eta * (trades**2).sum() * 1e4), float(sigma * np.sqrt((remaining**2).sum()) * 1e4)


def efficient_frontier(bars: pd.DataFrame, *, split: DateSplit, horizon: int, order_size: float,
                       impact: ImpactModel, risk_aversions: list[float]) -> pd.DataFrame:
    """Mean and std of IS (bps vs arrival, buy, quantity target, fixed horizon) of Almgren–Chriss for
    each risk aversion and of TWAP, measured by the replay with ``impact`` and from theory."""
    grid = scenario_grid(horizon, sides=("buy",), benchmarks=("vwap",), targets=("quantity",), min_periods=(),
                         min_rate=0.0)
    windows = build_order_windows(bars, horizon, start=split.test_start, end=split.test_end, order_size=order_size)
    windows = windows.subset(non_overlapping(windows.asset_id, horizon))
    eta = max(impact.eps * order_size * horizon, 1e-12)
    linear = impact.beta == 1.0 and impact.gamma == 0.0
    train = training_bars(bars, split.train_end)
    rows = []
    strategies = [(f"AC λ={lam:g}", lam, AlmgrenChriss(risk_aversion=lam, eta=eta).fit(train)) for lam in risk_aversions]
    strategies.append(("TWAP", np.nan, TWAP()))
    sigma = strategies[0][2].sigma
    for name, lam, strategy in strategies:
        result = replay_strategy(strategy, windows, grid, impact=impact, keep=())
        cost = shortfall(result)["is_bps"][:, 0]
        trades = np.full(horizon, 1.0 / horizon) if np.isnan(lam) else ac_trajectory(horizon, lam, eta, sigma)
        expected, risk = theory(trades, eta, sigma) if linear else (np.nan, np.nan)
        rows.append({"strategy": name, "risk_aversion": lam, "orders": int(np.isfinite(cost).sum()),
                     "mean IS": float(np.nanmean(cost)), "se mean": float(np.nanstd(cost, ddof=1) / np.sqrt(cost.size)),
                     "std IS": float(np.nanstd(cost, ddof=1)), "theory mean": expected, "theory std": risk})
    return pd.DataFrame(rows)


def frontier_figure(table: pd.DataFrame):
    """Expected cost against risk: measured AC points with their λ, the theoretical curve, TWAP."""
    from execbench.figures import PALETTE, plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ac = table[table["strategy"] != "TWAP"]
    twap = table[table["strategy"] == "TWAP"]
    if ac["theory mean"].notna().any():
        ax.plot(ac["theory std"], ac["theory mean"], color="grey", linestyle="--", label="AC theory")
    ax.errorbar(ac["std IS"], ac["mean IS"], yerr=1.96 * ac["se mean"], fmt="o", color=PALETTE[0], capsize=3,
                label="AC measured (95 % CI)")
    span = max(float(table["std IS"].max() - table["std IS"].min()), 1e-9)
    placed: list[float] = []
    for _, row in ac.iterrows():  # label the points that do not sit on top of each other
        if all(abs(row["std IS"] - x) > 0.04 * span for x in placed):
            ax.annotate(f"λ={row['risk_aversion']:g}", (row["std IS"], row["mean IS"]), textcoords="offset points",
                        xytext=(5, 4), fontsize=7)
            placed.append(row["std IS"])
    ax.errorbar(twap["std IS"], twap["mean IS"], yerr=1.96 * twap["se mean"], fmt="s", color=PALETTE[1], capsize=3,
                label="TWAP measured")
    ax.set_xlabel("risk: std of implementation shortfall (bps)")
    ax.set_ylabel("expected cost: mean implementation shortfall (bps)")
    ax.set_title("Almgren–Chriss efficient frontier under the replay's impact model", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def cost_curve(strategy, bars: pd.DataFrame, *, split: DateSplit, horizon: int, impact: ImpactModel,
               sizes: list[float]) -> pd.DataFrame:
    """Mean implementation shortfall and its impact part (bps, positive = cost) of ``strategy`` against
    order size (fraction of the expected window volume), fixed-horizon buys and sells, quantity target."""
    grid = scenario_grid(horizon, benchmarks=("vwap",), targets=("quantity",), min_periods=())
    strategy.fit(training_bars(bars, split.train_end))
    rows = []
    for size in sizes:
        windows = build_order_windows(bars, horizon, start=split.test_start, end=split.test_end,
                                      min_history=max(1, strategy.lookback), order_size=size)
        parts = shortfall(replay_strategy(strategy, windows, grid, impact=impact))
        rows.append({"order size": size, "orders": len(windows), "mean IS": float(np.nanmean(parts["is_bps"])),
                     "impact": float(np.nanmean(parts["impact_bps"])),
                     "impact p95": float(np.nanpercentile(parts["impact_bps"], 95))})
    return pd.DataFrame(rows)


def cost_curve_figure(table: pd.DataFrame, title: str):
    """Impact cost against order size (log x)."""
    from execbench.figures import PALETTE, plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(table["order size"], table["impact"], "o-", color=PALETTE[0], label="mean impact cost")
    ax.plot(table["order size"], table["impact p95"], "s--", color=PALETTE[1], label="95th percentile")
    ax.set_xscale("log")
    ax.set_xlabel("order size (fraction of the expected window volume)")
    ax.set_ylabel("impact cost (bps of arrival price)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
