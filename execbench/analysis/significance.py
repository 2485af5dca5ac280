"""Tables of statistics with block-bootstrap confidence intervals and paired tests, from ``RunData``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from execbench.analysis.inference import (
    DEFAULT_REPS,
    block_length,
    bootstrap_ci,
    bootstrap_indices,
    holm,
    non_overlapping,
    paired_comparison,
)
from execbench.analysis.stats import summarize
from execbench.contracts import SIDES, all_periods, hit_rate, period_name, period_row, perf_bps, scenario_label
from execbench.results import RunData


def _bootstrap(run: RunData, reps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = run.time_order()
    n_assets = run.orders["asset"].nunique()
    return order, bootstrap_indices(order.size, block_length(run.horizon, n_assets), reps, seed)


def ci_table(run: RunData, *, benchmark: str = "vwap", target: str = "quantity", reps: int = DEFAULT_REPS,
             seed: int = 0, periods: list[int | str] | None = None) -> pd.DataFrame:
    """Per side × minimum period (and the TWAP baselines): N, mean and median of bps (paper sign)
    with 95 % stationary-block-bootstrap CIs, std, hit rate (share of orders beating the benchmark)
    and mean/std.  ``periods`` limits the minimum periods shown (default 1..T and match)."""
    order, indices = _bootstrap(run, reps, seed)
    rows = []

    def row(name: str, period: str, values: np.ndarray, perf: np.ndarray) -> dict:
        x = values[order]
        mean = bootstrap_ci(x, indices, "mean")
        median = bootstrap_ci(x, indices, "median")
        base = summarize(values)
        return {"Order": name, "Min period": period, "N": base["N"],
                "Mean": mean.estimate, "Mean lo": mean.low, "Mean hi": mean.high,
                "Median": median.estimate, "Median lo": median.low, "Median hi": median.high,
                "Std": base["Std"], "Hit rate": hit_rate(perf),
                "Mean/Std": base["Mean"] / base["Std"] if base["Std"] else np.nan}

    for k, name in enumerate(("TWAP Volume", "TWAP Notional")):
        values = run.baseline_bps[:, k]
        rows.append(row(name, "All", values, perf_bps(values[:, None], np.ones(1))[:, 0]))  # buy view
    for side in SIDES:
        for period in periods or all_periods(run.horizon):
            label = scenario_label(side, benchmark, target, period)
            shown = period_row(period, benchmark)
            rows.append(row(f"{run.strategy.upper()} {side.upper()}", shown, run.column("bps", label),
                            run.column("perf_bps", label)))
    return pd.DataFrame(rows)


def paired_table(runs: dict[str, RunData], *, reference: str = "twap", periods: list[int | str],
                 benchmark: str = "vwap", target: str = "quantity", reps: int = DEFAULT_REPS,
                 seed: int = 0) -> pd.DataFrame:
    """Each strategy minus ``reference`` on the same orders, per side and chosen minimum period:
    mean difference of perf_bps (positive = better than the reference) with a block-bootstrap CI,
    the Wilcoxon signed-rank p-value on non-overlapping orders, and Holm-adjusted p-values over
    every comparison in the table (family-wise error control for comparing several strategies
    with the reference)."""
    if reference not in runs:
        raise KeyError(f"paired_table: reference strategy {reference!r} is not among {list(runs)}")
    ref = runs[reference]
    order, indices = _bootstrap(ref, reps, seed)
    assets = ref.orders["asset"].to_numpy()[order]
    independent = non_overlapping(assets, ref.horizon)
    rows = []
    for name, run in runs.items():
        if name == reference:
            continue
        if not (run.orders["origin"].to_numpy() == ref.orders["origin"].to_numpy()).all():
            raise ValueError(f"paired_table: {name!r} and {reference!r} were not evaluated on the same orders")
        for side in SIDES:
            for period in periods:
                label = scenario_label(side, benchmark, target, period)
                test = paired_comparison(run.column("perf_bps", label)[order], ref.column("perf_bps", label)[order],
                                         indices, independent)
                rows.append({"Strategy": name, "vs": reference, "Side": side.upper(),
                             "Min period": period_name(period).removeprefix("m="),
                             "Mean diff": test.mean_difference.estimate, "CI lo": test.mean_difference.low,
                             "CI hi": test.mean_difference.high, "Wilcoxon p": test.wilcoxon_p,
                             "N independent": test.n_independent})
    table = pd.DataFrame(rows)
    if len(table):
        table["Holm p"] = holm(table["Wilcoxon p"].to_numpy())
    return table
