"""Figures from a run's results (matplotlib + seaborn; saved as PNG and vector PDF)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # headless everywhere but in a notebook, which shows figures inline
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from execbench.analysis.stats import binned_kde  # noqa: E402
from execbench.contracts import MATCH, SIDES, period_row, period_short, scenario_label  # noqa: E402
from execbench.results import RunData  # noqa: E402

BPS_AXIS = "slippage, bps: (achieved / benchmark − 1)·1e4"
DENSITY_POINTS = 400
PALETTE = sns.color_palette("colorblind")
sns.set_theme(style="whitegrid", context="paper")


def _clip_range(arrays: list[np.ndarray]) -> tuple[float, float]:
    pooled = np.concatenate([a[np.isfinite(a)] for a in arrays])
    low, high = np.percentile(pooled, [0.5, 99.5])
    pad = 0.05 * (high - low)
    return float(low - pad), float(high + pad)


def density_line(ax, values: np.ndarray, **style) -> None:
    """A Gaussian KDE of ``values`` (Scott's bandwidth × 0.8) over their range, as seaborn's
    ``kdeplot(bw_adjust=0.8, cut=0)`` draws it, binned (``analysis.stats.binned_kde``): every order
    counts, in a millisecond where the exact sum took a tenth of a second per curve."""
    if values.size < 2 or np.ptp(values) == 0:
        return
    grid = np.linspace(values.min(), values.max(), DENSITY_POINTS)
    ax.plot(grid, binned_kde(values, grid, bw_adjust=0.8), **style)


def slippage_density(run: RunData, period: int | str, *, benchmark: str = "vwap", target: str = "quantity"):
    """Density of the strategy's slippage at one minimum period against the TWAP baselines (TWAP
    volume and notional against the full-horizon VWAP), buy and sell side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    shown = period_short(period)
    for ax, side in zip(axes, SIDES, strict=True):
        values = run.column("bps", scenario_label(side, benchmark, target, period))
        series = [(f"{run.strategy.upper()} {side} ({shown})", values, PALETTE[0], "-"),
                  ("TWAP volume (full horizon)", run.baseline_bps[:, 0], PALETTE[1], "--"),
                  ("TWAP notional (full horizon)", run.baseline_bps[:, 1], PALETTE[2], ":")]
        low, high = _clip_range([s[1] for s in series])
        for name, data, color, style in series:
            data = data[np.isfinite(data) & (data >= low) & (data <= high)]
            density_line(ax, data, label=name, color=color, linestyle=style)
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_xlim(low, high)
        ax.set_xlabel(BPS_AXIS)
        ax.set_title(f"{side.upper()}: {benchmark.upper()} benchmark, {target} target, minimum period {shown}")
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("density")
    fig.suptitle(f"{run.strategy.upper()}: slippage distribution vs TWAP baselines "
                 f"(buy: left of 0 is better; sell: right of 0 is better)", fontsize=10)
    fig.tight_layout()
    return fig


def execution_curves(run: RunData, periods: list[int | str], *, target: str = "quantity"):
    """Cumulative fraction of the order executed by bar: median with 10–90 % and 25–75 % bands,
    per side (rows) and minimum period (columns), VWAP-benchmark scenarios."""
    if run.allocations is None:
        raise ValueError(f"{run.strategy}: no allocations were kept, so no execution curves")
    fig, axes = plt.subplots(2, len(periods), figsize=(2.6 * len(periods) + 1, 5.2), sharex=True, sharey=True,
                             squeeze=False)
    bars = np.arange(0, run.horizon + 1)
    twap = bars / run.horizon
    for r, side in enumerate(SIDES):
        for c, period in enumerate(periods):
            ax = axes[r, c]
            label = scenario_label(side, "vwap", target, period)
            k = run.kept.index(label)
            cumulative = np.concatenate([np.zeros((run.allocations.shape[0], 1)),
                                         np.cumsum(run.allocations[:, :, k], axis=1)], axis=1)
            q10, q25, q50, q75, q90 = np.percentile(cumulative, [10, 25, 50, 75, 90], axis=0)
            ax.fill_between(bars, q10, q90, color=PALETTE[0], alpha=0.15, label="10–90 %")
            ax.fill_between(bars, q25, q75, color=PALETTE[0], alpha=0.3, label="25–75 %")
            ax.plot(bars, q50, color=PALETTE[0], label="median")
            ax.plot(bars, twap, color="grey", linestyle="--", linewidth=0.8, label="TWAP")
            if period != "match":
                ax.axvline(period, color=PALETTE[3], linestyle=":", linewidth=0.8, label="minimum period")
            ax.set_title(f"{side.upper()}, {period_short(period)}", fontsize=9)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if r == 1:
                ax.set_xlabel("bar")
            if c == 0:
                ax.set_ylabel("fraction executed")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{run.strategy.upper()}: cumulative execution ({target} target, VWAP benchmark)", fontsize=10)
    _margins(fig, left=0.6, right=0.1, bottom=0.45, top=0.55, wspace=0.08, hspace=0.22)
    return fig


