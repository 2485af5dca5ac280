"""Tables in the paper's format, the per-minimum-period comparison, per-scenario statistics and
breakdowns, as DataFrames (``reporting/writers.py`` writes them as CSV, Markdown and LaTeX)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from execbench.analysis.stats import PAPER_COLUMNS, QUANTILES, percentiles, statistic, summarize
from execbench.engine.replay.columns import Columns
from execbench.errors import ParameterError
from execbench.contracts import (
    BENCHMARKS,
    SIDES,
    TARGETS,
    Period,
    all_periods,
    default_periods,
    TIE_BPS,
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
                target: str = "quantity", scenarios: pd.DataFrame | None = None) -> pd.DataFrame:
    """The paper's results table, in bps with the paper's sign ``(achieved / benchmark − 1)·1e4``.

    Rows: ``TWAP Notional / All`` and ``TWAP Volume / All`` (TWAP against the VWAP over the full
    horizon; identical for buys and sells), then for ``strategy`` BUY and SELL rows for each minimum
    period 1..T and the fixed-horizon match case, against ``benchmark`` with ``target``.  ``scenarios``,
    ``scenario_table(result)`` if already computed, supplies the strategy's rows (the same numbers).
    """
    horizon = result.grid.horizon
    rows = []
    read = None if scenarios is None else _summaries(scenarios, result, PAPER_COLUMNS)
    for tgt in ("notional", "quantity"):
        stats = summarize(baseline.column("bps", scenario_label("buy", "vwap", tgt, "match")))
        rows.append({"Order": f"TWAP {TARGET_NAMES[tgt]}", "Min period": "All", **stats})
    for side in SIDES:
        for period in all_periods(horizon):
            label = scenario_label(side, benchmark, target, period)
            if label not in result.grid.labels:
                continue
            shown = period_row(period, benchmark)
            stats = summarize(result.column("bps", label)) if read is None else read[label]
            rows.append({"Order": f"{strategy} {side.upper()}", "Min period": shown, **stats})
    return pd.DataFrame(rows, columns=["Order", "Min period", *PAPER_COLUMNS])


def min_period_table(result: ReplayResult, *, stat: str = "Mean",
                     scenarios: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per minimum period (and Match), one column per {buy, sell} × {VWAP, TWAP} ×
    {volume, notional} scenario; cells are ``stat`` of bps (paper sign).  ``scenarios``,
    ``scenario_table(result)`` if already computed, supplies them (the same numbers)."""
    horizon = result.grid.horizon
    periods = all_periods(horizon)
    data: dict[str, list[float]] = {}
    known = scenarios is not None and stat in PAPER_COLUMNS  # an unknown stat: statistic's error below
    read = _summaries(scenarios, result, (stat,)) if known else None
    for side in SIDES:
        for bench in BENCHMARKS:
            for target in TARGETS:
                column = f"{side.capitalize()} {bench.upper()} {TARGET_NAMES[target]}"
                values = []
                for period in periods:
                    label = scenario_label(side, bench, target, period)
                    if label not in result.grid.labels:
                        values.append(np.nan)
                    elif read is None:
                        values.append(statistic(result.column("bps", label), stat))
                    else:
                        values.append(read[label][stat])
                data[column] = values
    index = pd.Index([period_name(p).removeprefix("m=") for p in periods], name="Min period")
    return pd.DataFrame(data, index=index).dropna(how="all")


