"""Tables in the paper's format, the per-minimum-period comparison, per-scenario statistics and
breakdowns, as DataFrames (``reporting/writers.py`` writes them as CSV, Markdown and LaTeX)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from execbench.analysis.stats import PAPER_COLUMNS, statistic, summarize
from execbench.errors import ParameterError
from execbench.contracts import (
    BENCHMARKS,
    SIDES,
    TARGETS,
    Period,
    all_periods,
    default_periods,
    hit_rate,
    perf_bps,
    period_name,
    period_row,
    scenario_label,
)
from execbench.results import ReplayResult

TARGET_NAMES = {"quantity": "Volume", "notional": "Notional"}
BREAKDOWNS = ("regime", "asset", "year")


def paper_table(result: ReplayResult, baseline: ReplayResult, *, strategy: str, benchmark: str = "vwap",
                target: str = "quantity") -> pd.DataFrame:
    """The paper's results table, in bps with the paper's sign ``(achieved / benchmark − 1)·1e4``.

    Rows: ``TWAP Notional / All`` and ``TWAP Volume / All`` (TWAP against the VWAP over the full
    horizon; identical for buys and sells), then for ``strategy`` BUY and SELL rows for each minimum
    period 1..T and the fixed-horizon match case, against ``benchmark`` with ``target``.
    """
    horizon = result.grid.horizon
    rows = []
    for tgt in ("notional", "quantity"):
        stats = summarize(baseline.column("bps", scenario_label("buy", "vwap", tgt, "match")))
        rows.append({"Order": f"TWAP {TARGET_NAMES[tgt]}", "Min period": "All", **stats})
    for side in SIDES:
        for period in all_periods(horizon):
            label = scenario_label(side, benchmark, target, period)
            if label not in result.grid.labels:
                continue
            shown = period_row(period, benchmark)
            rows.append({"Order": f"{strategy} {side.upper()}", "Min period": shown,
                         **summarize(result.column("bps", label))})
    return pd.DataFrame(rows, columns=["Order", "Min period", *PAPER_COLUMNS])


def min_period_table(result: ReplayResult, *, stat: str = "Mean") -> pd.DataFrame:
    """One row per minimum period (and Match), one column per {buy, sell} × {VWAP, TWAP} ×
    {volume, notional} scenario; cells are ``stat`` of bps (paper sign)."""
    horizon = result.grid.horizon
    periods = all_periods(horizon)
    data: dict[str, list[float]] = {}
    for side in SIDES:
        for bench in BENCHMARKS:
            for target in TARGETS:
                column = f"{side.capitalize()} {bench.upper()} {TARGET_NAMES[target]}"
                values = []
                for period in periods:
                    label = scenario_label(side, bench, target, period)
                    values.append(statistic(result.column("bps", label), stat) if label in result.grid.labels
                                  else np.nan)
                data[column] = values
    index = pd.Index([period_name(p).removeprefix("m=") for p in periods], name="Min period")
    return pd.DataFrame(data, index=index).dropna(how="all")


def scenario_table(result: ReplayResult) -> pd.DataFrame:
    """Every scenario: the paper's statistics of bps, mean ``perf_bps`` (positive = better), hit
    rate, mean realised window length, share of orders with a constraint violation, P95 of the
    maximum participation, and the number of orders with an undefined benchmark."""
    rows = []
    for s, spec in enumerate(result.grid.specs):  # each field's column read once (results on disk: one read)
        bps = result.column("bps", spec.label)
        ok = np.isfinite(bps)  # ``valid()``
        perf = perf_bps(bps[:, None], result.grid.side_sign[s:s + 1])[ok, 0]
        rows.append({
            "scenario": spec.label, "side": spec.side, "benchmark": spec.benchmark, "target": spec.target,
            "min_period": spec.min_period, "match": spec.match,
            **{f"bps_{k}": v for k, v in summarize(bps).items()},
            "perf_bps_mean": float(perf.mean()) if perf.size else np.nan,
            "hit_rate": hit_rate(perf),
            "mean_end_bar": float(result.column("end_bar", spec.label)[ok].mean()) if perf.size else np.nan,
            "violation_share": float((result.column("violations", spec.label) > 0).mean()),
            "max_participation_p95": float(np.percentile(result.column("max_participation", spec.label), 95)),
            "undefined_benchmark": int((~ok).sum()),
        })
    return pd.DataFrame(rows)


def comparison_table(results: dict[str, ReplayResult], *, periods: list[Period] | None = None,
                     benchmark: str = "vwap", target: str = "quantity") -> pd.DataFrame:
    """One row per strategy × side: N, mean bps (paper sign) at each chosen minimum period
    (``"match"`` for the fixed-horizon case; default 1, T/2, T and match), and the std of the match
    case (tracking risk)."""
    rows = []
    for name, result in results.items():
        shown = periods or default_periods(result.grid.horizon)
        for side in SIDES:
            row: dict[str, object] = {"Strategy": name, "Side": side.upper()}
            labels = [scenario_label(side, benchmark, target, p) for p in shown]
            present = [label for label in labels if label in result.grid.labels]
            row["N"] = statistic(result.column("bps", present[0]), "N") if present else 0
            for period, label in zip(shown, labels):
                column = f"{period_name(period)} mean"
                row[column] = statistic(result.column("bps", label), "Mean") if label in result.grid.labels else np.nan
            match = scenario_label(side, benchmark, target, "match")
            row["Match std"] = statistic(result.column("bps", match), "Std") if match in result.grid.labels else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def breakdown_table(result: ReplayResult, by: str, *, periods: list[int | str], benchmark: str = "vwap",
                    target: str = "quantity") -> pd.DataFrame:
    """Mean bps (paper sign) and N per group × side at the chosen minimum periods; ``by`` is
    ``"regime"`` (causal volatility regime at the origin), ``"asset"`` or ``"year"`` (of the origin)."""
    orders = result.orders
    if by == "year":
        keys = orders["origin"].dt.year.to_numpy()
    elif by in orders.columns:
        keys = orders[by].to_numpy()
    else:
        raise ParameterError(f"breakdown {by!r}: expected one of {', '.join(BREAKDOWNS)}")
    rows = []
    for key in sorted(pd.unique(keys), key=str):
        mask = keys == key
        for side in SIDES:
            row: dict[str, object] = {by.capitalize(): key, "Side": side.upper(), "N": int(mask.sum())}
            for period in periods:
                label = scenario_label(side, benchmark, target, period)
                values = result.column("bps", label)[mask]
                name = period_name(period)
                row[f"{name} mean"] = float(np.nanmean(values))
                row[f"{name} std"] = float(np.nanstd(values, ddof=1)) if values.size > 1 else np.nan
            rows.append(row)
    return pd.DataFrame(rows)