def _margins(fig, *, left: float, right: float, bottom: float, top: float, wspace: float, hspace: float) -> None:
    """Fixed margins in inches, for a grid of panels whose labels are known in advance: ``tight_layout``
    measures every tick label and took 0.5 s of the 1.3 s the ten-panel execution curves cost."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                        wspace=wspace, hspace=hspace)


def mean_by_period(ci: pd.DataFrame, strategy: str, *, benchmark: str = "vwap", target: str = "quantity"):
    """Mean bps with 95 % block-bootstrap CIs against the minimum period, per side (from ``ci_table``)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    rows = ci[ci["Order"].str.startswith(strategy.upper())]
    for offset, (side, color) in zip((-0.1, 0.1), ((" BUY", PALETTE[0]), (" SELL", PALETTE[1])), strict=True):
        part = rows[rows["Order"].str.endswith(side)]
        x = np.arange(len(part)) + offset
        ax.errorbar(x, part["Mean"], yerr=[part["Mean"] - part["Mean lo"], part["Mean hi"] - part["Mean"]],
                    fmt="o", color=color, capsize=3, label=side.strip())
        ax.set_xticks(np.arange(len(part)), part["Min period"].str.replace(period_row(MATCH, benchmark), MATCH))
    base = ci[ci["Order"] == "TWAP Volume"]
    if len(base):
        ax.axhline(float(base["Mean"].iloc[0]), color="grey", linestyle="--", linewidth=0.8,
                   label="TWAP volume, full horizon")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("minimum period (bars)")
    ax.set_ylabel("mean slippage, bps (paper sign)")
    ax.set_title(f"{strategy.upper()}: effect of time flexibility ({benchmark.upper()} benchmark, {target} target; "
                 f"95 % block-bootstrap CIs)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def option_decomposition(edges: pd.DataFrame, *, benchmark: str = "vwap", target: str = "quantity",
                         note: str = ""):
    """Per side, against the minimum period: each strategy's edge against the realised window (solid,
    95 % CI band) and against the full window (dotted), and the option's value (what optstop earns on
    the same orders, grey dashed with its CI band); from ``decomposition.edge_table``.  ``note`` is
    printed above the panels."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.6 if note else 4), sharey=True)
    flexible = edges[edges["Min period"] != "Match"]
    for ax, side in zip(axes, ("BUY", "SELL"), strict=True):
        rows = flexible[flexible["Side"] == side]
        for k, (name, part) in enumerate(rows.groupby("Strategy", sort=False)):
            x = part["Min period"].astype(int).to_numpy()
            color = PALETTE[k % len(PALETTE)]
            ax.plot(x, part["vs realised"], "o-", color=color, label=f"{name}: vs realised window")
            ax.fill_between(x, part["vs realised lo"], part["vs realised hi"], color=color, alpha=0.15, linewidth=0)
            ax.plot(x, part["vs full"], ":", color=color, label=f"{name}: vs full window")
        option = rows.drop_duplicates("Min period")
        x = option["Min period"].astype(int).to_numpy()
        ax.plot(x, option["Option"], "--", color="black", linewidth=1.6, label="option value (optstop, no information)")
        ax.fill_between(x, option["Option lo"], option["Option hi"], color="grey", alpha=0.2, linewidth=0)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("minimum period m (bars)")
        ax.set_title(f"{side}: {benchmark.upper()} benchmark, {target} target", fontsize=9)
    axes[0].set_ylabel("mean edge, perf_bps (positive = better)")
    axes[1].legend(fontsize=6.5, loc="upper right")
    fig.suptitle("What flexibility is worth: the edge above the dashed line needs information", fontsize=10)
    if note:
        fig.tight_layout(rect=(0, 0, 1, 0.72))
        fig.text(0.04, 0.9, "\n".join(textwrap.wrap(note, 150)), fontsize=7.5, va="top")
    else:
        fig.tight_layout()
    return fig


def breakdown(run: RunData, by: str, periods: list[int | str], *, benchmark: str = "vwap", target: str = "quantity"):
    """Mean perf_bps (positive = better) by asset or by year, per side, at the chosen minimum periods."""
    keys = run.orders["asset"].to_numpy() if by == "asset" else run.orders["origin"].dt.year.to_numpy()
    records = []
    for side in SIDES:
        for period in periods:
            values = run.column("perf_bps", scenario_label(side, benchmark, target, period))
            frame = pd.DataFrame({"key": keys, "perf": values}).groupby("key")["perf"].mean()
            for key, mean in frame.items():
                records.append({by: str(key), "scenario": f"{side} {period_short(period)}",
                                "mean perf_bps": mean})
    data = pd.DataFrame(records)
    groups = data[by].nunique()
    horizontal = groups > 12  # many assets: one row per asset keeps the labels readable
    if horizontal:
        fig, ax = plt.subplots(figsize=(9, 1.5 + 0.4 * groups))
        sns.barplot(data=data, y=by, x="mean perf_bps", hue="scenario", ax=ax, palette="colorblind", orient="h")
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_xlabel("mean perf_bps (positive = better than benchmark)")
    else:
        fig, ax = plt.subplots(figsize=(max(6, 0.45 * groups * len(periods) + 3), 4))
        sns.barplot(data=data, x=by, y="mean perf_bps", hue="scenario", ax=ax, palette="colorblind")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_ylabel("mean perf_bps (positive = better than benchmark)")
    ax.set_title(f"{run.strategy.upper()}: by {by} ({benchmark.upper()} benchmark, {target} target)", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def strategies_density(runs: dict[str, RunData], period: int | str, side: str, *, benchmark: str = "vwap",
                       target: str = "quantity"):
    """Slippage densities of several strategies on the same orders, one side, one minimum period."""
    fig, ax = plt.subplots(figsize=(8, 4))
    label = scenario_label(side, benchmark, target, period)
    arrays = {name: run.column("bps", label) for name, run in runs.items()}
    low, high = _clip_range(list(arrays.values()))
    for (name, values), color in zip(arrays.items(), PALETTE, strict=False):
        values = values[np.isfinite(values) & (values >= low) & (values <= high)]
        density_line(ax, values, label=name, color=color)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlim(low, high)
    ax.set_xlabel(BPS_AXIS)
    ax.set_ylabel("density")
    shown = period_short(period)
    ax.set_title(f"{side.upper()}, {benchmark.upper()} benchmark, {target} target, {shown}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save_figure(fig, out_dir: Path, stem: str) -> list[Path]:
    """Save ``fig`` as ``stem.png`` (150 dpi) and ``stem.pdf`` (vector) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.pdf"]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    return paths


