"""A strategy's edge three ways, and how much of it the flexible window's option explains.

A flexible contract is scored against the benchmark of the window the trader ends, so an edge
against it mixes two things: the value of choosing the window (an option any trader holds, worth
something with no information at all) and whatever the strategy knows about prices or volumes.
Per side and minimum period, in perf_bps (positive = better), each with a date-block CI
(``execbench.analysis.inference``):

* **vs realised**: against the realised-window benchmark (the contract);
* **vs full**: against the same benchmark over all T bars, which no choice of window moves;
* **vs arrival**: against the last price before the origin (implementation shortfall, negated);
* **option**: what the zero-information stopping policy (``optstop``) earns against the realised
  window on the same orders;
* **rest** = vs realised − option, per order, with its paired CI and the HAC test of a zero mean:
  the part of the edge that needs information.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from execbench.analysis.inference import DEFAULT_REPS, mean_inferences, paired_difference
from execbench.analysis.significance import date_blocks
from execbench.contracts import SIDES, period_name, scenario_label
from execbench.results import RunData

EDGES = (("realised", "vs realised"), ("full", "vs full"), ("arrival", "vs arrival"), ("option", "Option"))


def edge_table(runs: dict[str, RunData], *, periods: list[int | str], benchmark: str = "vwap",
               target: str = "quantity", reps: int = DEFAULT_REPS, seed: int = 0) -> pd.DataFrame:
    """One row per strategy × side × minimum period: the mean edge (perf_bps) against the realised
    window, the full window and the arrival price, the option's value on the same orders and the rest,
    each with its 95 % date-block CI; the rest's HAC p-value.  Columns of a reference the run did not
    record (an older folder) are NaN."""
    rows = []
    shared: tuple[np.ndarray, object] | None = None  # the runs of a comparison share their orders and resamples
    for name, run in runs.items():
        origins = run.orders["origin"].to_numpy("datetime64[ns]")
        if shared is None or not np.array_equal(shared[0], origins):
            shared = (origins, date_blocks(run, reps, seed))
        blocks = shared[1]
        wanted: list[tuple[dict, str, Callable]] = []  # (row, column title, its series): resampled together
        for side in SIDES:
            for period in periods:
                label = scenario_label(side, benchmark, target, period)
                s = run.grid.index(label)
                edges = {key: run.perf_against(key, s) for key, _ in EDGES}  # (n,) each: one scenario's column
                row: dict[str, object] = {"Strategy": name, "Side": side.upper(),
                                          "Min period": period_name(period).removeprefix("m=")}
                for key, title in EDGES:
                    values = edges[key]
                    row.update({title: np.nan, f"{title} lo": np.nan, f"{title} hi": np.nan})
                    if values is not None and np.isfinite(values).any():  # read again when resampled
                        wanted.append((row, title, lambda key=key, s=s: run.perf_against(key, s)))
                row.update({"Rest": np.nan, "Rest lo": np.nan, "Rest hi": np.nan, "p rest (HAC)": np.nan})
                if edges["option"] is not None and np.isfinite(edges["option"]).any():
                    wanted.append((row, "Rest", lambda s=s: paired_difference(run.perf_against("realised", s),
                                                                              run.perf_against("option", s))))
                row["N"] = int(np.isfinite(edges["realised"]).sum())
                rows.append(row)
        for (row, title, _), result in zip(wanted, mean_inferences([w[2] for w in wanted], blocks), strict=True):
            row.update({title: result.mean.estimate, f"{title} lo": result.mean.low, f"{title} hi": result.mean.high})
            if title == "Rest":
                row["p rest (HAC)"] = result.p_value
    return pd.DataFrame(rows)


def edge_display(table: pd.DataFrame) -> pd.DataFrame:
    """The edge table for a terminal: the point estimates, and the rest with its CI and p-value."""
    shown = table[["Strategy", "Side", "Min period", "N", *(title for _, title in EDGES), "Rest"]].copy()
    shown["Rest 95% CI"] = [f"[{lo:+.2f}, {hi:+.2f}]" if np.isfinite(lo) else "" for lo, hi in
                            zip(table["Rest lo"], table["Rest hi"], strict=True)]
    shown["p rest (HAC)"] = table["p rest (HAC)"]
    return shown


def decomposition_lines(table: pd.DataFrame) -> list[str]:
    """The table in a few sentences, one per strategy × side × flexible minimum period."""
    lines = []
    for _, row in table.iterrows():
        if row["Min period"] == "Match" or not np.isfinite(row["Option"]):
            continue
        lines.append(f"{row['Strategy']} {row['Side']} m={row['Min period']}: edge {row['vs realised']:+.2f} bps vs the "
                     f"realised window = option {row['Option']:+.2f} + rest {row['Rest']:+.2f} "
                     f"[{row['Rest lo']:+.2f}, {row['Rest hi']:+.2f}] (p {row['p rest (HAC)']:.2g}); vs the full "
                     f"window {row['vs full']:+.2f}, vs arrival {row['vs arrival']:+.2f}")
    return lines
