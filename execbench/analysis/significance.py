"""Tables of statistics with date-block-bootstrap confidence intervals, HAC standard errors and paired
tests of the mean, from ``RunData`` (see ``execbench.analysis.inference``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from execbench.analysis.inference import (DEFAULT_REPS, DateBlocks, holm, mean_inference, mean_inferences,
                                          median_interval, paired_difference)
from execbench.analysis.stats import summarize
from execbench.contracts import SIDES, all_periods, hit_rate, period_name, period_row, perf_bps, scenario_label
from execbench.results import RunData


def date_blocks(run: RunData, reps: int = DEFAULT_REPS, seed: int = 0) -> DateBlocks:
    """The run's orders grouped by origin date, all assets together."""
    return DateBlocks.from_dates(run.orders["origin"].to_numpy("datetime64[ns]"), run.horizon, reps=reps, seed=seed)


def ci_table(run: RunData, *, benchmark: str = "vwap", target: str = "quantity", reps: int = DEFAULT_REPS,
             seed: int = 0, periods: list[int | str] | None = None) -> pd.DataFrame:
    """Per side × minimum period (and the TWAP baselines): N, mean of bps (paper sign) with its 95 %
    date-block-bootstrap CI, its bootstrap and HAC standard errors and the block length (dates) chosen
    from the data; the median with its CI; std, hit rate (share of orders beating the benchmark) and
    mean/std.  ``periods`` limits the minimum periods shown (default 1..T and match)."""
    blocks = date_blocks(run, reps, seed)
    wanted = []  # (order, min period, bps, perf_bps): functions, so that a run on disk is read a column at a time
    for k, name in enumerate(("TWAP Volume", "TWAP Notional")):
        wanted.append((name, "All", lambda k=k: run.baseline_bps[:, k],  # the buy view:
                       lambda k=k: perf_bps(run.baseline_bps[:, k][:, None], np.ones(1))[:, 0]))
    for side in SIDES:
        for period in periods or all_periods(run.horizon):
            label = scenario_label(side, benchmark, target, period)
            wanted.append((f"{run.strategy.upper()} {side.upper()}", period_row(period, benchmark),
                           lambda label=label: run.column("bps", label), lambda label=label: run.column("perf_bps", label)))
    means = mean_inferences([values for _, _, values, _ in wanted], blocks)
    rows = []
    for (name, period, read_values, read_perf), mean in zip(wanted, means, strict=True):
        values, perf = read_values(), read_perf()
        median = median_interval(values, blocks, mean.block)
        base = summarize(values)
        rows.append({"Order": name, "Min period": period, "N": base["N"],
                     "Mean": mean.mean.estimate, "Mean lo": mean.mean.low, "Mean hi": mean.mean.high,
                     "SE boot": mean.se_boot, "SE HAC": mean.se_hac, "Block": mean.block,
                     "Median": median.estimate, "Median lo": median.low, "Median hi": median.high,
                     "Std": base["Std"], "Hit rate": hit_rate(perf),
                     "Mean/Std": base["Mean"] / base["Std"] if base["Std"] else np.nan})
    return pd.DataFrame(rows)


def paired_table(runs: dict[str, RunData], *, reference: str = "twap", periods: list[int | str],
                 benchmark: str = "vwap", target: str = "quantity", reps: int = DEFAULT_REPS,
                 seed: int = 0) -> pd.DataFrame:
    """Each strategy minus ``reference`` on the same orders, per side and chosen minimum period: the
    mean difference of perf_bps (positive = better than the reference) with its date-block-bootstrap
    CI, bootstrap and HAC standard errors, the HAC t-test of a zero mean difference (the quantity the
    CI is about) and its Holm adjustment over every comparison in the table (family-wise error
    control for comparing several strategies with the reference)."""
    ref = _reference(runs, reference, "paired_table")
    rows = _paired_rows(runs, reference, date_blocks(ref, reps, seed), None, periods, benchmark, target)
    return _with_holm(pd.DataFrame(rows))


def paired_breakdown(runs: dict[str, RunData], *, by: str = "regime", reference: str = "twap",
                     periods: list[int | str], benchmark: str = "vwap", target: str = "quantity",
                     reps: int = DEFAULT_REPS, seed: int = 0) -> pd.DataFrame:
    """``paired_table`` within each group of orders — ``by``: ``"regime"`` (the causal volatility
    regime at the origin), ``"asset"`` or ``"year"`` — with each strategy's own mean perf_bps in the
    group.  The date blocks span the whole test period and a group's orders alone enter each date's
    mean, so the CIs respect overlapping orders and shared dates within the group; Holm's adjustment
    runs over the whole table."""
    ref = _reference(runs, reference, "paired_breakdown")
    if by == "year":
        keys = ref.orders["origin"].dt.year.to_numpy()
    elif by in ref.orders.columns:
        keys = ref.orders[by].to_numpy()
    else:
        raise ValueError(f"paired_breakdown: by {by!r}; expected regime, asset or year")
    blocks = date_blocks(ref, reps, seed)
    rows = []
    for key in sorted(pd.unique(keys), key=str):
        rows += [{by.capitalize(): key, **row}
                 for row in _paired_rows(runs, reference, blocks, keys == key, periods, benchmark, target)]
    return _with_holm(pd.DataFrame(rows))