def _summaries(scenarios: pd.DataFrame, result: ReplayResult, stats: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """``summarize`` of every scenario's bps (only ``stats``), by label, read from ``scenario_table(result)``'s
    rows (a table of other scenarios or orders is refused)."""
    needed = {"scenario", "undefined_benchmark", *(f"bps_{stat}" for stat in PAPER_COLUMNS)}
    if (not needed <= set(scenarios.columns) or scenarios["scenario"].tolist() != list(result.grid.labels)
            or ((scenarios["bps_N"] + scenarios["undefined_benchmark"]) != result.n_orders).any()):
        raise ValueError("scenarios: expected scenario_table(result) of this result (its scenarios, its orders)")
    columns = {stat: scenarios[f"bps_{stat}"].to_numpy() for stat in stats}
    return {label: {stat: int(columns[stat][i]) if stat == "N" else float(columns[stat][i]) for stat in stats}
            for i, label in enumerate(scenarios["scenario"])}


SCENARIO_BLOCK_BYTES = 16 * 2**20  # bps of a block of scenarios (float64 (k, n)); with the other fields and copies ~5x


def scenario_table(result: ReplayResult) -> pd.DataFrame:
    """Every scenario: the paper's statistics of bps, mean ``perf_bps`` (positive = better), hit
    rate, mean realised window length, share of orders with a constraint violation, P95 of the
    maximum participation, and the number of orders with an undefined benchmark.

    Scenarios are read a block at a time (``SCENARIO_BLOCK_BYTES``).  Those whose bps are all finite are
    summarised together, each scenario a contiguous row reduced along its own axis, which adds in the
    same order as ``summarize`` on that column alone (the same numbers, bit for bit; tests hold it); any
    other scenario goes through ``summarize``."""
    n, n_scen = result.n_orders, len(result.grid)
    step = max(1, SCENARIO_BLOCK_BYTES // max(1, 8 * n))
    rows: list[dict] = []
    for first in range(0, n_scen, step):
        rows += _scenario_rows(result, np.arange(first, min(first + step, n_scen)))
    return pd.DataFrame(rows)


def _by_scenario(values: np.ndarray | Columns, picked: np.ndarray) -> np.ndarray:
    """The scenarios ``picked`` of an (n, S) field as a C-ordered (k, n) array: one row per scenario."""
    if isinstance(values, Columns):
        return np.stack([values.column(int(s)) for s in picked]) if len(picked) else np.zeros((0, values.shape[0]))
    return values.T[picked]  # rows gathered from the (S, n) view: one pass, C-ordered


def _scenario_rows(result: ReplayResult, picked: np.ndarray) -> list[dict]:
    grid = result.grid
    bps = _by_scenario(result.bps, picked).astype(np.float64, copy=False)
    end_bar = _by_scenario(result.end_bar, picked)
    violated = _by_scenario(result.violations, picked) > 0
    participation_p95 = np.percentile(_by_scenario(result.max_participation, picked), 95, axis=1)
    whole = np.flatnonzero(np.isfinite(bps).all(axis=1)) if bps.shape[1] else np.zeros(0, dtype=np.int64)
    stats: dict[int, dict] = {}
    if whole.size:
        x = bps[whole]
        n = x.shape[1]
        quantiles = percentiles(x, list(QUANTILES.values()), axis=1)
        mean, std = x.mean(axis=1), x.std(axis=1, ddof=1) if n > 1 else np.full(len(whole), np.nan)
        perf = np.ascontiguousarray(perf_bps(x.T, grid.side_sign[picked[whole]]).T)  # rows reduced as ``x``'s
        perf_mean, hits = perf.mean(axis=1), (perf > TIE_BPS).mean(axis=1)
        end_mean = end_bar[whole].mean(axis=1)
        for j, i in enumerate(whole):
            stats[int(i)] = {"bps_N": int(n), "bps_Mean": float(mean[j]), "bps_Std": float(std[j]),
                             **{f"bps_{c}": float(quantiles[k, j]) for k, c in enumerate(QUANTILES)},
                             "perf_bps_mean": float(perf_mean[j]), "hit_rate": float(hits[j]),
                             "mean_end_bar": float(end_mean[j]), "undefined_benchmark": 0}
    rows = []
    for i, s in enumerate(picked):
        spec = grid.specs[s]
        row = stats.get(i) or _scenario_stats(bps[i], end_bar[i], grid.side_sign[s:s + 1])
        rows.append({
            "scenario": spec.label, "side": spec.side, "benchmark": spec.benchmark, "target": spec.target,
            "min_period": spec.min_period, "match": spec.match,
            **{f"bps_{k}": row[f"bps_{k}"] for k in PAPER_COLUMNS},
            "perf_bps_mean": row["perf_bps_mean"], "hit_rate": row["hit_rate"], "mean_end_bar": row["mean_end_bar"],
            "violation_share": float(violated[i].mean()),
            "max_participation_p95": float(participation_p95[i]),
            "undefined_benchmark": row["undefined_benchmark"],
        })
    return rows


def _scenario_stats(bps: np.ndarray, end_bar: np.ndarray, side_sign: np.ndarray) -> dict:
    """One scenario's statistics of bps, leaving out the orders whose benchmark is undefined."""
    ok = np.isfinite(bps)  # ``valid()``
    perf = perf_bps(bps[:, None], side_sign)[ok, 0]
    return {**{f"bps_{k}": v for k, v in summarize(bps).items()},
            "perf_bps_mean": float(perf.mean()) if perf.size else np.nan,
            "hit_rate": hit_rate(perf),
            "mean_end_bar": float(end_bar[ok].mean()) if perf.size else np.nan,
            "undefined_benchmark": int((~ok).sum())}


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