def frontier_figure(table: pd.DataFrame):
    """Expected cost against risk: measured AC points with their λ, the theoretical curve, TWAP, and
    the PPO agents trained for each λ when the table has them."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    family = table["family"] if "family" in table else table["strategy"].str.split(" ").str[0]
    ac, twap, ppo = table[family == "AC"], table[family == "TWAP"], table[family == "PPO"]
    if ac["theory mean"].notna().any():
        ax.plot(ac["theory std"], ac["theory mean"], color="grey", linestyle="--", label="AC theory")
    ax.errorbar(ac["std IS"], ac["mean IS"], yerr=1.96 * ac["se mean"], fmt="o", color=PALETTE[0], capsize=3,
                label="AC measured (95 % CI)")
    span = max(float(table["std IS"].max() - table["std IS"].min()), 1e-9)
    _label_lambdas(ax, ac, span, (5, 4), "black")
    ax.errorbar(twap["std IS"], twap["mean IS"], yerr=1.96 * twap["se mean"], fmt="s", color=PALETTE[1], capsize=3,
                label="TWAP measured")
    if len(ppo):
        ax.errorbar(ppo["std IS"], ppo["mean IS"], yerr=1.96 * ppo["se mean"], fmt="D", color=PALETTE[2], capsize=3,
                    label="PPO trained for each λ (95 % CI)")
        _label_lambdas(ax, ppo, span, (5, -10), PALETTE[2])
    ax.set_xlabel("risk: std of implementation shortfall (bps)")
    ax.set_ylabel("expected cost: mean implementation shortfall (bps)")
    ax.set_title("Almgren–Chriss efficient frontier under the replay's impact model"
                 + (", and PPO" if len(ppo) else ""), fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _label_lambdas(ax, rows: pd.DataFrame, span: float, offset: tuple[int, int], color) -> None:
    """Label points with their λ; of points that sit on top of each other (closer than 4 % of the
    x span, in x and y), only the first."""
    yspan = max(float(rows["mean IS"].max() - rows["mean IS"].min()), 1e-9) if len(rows) else 1.0
    placed: list[tuple[float, float]] = []
    for _, row in rows.iterrows():
        x, y = row["std IS"], row["mean IS"]
        if all(abs(x - px) > 0.04 * span or abs(y - py) > 0.04 * yspan for px, py in placed):
            ax.annotate(f"λ={row['risk_aversion']:g}", (x, y), textcoords="offset points", xytext=offset, fontsize=7,
                        color=color)
            placed.append((x, y))


def cost_curve_figure(table: pd.DataFrame, title: str):
    """Impact cost against order size (log x)."""
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