def _reference(runs: dict[str, RunData], reference: str, caller: str) -> RunData:
    if reference not in runs:
        raise KeyError(f"{caller}: reference strategy {reference!r} is not among {list(runs)}")
    ref = runs[reference]
    origins = ref.orders["origin"].to_numpy("datetime64[ns]")
    for name, run in runs.items():
        if len(run.orders) != len(origins) or not (run.orders["origin"].to_numpy("datetime64[ns]") == origins).all():
            raise ValueError(f"{caller}: {name!r} and {reference!r} were not evaluated on the same orders")
    return ref


def _paired_rows(runs: dict[str, RunData], reference: str, blocks: DateBlocks, mask: np.ndarray | None,
                 periods: list[int | str], benchmark: str, target: str) -> list[dict]:
    """The rows of ``paired_table`` over the orders in ``mask`` (all when None); the others are left
    out of every date's mean (NaN), the date blocks are the whole period's."""
    ref = runs[reference]
    rows, differences = [], []
    for name, run in runs.items():
        if name == reference:
            continue
        for side in SIDES:
            for period in periods:
                label = scenario_label(side, benchmark, target, period)
                differences.append(lambda run=run, label=label: _paired_series(run, ref, label, mask))
                rows.append({"Strategy": name, "vs": reference, "Side": side.upper(),
                             "Min period": period_name(period).removeprefix("m="),
                             **({} if mask is None else {"perf_bps": float(np.nanmean(
                                 np.where(mask, run.column("perf_bps", label), np.nan)))})})
    for row, test in zip(rows, mean_inferences(differences, blocks), strict=True):  # the paired tests, together
        row.update({"Mean diff": test.mean.estimate, "CI lo": test.mean.low, "CI hi": test.mean.high,
                    "SE boot": test.se_boot, "SE HAC": test.se_hac, "p (HAC)": test.p_value,
                    "N": test.n_orders, "Dates": test.n_dates, "Block": test.block})
    return rows


def _paired_series(run: RunData, ref: RunData, label: str, mask: np.ndarray | None) -> np.ndarray:
    """``run`` minus ``ref`` (perf_bps) in scenario ``label``, NaN outside ``mask``."""
    mine, theirs = run.column("perf_bps", label), ref.column("perf_bps", label)
    if mask is not None:
        mine, theirs = np.where(mask, mine, np.nan), np.where(mask, theirs, np.nan)
    return paired_difference(mine, theirs)


def _with_holm(table: pd.DataFrame) -> pd.DataFrame:
    if len(table):
        table.insert(table.columns.get_loc("p (HAC)") + 1, "Holm p", holm(table["p (HAC)"].to_numpy()))
    return table


def seed_table(runs: dict[str, RunData], *, periods: list[int | str], target: str = "quantity",
               reps: int = DEFAULT_REPS, seed: int = 0) -> pd.DataFrame:
    """A learned strategy trained with several seeds (``runs``: one run per seed, the same orders),
    against TWAP on those orders (the runs' TWAP baseline; VWAP-benchmark scenarios): per side and
    minimum period, each seed's mean perf_bps difference, their mean and spread across seeds, the
    date-block CI across orders of the seed-averaged difference, and whether the seeds disagree in sign."""
    names = list(runs)
    first = _reference(runs, names[0], "seed_table")
    blocks = date_blocks(first, reps, seed)
    twap_bps = first.baseline_bps[:, ["quantity", "notional"].index(target)]
    rows = []
    for side in SIDES:
        sign = 1.0 if side == "buy" else -1.0
        twap = -sign * twap_bps
        for period in periods:
            label = scenario_label(side, "vwap", target, period)
            diffs = np.stack([runs[name].column("perf_bps", label) - twap for name in names])
            per_seed = np.nanmean(diffs, axis=1)
            pooled = mean_inference(diffs.mean(axis=0), blocks).mean
            rows.append({"Side": side.upper(), "Min period": period_name(period).removeprefix("m="),
                         **{f"{name} − TWAP": value for name, value in zip(names, per_seed, strict=True)},
                         "mean over seeds": per_seed.mean(), "seed spread": per_seed.max() - per_seed.min(),
                         "CI lo (orders)": pooled.low, "CI hi (orders)": pooled.high,
                         "sign flips": bool((per_seed > 0).any() and (per_seed < 0).any())})
    return pd.DataFrame(rows)
